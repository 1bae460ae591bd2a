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
V3 = "v0.3.0"
REMOVED_IN_V3 = "template/data/raw/.gitignore"
# Owned by the project once generated (copier's _skip_if_exists): v2 changes both.
MIGRATED = "added_by_the_v3_migration: true"
USER_OWNED = ("template/params.yaml", "template/src/{{ package_name }}/features.py")


def invoke(*arguments: str) -> Result:
    return CliRunner().invoke(app, list(arguments))


def generate_from(template: Path, version: str, destination: Path, *extra: str) -> Path:
    """`hermetic new` from TEMPLATE at VERSION with default answers."""
    result = invoke(
        "new", str(destination), "--template", str(template), "--vcs-ref", version,
        "--defaults", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return destination


@pytest.fixture(scope="module")
def template_v1(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the session's template (tag v0.1.0) that this module may add releases to."""
    clone = tmp_path_factory.mktemp("template-releases") / "template"
    git("clone", "--quiet", str(template_repo), str(clone), cwd=clone.parent)
    return clone


@pytest.fixture(scope="module")
def template_v2(template_v1: Path) -> Path:
    """v0.2.0: one README line changed, CONTRIBUTING.md added. v0.3.0: CONTRIBUTING.md
    extended, a file removed. Every update below names its version."""
    readme = template_v1 / README
    text = readme.read_text(encoding="utf-8")
    first_line = text.splitlines()[0]
    readme.write_text(text.replace(first_line, first_line + " (v2)", 1), encoding="utf-8")
    (template_v1 / NEW_FILE).write_text("# Contributing\n\nRun the checks first.\n")
    for owned in USER_OWNED:
        with (template_v1 / owned).open("a", encoding="utf-8") as project_owned:
            project_owned.write("# v2 would add this line\n")
    _release(template_v1, V2)
    with (template_v1 / NEW_FILE).open("a", encoding="utf-8") as contributing:
        contributing.write("\nThen open a pull request.\n")
    (template_v1 / REMOVED_IN_V3).unlink()
    _add_migration(template_v1, V3, MIGRATED)
    _release(template_v1, V3)
    return template_v1


def _add_migration(template: Path, version: str, line: str) -> None:
    """A release migration (template/.hermetic/migrations/VERSION.py): appends LINE to
    params.yaml, once, when a project is updated across VERSION."""
    migrations = template / "template" / ".hermetic" / "migrations"
    migrations.mkdir(parents=True, exist_ok=True)
    (migrations / f"{version}.py").write_text(
        "from pathlib import Path\n"
        "params = Path('params.yaml')\n"
        f"params.write_text(params.read_text(encoding='utf-8') + {line!r} + '\\n', "
        "encoding='utf-8')\n",
        encoding="utf-8",
    )


def _release(template: Path, tag: str) -> None:
    git("add", "--all", cwd=template)
    git("commit", "--quiet", "-m", tag, cwd=template)
    git("tag", tag, cwd=template)


@pytest.fixture
def project_v1(template_v1: Path, tmp_path: Path) -> Callable[[], Path]:
    """Generate (without locking, for speed) a project from v0.1.0."""

    def generate() -> Path:
        return generate_from(template_v1, TEMPLATE_TAG, tmp_path / "project", "--no-lock")

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


def files_of(project: Path) -> dict[str, str]:
    """The project's files outside .git, by content hash."""
    return {
        path: digest
        for path, digest in tree_digest(project).items()
        if not path.startswith(".git/")
    }


def test_v1_to_v3_at_once_equals_v1_to_v2_to_v3(
    project_v1: Callable[[], Path], template_v2: Path, tmp_path: Path
) -> None:
    stepwise = project_v1().rename(tmp_path / "stepwise")
    at_once = project_v1()
    for project in (stepwise, at_once):
        params = project / "params.yaml"
        params.write_text(params.read_text(encoding="utf-8") + "# tuned\n", encoding="utf-8")
        commit(project, "Team edits")
    assert invoke("update", str(stepwise), "--defaults", "--vcs-ref", V2).exit_code == 0
    commit(stepwise, "Update to v2")
    result = invoke("update", str(stepwise), "--defaults", "--vcs-ref", V3)
    assert result.exit_code == 0, result.output
    assert "removed: data/raw/.gitignore" in result.stderr
    result = invoke("update", str(at_once), "--defaults", "--vcs-ref", V3)
    assert result.exit_code == 0, result.output
    assert files_of(stepwise) == files_of(at_once)
    assert not (at_once / "data" / "raw" / ".gitignore").exists()


def test_without_user_edits_an_update_equals_a_fresh_render(
    project_v1: Callable[[], Path], template_v2: Path, tmp_path: Path
) -> None:
    """Every template-owned file equals v3's; the project-owned ones stay as they were."""
    updated = project_v1()
    package = read_answers(updated)["package_name"]
    owned = {"params.yaml", f"src/{package}/features.py"}
    before = {path: (updated / path).read_bytes() for path in owned}
    assert invoke("update", str(updated), "--defaults", "--vcs-ref", V3).exit_code == 0
    fresh = generate_from(template_v2, V3, tmp_path / "fresh", "--no-lock")
    # Project-owned files change only by the release's migration, never by the template.
    migrated = {**before, "params.yaml": before["params.yaml"] + f"{MIGRATED}\n".encode()}
    for path in owned:
        assert (updated / path).read_bytes() == migrated[path] != (fresh / path).read_bytes()
    template_owned = {path: d for path, d in files_of(updated).items() if path not in owned}
    assert template_owned == {path: d for path, d in files_of(fresh).items() if path not in owned}


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
    result = invoke("update", str(project), "--pretend", "--defaults", "--vcs-ref", V2)
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
    result = invoke("update", str(project), "--defaults", "--vcs-ref", V2)
    assert result.exit_code == 0, result.output
    assert "changed: README.md" in result.stderr
    assert "added: CONTRIBUTING.md" in result.stderr
    assert "no conflicts" in result.stderr
    assert "(v2)" in (project / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert params.read_text(encoding="utf-8").endswith("# tuned by the team\n")
    for owned in (params, features):
        assert "v2 would add" not in owned.read_text(encoding="utf-8"), f"{owned} is the team's"
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
    result = invoke("update", str(project), "--defaults", "--vcs-ref", V2)
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
    project = generate_from(template_dropping_a_dependency, TEMPLATE_TAG, tmp_path / "project")
    assert 'name = "types-pyyaml"' in (project / "uv.lock").read_text(encoding="utf-8")
    result = invoke("update", str(project), "--defaults")
    assert result.exit_code == 0, result.output
    assert "changed: pyproject.toml" in result.stderr
    assert "changed: uv.lock" in result.stderr
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "types-pyyaml"' not in lock
    assert "<<<<<<<" not in lock


def test_a_release_migration_edits_a_project_owned_file_once(
    project_v1: Callable[[], Path], template_v2: Path
) -> None:
    project = project_v1()
    params = project / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8") + "# tuned\n", encoding="utf-8")
    commit(project, "Team edits")
    assert invoke("update", str(project), "--defaults", "--vcs-ref", V2).exit_code == 0
    assert MIGRATED not in params.read_text(encoding="utf-8"), "v2 is before the migration"
    commit(project, "Update to v2")
    result = invoke("update", str(project), "--defaults", "--vcs-ref", V3)
    assert result.exit_code == 0, result.output
    assert "changed: params.yaml" in result.stderr
    text = params.read_text(encoding="utf-8")
    assert text.count(MIGRATED) == 1
    assert "# tuned\n" in text
