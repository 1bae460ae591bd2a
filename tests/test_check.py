"""`hermetic check`: exit 0 at the template's latest release, 1 behind it (naming the newer
releases and the update command), 2 when it cannot tell — in text and in JSON."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from hermetic.cli import app
from tests.helpers import TEMPLATE_TAG, git

RELEASES = [TEMPLATE_TAG, "v0.2.0", "v0.3.0"]
# Tags that are not releases: a pre-release (never the latest) and a tag that is no version.
NOT_RELEASES = ["v0.4.0rc1", "stable"]


def check(project: Path, *options: str) -> Result:
    return CliRunner().invoke(app, ["check", str(project), *options])


def check_json(project: Path) -> tuple[int, dict[str, Any]]:
    result = check(project, "--format", "json")
    loaded: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, loaded


@pytest.fixture(scope="module")
def template_releases(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the session's template (v0.1.0) with releases v0.2.0 and v0.3.0 on top."""
    clone = tmp_path_factory.mktemp("check-template") / "template"
    git("clone", "--quiet", str(template_repo), str(clone), cwd=clone.parent)
    for tag in [*RELEASES[1:], *NOT_RELEASES]:
        git("commit", "--quiet", "--allow-empty", "-m", tag, cwd=clone)
        git("tag", tag, cwd=clone)
    return clone


@pytest.fixture(scope="module")
def generated_at(
    template_releases: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """`hermetic new` from one release of the template (unlocked, for speed)."""

    def generate(tag: str) -> Path:
        destination = tmp_path_factory.mktemp(f"check-{tag}") / "project"
        result = CliRunner().invoke(app, [
            "new", str(destination), "--template", str(template_releases), "--vcs-ref", tag,
            "--defaults", "--no-lock",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        return destination

    return generate


def answered(project: Path, **answers: str) -> Path:
    """A directory whose .copier-answers.yml records ANSWERS; check reads nothing else."""
    project.mkdir(parents=True, exist_ok=True)
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers), encoding="utf-8")
    return project


def test_a_project_generated_from_the_latest_release_is_current(
    generated_at: Callable[[str], Path], template_releases: Path
) -> None:
    project = generated_at("v0.3.0")
    result = check(project)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"up to date: {project} is on v0.3.0; the latest release of {template_releases} is v0.3.0\n"
    )
    assert check_json(project) == (0, {
        "project": str(project), "template": str(template_releases), "current": "v0.3.0",
        "latest": "v0.3.0", "behind": False, "newer": [],
    })  # fmt: skip


def test_a_project_two_releases_behind_exits_1_naming_them_and_the_update(
    generated_at: Callable[[str], Path], template_releases: Path
) -> None:
    project = generated_at(TEMPLATE_TAG)
    result = check(project)
    assert result.exit_code == 1, result.output
    assert result.stdout == (
        f"behind: {project} is on v0.1.0; the latest release of {template_releases} is v0.3.0 "
        "(2 newer: v0.2.0, v0.3.0)\n"
        f"update: hermetic update {shlex.quote(str(project))} --vcs-ref v0.3.0\n"
    )
    assert check_json(project) == (1, {
        "project": str(project), "template": str(template_releases), "current": "v0.1.0",
        "latest": "v0.3.0", "behind": True, "newer": ["v0.2.0", "v0.3.0"],
    })  # fmt: skip


def test_the_update_command_names_no_path_when_run_in_the_project(
    template_releases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = answered(tmp_path, _src_path=str(template_releases), _commit="v0.2.0")
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1, result.output
    assert result.stdout.endswith("update: hermetic update --vcs-ref v0.3.0\n")


@pytest.mark.parametrize(
    ("commit", "exit_code", "newer"),
    [
        ("v0.1.0-3-gabcdef0", 1, ["v0.2.0", "v0.3.0"]),  # past v0.1.0, not at v0.2.0
        ("v0.2.0-1-g1234567", 1, ["v0.3.0"]),
        ("v0.3.0-2-gabcdef0", 0, []),  # past the latest release
        ("v0.3.0rc1", 1, ["v0.3.0"]),  # a pre-release comes before its release
        ("v0.4.0rc1", 0, []),  # ... and is never the latest
    ],
)
def test_commits_between_releases_compare_as_copier_orders_them(
    template_releases: Path, tmp_path: Path, commit: str, exit_code: int, newer: list[str]
) -> None:
    project = answered(tmp_path, _src_path=str(template_releases), _commit=commit)
    assert check(project).exit_code == exit_code
    assert check_json(project) == (exit_code, {
        "project": str(project), "template": str(template_releases), "current": commit,
        "latest": "v0.3.0", "behind": bool(newer), "newer": newer,
    })  # fmt: skip


def test_a_git_url_is_asked_without_cloning(template_releases: Path, tmp_path: Path) -> None:
    url = template_releases.as_uri()
    project = answered(tmp_path, _src_path=url, _commit="v0.2.0")
    code, report = check_json(project)
    assert (code, report["template"], report["newer"]) == (1, url, ["v0.3.0"])


def _no_tags_template(root: Path) -> str:
    """A git repository whose only tag is no version."""
    root.mkdir()
    git("init", "--quiet", cwd=root)
    git("commit", "--quiet", "--allow-empty", "-m", "template", cwd=root)
    git("tag", "stable", cwd=root)
    return str(root)


Answers = Callable[[Path, Path], dict[str, str] | None]
# case: (the answers recorded, from the template and a scratch directory, or None for no answers
# file; what the error says; what the fix says)
CANNOT_TELL: dict[str, tuple[Answers, str, str]] = {
    "no answers file": (lambda _, __: None, "has no .copier-answers.yml", "hermetic new"),
    "no _commit": (lambda t, _: {"_src_path": str(t)}, "records no _commit", "restore"),
    "no _src_path": (lambda _, __: {"_commit": "v0.1.0"}, "records no _src_path", "restore"),
    "unreachable source": (
        lambda _, scratch: {"_src_path": str(scratch / "nowhere"), "_commit": "v0.1.0"},
        "nowhere' could not be reached",
        "check _src_path",
    ),
    "source without release tags": (
        lambda _, scratch: {
            "_src_path": _no_tags_template(scratch / "untagged"),
            "_commit": "v0.1.0",
        },
        "untagged' has no release tags",
        "git tag v0.1.0",
    ),
    "_commit not a version": (
        lambda t, _: {"_src_path": str(t), "_commit": "3f2a9c1"},
        "_commit '3f2a9c1', which is not a release version",
        "hermetic update --vcs-ref <tag>",
    ),
}


@pytest.mark.parametrize("case", CANNOT_TELL)
def test_when_it_cannot_tell_it_exits_2_naming_the_problem_and_the_fix(
    case: str, template_releases: Path, tmp_path: Path
) -> None:
    recorded, problem, fix = CANNOT_TELL[case]
    project = tmp_path / "project"
    project.mkdir()
    answers = recorded(template_releases, tmp_path)
    if answers is not None:
        answered(project, **answers)

    result = check(project)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error: " in result.stderr and problem in result.stderr
    assert "fix: " in result.stderr and fix in result.stderr

    code, report = check_json(project)
    assert code == 2
    assert set(report) == {"error", "fix"}
    assert problem in report["error"] and fix in report["fix"]
