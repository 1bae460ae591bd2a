"""The generated GitHub workflow's own steps, run here as a runner would run them.

The steps that install tools (uv from its hash-checked requirements, promtool from Debian's
package by sha256) and the deploy validators (hadolint, kustomize + kubernetes-validate, promtool)
run for real in the generated default project. Format, lint, types, tests and `dvc repro` are the
checks tests/test_generated_project.py and tests/test_generated_pipeline.py already run there.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import run_command

pytestmark = pytest.mark.slow

WORKFLOW = ".github/workflows/ci.yml"
# Steps whose commands the generated-project tests already run in the same project.
RUN_ELSEWHERE = {
    "Install the locked environment",
    "Format",
    "Lint",
    "Types",
    "Tests",
    "Pipeline (dvc repro from a clean checkout, then nothing left to rerun)",
    # It needs a template source that holds the tool too: tests/test_generated_release.py runs it.
    "Dependency gate (hermetic audit of the template release)",
}


def workflow_steps(project: Path) -> list[dict[str, Any]]:
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


class Runner:
    """Runs `run:` steps as GitHub's ubuntu runner does: `bash -e -o pipefail`, RUNNER_TEMP,
    and a GITHUB_PATH file whose lines are prepended to PATH for the steps after."""

    def __init__(self, project: Path, runner_temp: Path) -> None:
        self.project = project
        self.runner_temp = runner_temp
        self.github_path = runner_temp / "github_path"
        runner_temp.mkdir(parents=True, exist_ok=True)
        self.github_path.touch()

    def variables(self) -> dict[str, str]:
        """What the runner sets for a step: PATH with GITHUB_PATH's lines first, RUNNER_TEMP,
        GITHUB_PATH."""
        added = self.github_path.read_text(encoding="utf-8").split()
        path = os.pathsep.join([*reversed(added), os.environ["PATH"]])
        return {
            "PATH": path,
            "RUNNER_TEMP": str(self.runner_temp),
            "GITHUB_PATH": str(self.github_path),
        }

    def run(self, step: dict[str, Any], **environment: str) -> subprocess.CompletedProcess[str]:
        """Run STEP; ENVIRONMENT stands for its own `env:` (the values of its expressions)."""
        directory = self.project / step.get("working-directory", ".")
        shell = ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]]
        completed = run_command(shell, directory, environment=self.variables() | environment)
        assert completed.returncode == 0, (
            f"step {step['name']!r} exited {completed.returncode}\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
        return completed


@pytest.fixture(scope="module")
def ran_steps(
    generated_project: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Runner, list[str]]:
    """Every step of the default project's workflow that no other test runs, in order."""
    project = generated_project("defaults")
    runner = Runner(project, tmp_path_factory.mktemp("runner-temp"))
    names = []
    for step in workflow_steps(project):
        if "run" in step and step["name"] not in RUN_ELSEWHERE:
            runner.run(step)
            names.append(step["name"])
    return runner, names


def test_every_validator_step_ran(ran_steps: tuple[Runner, list[str]]) -> None:
    _, names = ran_steps
    assert names == [
        "Install uv (pinned, every file hash-checked)",
        "Dockerfiles (hadolint)",
        "Workflows (check-jsonschema, zizmor)",
        "Kubernetes manifests (every overlay built by kustomize, validated strictly)",
        "Production images pinned by released digests (prod and gpu overlays)",
        "Install promtool (hash-checked)",
        "Prometheus configuration, rules and rule tests (promtool)",
    ]


def test_ci_installs_the_uv_of_the_devcontainers(
    ran_steps: tuple[Runner, list[str]], generated_project: Callable[[str], Path]
) -> None:
    runner, _ = ran_steps
    completed = run_command(["uv", "--version"], environment=runner.variables())
    assert completed.returncode == 0, completed.stderr
    installed = completed.stdout.split()[1]
    assert (runner.runner_temp / "uv" / "bin" / "uv").is_file()
    project = generated_project("defaults")
    requirements = (project / ".devcontainer" / "uv-requirements.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^uv==(\S+) ", requirements, re.MULTILINE)
    assert pinned is not None
    assert installed == pinned.group(1)


def test_ci_promtool_is_the_one_the_tool_tests_with(ran_steps: tuple[Runner, list[str]]) -> None:
    runner, _ = ran_steps
    promtool = runner.runner_temp / "prometheus" / "usr" / "bin" / "promtool"
    completed = subprocess.run(
        [str(promtool), "--version"], capture_output=True, text=True, check=True
    )
    assert "version 2.42.0" in completed.stdout + completed.stderr


def test_a_tampered_uv_requirement_fails_the_install(
    generated_project: Callable[[str], Path], tmp_path: Path
) -> None:
    project = generated_project("defaults")
    requirements = (project / ".devcontainer" / "uv-requirements.txt").read_text(encoding="utf-8")
    hashes = re.findall(r"sha256:([0-9a-f]{64})", requirements)
    assert len(hashes) > 10, "every platform's wheel of the pinned uv is hashed"
    tampered_project = tmp_path / "project"
    (tampered_project / ".devcontainer").mkdir(parents=True)
    (tampered_project / ".devcontainer" / "uv-requirements.txt").write_text(
        re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, requirements), encoding="utf-8"
    )
    install = next(
        step for step in workflow_steps(project) if step.get("name", "").startswith("Install uv")
    )
    runner = Runner(tampered_project, tmp_path / "temp")
    with pytest.raises(AssertionError, match="DO NOT MATCH THE HASHES"):
        runner.run(install)
