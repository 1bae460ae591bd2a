"""The generated project's secret-scanning pre-commit hook (Kingfisher, from the lock): the
untouched project passes it, and a credential planted in a new, staged file fails it, the file
named and the secret itself never printed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.generation import run_in
from tests.helpers import git, run_command

pytestmark = pytest.mark.slow

HOOK = "no-secrets"
HOOK_NAME = "no secrets (kingfisher)"
# An AWS access key pair in the shape AWS issues, assembled here so that this repository itself
# never holds a credential-shaped string (a scanner or push protection would stop it).
ACCESS_KEY_ID = "AKIA" + "QYLPMN5HHHFPZAM2"
SECRET_ACCESS_KEY = "1tUm636uS1yOEcfP5pvfqJ" + "/ml36mF7AkyHsEU0IU"
PLANTED = "src/nightly_export_settings.py"


@pytest.fixture(scope="module")
def project(generated_project: Callable[[str], Path]) -> Path:
    return generated_project("defaults")


def hook_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(HOOK_NAME)]
    return line


def test_the_untouched_project_passes_the_secret_scan(project: Path) -> None:
    completed = run_in(project, "uv", "run", "--frozen", "pre-commit", "run", HOOK, "--all-files")
    assert hook_line(completed.stdout).endswith("Passed"), completed.stdout


def test_a_planted_aws_key_pair_fails_the_hook_naming_its_file(
    project: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(project), str(clone), cwd=tmp_path)
    planted = clone / PLANTED
    planted.write_text(
        '"""Connection settings for the nightly export."""\n\n'
        f'AWS_ACCESS_KEY_ID = "{ACCESS_KEY_ID}"\n'
        f'AWS_SECRET_ACCESS_KEY = "{SECRET_ACCESS_KEY}"\n',
        encoding="utf-8",
    )
    git("add", PLANTED, cwd=clone)
    # The generated project's environment, used as it is: the clone has the same lock.
    environment = {"UV_PROJECT_ENVIRONMENT": str(project / ".venv"), "UV_NO_SYNC": "1"}
    command = ["uv", "run", "--frozen", "pre-commit", "run", HOOK, "--files", PLANTED]
    completed = run_command(command, clone, environment=environment)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert hook_line(completed.stdout).endswith("Failed"), completed.stdout
    assert re.search(rf"^ \|Path\.*: {re.escape(PLANTED)}$", completed.stdout, re.M), (
        completed.stdout
    )
    assert "AWS" in completed.stdout
    assert SECRET_ACCESS_KEY not in completed.stdout, "the hook prints findings redacted"
    assert ACCESS_KEY_ID not in completed.stdout

    planted.unlink()
    git("rm", "--quiet", "--cached", PLANTED, cwd=clone)
    clean = run_command([*command[:-1], "pyproject.toml"], clone, environment=environment)
    assert clean.returncode == 0, clean.stdout + clean.stderr
