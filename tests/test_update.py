"""`hermetic update`: refuses to run on an unsafe tree, pretends without touching a byte, brings
template changes in beside user edits, and exits 1 naming any conflict it leaves."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hermetic.cli import app
from tests.helpers import TEMPLATE_TAG, git, read_answers

README = "template/README.md.jinja"
NEW_FILE = "template/CONTRIBUTING.md"
V2 = "v0.2.0"


def invoke(*arguments: str) -> Result:
    return CliRunner().invoke(app, list(arguments))


@pytest.fixture(scope="module")
def template_v1(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the session's template (tag v0.1.0) that this module may add releases to."""
    clone = tmp_path_factory.mktemp("template-releases") / "template"
    git("clone", "--quiet", str(template_repo), str(clone), cwd=clone.parent)
    return clone


@pytest.fixture(scope="module")
def template_v2(template_v1: Path) -> Path:
    """v0.2.0: one README line changed, CONTRIBUTING.md added."""
    readme = template_v1 / README
    text = readme.read_text(encoding="utf-8")
    first_line = text.splitlines()[0]
    readme.write_text(text.replace(first_line, first_line + " (v2)", 1), encoding="utf-8")
    (template_v1 / NEW_FILE).write_text("# Contributing\n\nRun the checks first.\n")
    git("add", "--all", cwd=template_v1)
    git("commit", "--quiet", "-m", "v2", cwd=template_v1)
    git("tag", V2, cwd=template_v1)
    return template_v1


@pytest.fixture
def project_v1(template_v1: Path, tmp_path: Path) -> Callable[[], Path]:
    """Generate (without locking, for speed) a project from v0.1.0."""

    def generate() -> Path:
        destination = tmp_path / "project"
        result = invoke(
            "new", str(destination), "--template", str(template_v1), "--vcs-ref", TEMPLATE_TAG,
            "--defaults", "--no-lock",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return destination

    return generate


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ROOT, .git included, by content hash."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def commit(project: Path, message: str) -> None:
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", message, cwd=project)


def test_update_refuses_a_dirty_tree(project_v1: Callable[[], Path], template_v2: Path) -> None:
    project = project_v1()
    (project / "params.yaml").write_text("edited: true\n", encoding="utf-8")
    result = invoke("update", str(project), "--defaults")
    assert result.exit_code == 2, result.output
    assert "has uncommitted changes (params.yaml)" in result.stderr
    assert "git stash -u" in result.stderr


def test_update_refuses_a_directory_that_is_not_a_git_root(
    project_v1: Callable[[], Path], template_v2: Path, tmp_path: Path
) -> None:
    project = project_v1()
    copy = tmp_path / "copy"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".git"))
    result = invoke("update", str(copy), "--defaults")
    assert result.exit_code == 2, result.output
    assert "is not the root of a git work tree" in result.stderr


def test_update_refuses_a_repository_without_answers(tmp_path: Path) -> None:
    git("init", "--quiet", cwd=tmp_path)
    result = invoke("update", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "has no .copier-answers.yml" in result.stderr


def test_pretend_reports_the_update_and_changes_no_byte(
    project_v1: Callable[[], Path], template_v2: Path
) -> None:
    project = project_v1()
    before = tree_digest(project)
    result = invoke("update", str(project), "--pretend", "--defaults")
    assert result.exit_code == 0, result.output
    assert "would be changed: README.md" in result.stderr
    assert "would be added: CONTRIBUTING.md" in result.stderr
    assert tree_digest(project) == before


def test_template_changes_arrive_and_user_edits_survive(
    project_v1: Callable[[], Path], template_v2: Path
) -> None:
    project = project_v1()
    package = read_answers(project)["package_name"]
    params = project / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8") + "# tuned by the team\n")
    features = project / "src" / package / "features.py"
    features.write_text(features.read_text(encoding="utf-8") + "\n# our own note\n")
    commit(project, "Team edits")
    result = invoke("update", str(project), "--defaults")
    assert result.exit_code == 0, result.output
    assert "changed: README.md" in result.stderr
    assert "added: CONTRIBUTING.md" in result.stderr
    assert "no conflicts" in result.stderr
    assert "(v2)" in (project / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert params.read_text(encoding="utf-8").endswith("# tuned by the team\n")
    assert features.read_text(encoding="utf-8").endswith("# our own note\n")
    assert read_answers(project)["_commit"] == V2


def test_a_conflicting_edit_exits_1_and_names_the_file(
    project_v1: Callable[[], Path], template_v2: Path
) -> None:
    project = project_v1()
    readme = project / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0] = lines[0].rstrip("\n") + " (ours)\n"
    readme.write_text("".join(lines), encoding="utf-8")
    commit(project, "Our title")
    result = invoke("update", str(project), "--defaults")
    assert result.exit_code == 1, result.output
    assert "conflict: README.md" in result.stderr
    assert "<<<<<<< " in readme.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def template_dropping_a_dependency(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A template whose v0.2.0 drops types-pyyaml from the project's dev dependencies."""
    clone = tmp_path_factory.mktemp("template-lock") / "template"
    git("clone", "--quiet", str(template_repo), str(clone), cwd=clone.parent)
    pyproject = clone / "template" / "pyproject.toml.jinja"
    lines = pyproject.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if '"types-pyyaml==' not in line]
    assert len(kept) == len(lines) - 1
    pyproject.write_text("".join(kept), encoding="utf-8")
    git("commit", "--quiet", "-am", "Drop types-pyyaml", cwd=clone)
    git("tag", V2, cwd=clone)
    return clone


@pytest.mark.slow
def test_a_changed_pyproject_gets_a_fresh_lock_not_a_merged_one(
    template_dropping_a_dependency: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    result = invoke(
        "new", str(project), "--template", str(template_dropping_a_dependency),
        "--vcs-ref", TEMPLATE_TAG, "--defaults",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert 'name = "types-pyyaml"' in (project / "uv.lock").read_text(encoding="utf-8")
    result = invoke("update", str(project), "--defaults")
    assert result.exit_code == 0, result.output
    assert "changed: pyproject.toml" in result.stderr
    assert "changed: uv.lock" in result.stderr
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "types-pyyaml"' not in lock
    assert "<<<<<<<" not in lock
