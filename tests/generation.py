"""Generated projects shared by the session: each answer variant is generated and synced once."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from hermetic.cli import app
from tests.helpers import git, run_command

UP_TO_DATE = "Data and pipelines are up to date."
# What the pipeline writes; every file here must be identical between two clean runs.
REPRODUCIBLE_OUTPUTS = (
    "data/raw/dataset.parquet",
    "data/processed/train.parquet",
    "data/processed/validation.parquet",
    "data/processed/test.parquet",
    "models/model.safetensors",
    "models/golden.json",
    "reports/metrics.json",
    "reports/plots/test/roc.json",
    "reports/plots/test/confusion.csv",
    "reports/plots/train_loss.csv",
)


def sha256_of(root: Path) -> dict[str, str]:
    return {
        relative: hashlib.sha256((root / relative).read_bytes()).hexdigest()
        for relative in REPRODUCIBLE_OUTPUTS
    }


VARIANTS: dict[str, list[str]] = {
    "defaults": [],
    "minimal": [
        "project_name=Seán's Churn Model 2",  # a display name: the others are derived
        'description=Say "hi" \\ to O\'Brien — ünïcode [/] [bold]team, well past 100 characters',
        "author_name=Seán O'Brien",
        "license=Proprietary",
        "ci=none",
        "with_serving=false",
        "with_k8s=false",
        "cuda_version=12.6",
        "dvc_remote=s3",
        "dvc_remote_url=s3://models/churn",
        "data_source=sql",
    ],
    # The defaults with a DVC-tracked file as the data: its code, tests and lock are the
    # defaults' byte for byte (tests/test_generated_project.py checks), so the defaults' checks
    # hold for it and only what the data source changes is exercised again.
    "file": ["data_source=file"],
}
# The variants whose own checks (pre-commit, their tests, ...) run in full.
FULLY_CHECKED = ("defaults", "minimal")


def run_in(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command inside the project; the assertion message carries its output."""
    completed = run_command(command, project)
    assert completed.returncode == 0, (
        f"`{' '.join(command)}` exited {completed.returncode}\n{completed.stdout}\n"
        f"{completed.stderr}"
    )
    return completed


def generate_variant(variant: str, template_repo: Path, destination: Path) -> Path:
    """Run `hermetic new` with the variant's answers, then `uv sync --locked` in the result."""
    data = [argument for pair in VARIANTS[variant] for argument in ("--data", pair)]
    result = CliRunner().invoke(
        app, ["new", str(destination), "--template", str(template_repo), "--defaults", *data]
    )
    assert result.exit_code == 0, result.output
    run_in(destination, "uv", "sync", "--locked")
    return destination


def dvc(project: Path, *arguments: str) -> str:
    """Run the project's DVC; return what it printed (stdout and stderr)."""
    completed = run_in(project, "uv", "run", "--frozen", "dvc", *arguments)
    return completed.stdout + completed.stderr


def fresh_clone(
    source: Path, destination: Path, remote: Path | str, **remote_settings: str
) -> Path:
    """Clone, point the DVC remote at REMOTE (a directory or a URL) for this machine only, with
    REMOTE_SETTINGS (e.g. endpointurl) beside it, and install the lock."""
    git("clone", "--quiet", str(source), str(destination), cwd=destination.parent)
    for key, value in {"url": str(remote), **remote_settings}.items():
        dvc(destination, "remote", "modify", "--local", "storage", key, value)
    run_in(destination, "uv", "sync", "--locked")
    return destination


@dataclass(frozen=True)
class Reproduced:
    """A clean clone of a generated variant after `dvc pull` and one `dvc repro`."""

    project: Path
    output: str  # what that `dvc repro` printed
    remote: Path  # a local DVC remote holding what the generated project pushed


def push_from_the_generated_project(project: Path, remote: Path) -> None:
    """What the generating developer does once: `dvc push` (the `file` source's snapshot is in
    that machine's DVC cache only), here to REMOTE for this machine only."""
    local_config = project / ".dvc" / "config.local"
    try:
        dvc(project, "remote", "modify", "--local", "storage", "url", str(remote))
        dvc(project, "push")
    finally:
        local_config.unlink(missing_ok=True)
