"""A template release reaches a project the way Renovate's copier manager brings it: exactly
its command line (`copier update --skip-answered --defaults --answers-file ... --vcs-ref TAG`,
no --trust), then the generated template-update workflow's step, then the project's own checks.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from tests.generation import run_in
from tests.helpers import TEMPLATE_TAG, git, read_answers, run_command
from tests.test_update import generate_from

pytestmark = pytest.mark.slow

NEXT = "v0.2.0"
MIGRATED = "# v0.2.0 migration: the team's params, kept"
# v0.2.0 adds a dev dependency: the lock goes stale (the version this tool runs, already in
# uv's cache).
ADDED = f'"packaging=={version("packaging")}",'
BESIDE = '"types-pyyaml=='
WORKFLOW = ".github/workflows/template-update.yml"
UPDATE_STEP = "Release migrations and uv.lock"


def renovate_command(version: str) -> list[str]:
    """Renovate's copier manager (lib/modules/manager/copier/artifacts.ts): `copier update`
    with its default options, --trust only where a self-hosted admin allows scripts."""
    copier = Path(sys.executable).parent / "copier"
    return [
        str(copier), "update", "--skip-answered", "--defaults",
        "--answers-file", ".copier-answers.yml", "--vcs-ref", version,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def template(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v0.1.0 (the session's template) and v0.2.0: a dev dependency added (uv.lock goes stale),
    a README line changed, and a migration of the project-owned params.yaml."""
    clone = tmp_path_factory.mktemp("renovate-template") / "template"
    git("clone", "--quiet", str(template_repo), str(clone), cwd=clone.parent)
    pyproject = clone / "template" / "pyproject.toml.jinja"
    lines = pyproject.read_text(encoding="utf-8").splitlines(keepends=True)
    (beside,) = [line for line in lines if BESIDE in line]
    indent = beside[: len(beside) - len(beside.lstrip())]
    lines.insert(lines.index(beside) + 1, f"{indent}{ADDED}\n")
    pyproject.write_text("".join(lines), encoding="utf-8")
    readme = clone / "template" / "README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nUpdated by v0.2.0.\n", "utf-8")
    migrations = clone / "template" / ".hermetic" / "migrations"
    migrations.mkdir()
    (migrations / f"{NEXT}.py").write_text(
        "from pathlib import Path\n\n"
        "params = Path('params.yaml')\n"
        f"params.write_text(params.read_text(encoding='utf-8') + {MIGRATED!r} + '\\n', "
        "encoding='utf-8')\n",
        encoding="utf-8",
    )
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", NEXT, cwd=clone)
    git("tag", NEXT, cwd=clone)
    return clone


@pytest.fixture(scope="module")
def updated(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated (and locked) from v0.1.0, committed, then Renovate's command."""
    project = generate_from(
        template, TEMPLATE_TAG, tmp_path_factory.mktemp("renovate-project") / "project"
    )
    completed = run_command(renovate_command(NEXT), project)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return project


def _workflow_step(project: Path, name: str) -> str:
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    (step,) = [step for step in job["steps"] if step.get("name") == name]
    return str(step["run"])


def test_renovates_command_updates_without_trust_but_leaves_the_lock_stale(
    updated: Path,
) -> None:
    assert read_answers(updated)["_commit"] == NEXT
    assert "Updated by v0.2.0." in (updated / "README.md").read_text(encoding="utf-8")
    assert ADDED in (updated / "pyproject.toml").read_text(encoding="utf-8")
    # What copier alone cannot do: the lock and the project-owned file are as they were.
    assert run_command(["uv", "lock", "--check"], updated).returncode != 0
    assert MIGRATED not in (updated / "params.yaml").read_text(encoding="utf-8")
    assert (updated / ".hermetic" / "migrated").read_text(encoding="utf-8").strip() == (
        TEMPLATE_TAG
    )


def test_the_workflow_step_migrates_once_and_locks_then_the_projects_checks_pass(
    updated: Path,
) -> None:
    step = _workflow_step(updated, UPDATE_STEP)
    for _ in range(2):  # a second run (a later push to the branch) changes nothing
        completed = subprocess.run(
            ["/bin/bash", "-euo", "pipefail", "-c", step],
            cwd=updated,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert completed.returncode == 0, f"{step}\n{completed.stdout}\n{completed.stderr}"
    params = (updated / "params.yaml").read_text(encoding="utf-8")
    assert params.count(MIGRATED) == 1
    assert (updated / ".hermetic" / "migrated").read_text(encoding="utf-8").strip() == NEXT
    assert "<<<<<<<" not in (updated / "uv.lock").read_text(encoding="utf-8")
    run_in(updated, "uv", "lock", "--check")
    run_in(updated, "uv", "sync", "--locked")
    run_in(updated, "uv", "run", "--frozen", "pre-commit", "run", "--all-files")
    run_in(updated, "uv", "run", "--frozen", "pytest", "-q", "-x", "-p", "no:cacheprovider")


def test_a_template_with_copier_tasks_cannot_be_updated_this_way(
    template: Path, tmp_path: Path
) -> None:
    """The control: why the template has no `_tasks` or `_migrations` (copier.yml)."""
    clone = tmp_path / "template"
    git("clone", "--quiet", str(template), str(clone), cwd=tmp_path)
    config = clone / "copier.yml"
    settings, separator, rest = config.read_text(encoding="utf-8").partition("\n---\n")
    task = '_tasks:\n  - command: "true"\n'
    config.write_text(f"{settings}\n{task}{separator}{rest}", encoding="utf-8")
    git("commit", "--quiet", "-am", "A task", cwd=clone)
    git("tag", "v0.3.0", cwd=clone)
    project = generate_from(clone, TEMPLATE_TAG, tmp_path / "project", "--no-lock")
    completed = run_command(renovate_command("v0.3.0"), project)
    assert completed.returncode != 0
    assert "unsafe" in (completed.stdout + completed.stderr).lower(), shlex.join(
        renovate_command("v0.3.0")
    )
