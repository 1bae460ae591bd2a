"""Each data source reproduces from git and its versioned data alone: the `file` source (a
snapshot tracked with `dvc add`, written by `hermetic new`) and the `sql` source (a query with
an as-of bound frozen into a snapshot; the "minimal" variant's). For both, `dvc repro` runs every
stage, then nothing; two clean clones reproduce the same bytes; a clone that only pulls gets
them too; and the generated CI workflow's pipeline step runs green."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.generation import REPRODUCIBLE_OUTPUTS, UP_TO_DATE, dvc, fresh_clone, sha256_of
from tests.helpers import git, run_command

pytestmark = pytest.mark.slow

STAGES = {
    "file": ("prepare", "train", "evaluate", "golden"),
    "minimal": ("sample", "snapshot", "prepare", "train", "evaluate", "golden"),
}


@dataclass(frozen=True)
class Reproduced:
    project: Path  # a clean clone after `dvc pull` and one `dvc repro`
    output: str  # what that `dvc repro` printed
    remote: Path  # a local DVC remote holding what the generated project pushed


def _push_from_the_generated_project(project: Path, remote: Path) -> None:
    """What the generating developer does once: `dvc push` (the `file` source's snapshot is in
    that machine's DVC cache only), here to REMOTE for this machine only."""
    local_config = project / ".dvc" / "config.local"
    try:
        dvc(project, "remote", "modify", "--local", "storage", "url", str(remote))
        dvc(project, "push")
    finally:
        local_config.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def reproduced_source(
    generated_project: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Reproduced]:
    def reproduce(variant: str) -> Reproduced:
        root = tmp_path_factory.mktemp(f"source-{variant}")
        remote = root / "remote"
        generated = generated_project(variant)
        _push_from_the_generated_project(generated, remote)
        clone = fresh_clone(generated, root / "first", remote)
        dvc(clone, "pull", "--allow-missing")
        return Reproduced(clone, dvc(clone, "repro"), remote)

    return functools.cache(reproduce)


@pytest.mark.parametrize("variant", sorted(STAGES))
def test_repro_runs_every_stage_then_nothing(
    variant: str, reproduced_source: Callable[[str], Reproduced]
) -> None:
    reproduced = reproduced_source(variant)
    ran = [line.split("'")[1] for line in reproduced.output.splitlines() if "Running stage" in line]
    assert ran == list(STAGES[variant]), reproduced.output
    again = dvc(reproduced.project, "repro")
    assert UP_TO_DATE in again and "Running stage" not in again, again


@pytest.mark.parametrize("variant", sorted(STAGES))
def test_two_clean_clones_reproduce_the_same_bytes(
    variant: str,
    generated_project: Callable[[str], Path],
    reproduced_source: Callable[[str], Reproduced],
    tmp_path: Path,
) -> None:
    first = reproduced_source(variant)
    second = fresh_clone(generated_project(variant), tmp_path / "second", first.remote)
    dvc(second, "pull", "--allow-missing")
    dvc(second, "repro")
    assert sha256_of(second) == sha256_of(first.project)


def test_the_file_snapshot_is_tracked_by_dvc_not_git(
    generated_project: Callable[[str], Path],
) -> None:
    project = generated_project("file")
    tracked = git("ls-files", "data", cwd=project).split()
    assert "data/raw/dataset.parquet.dvc" in tracked
    assert "data/raw/dataset.parquet" not in tracked
    stages = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert "sample" not in stages, "the file source has no stage that makes its data"
    assert "data/raw/dataset.parquet" in stages["prepare"]["deps"]


def test_a_clone_that_only_pulls_gets_the_same_bytes_and_the_ci_step_runs_green(
    reproduced_source: Callable[[str], Reproduced], tmp_path: Path
) -> None:
    first = reproduced_source("file")
    git("add", "dvc.lock", "reports", cwd=first.project)
    git("commit", "--quiet", "-m", "Reproduce the pipeline", cwd=first.project)
    dvc(first.project, "push")
    newcomer = fresh_clone(first.project, tmp_path / "newcomer", first.remote)
    assert not (newcomer / REPRODUCIBLE_OUTPUTS[0]).exists()
    workflow = yaml.safe_load((newcomer / ".github/workflows/ci.yml").read_text("utf-8"))
    (step,) = [
        step for step in workflow["jobs"]["checks"]["steps"]
        if step.get("name", "").startswith("Pipeline")
    ]  # fmt: skip
    assert "dvc pull --allow-missing" in step["run"], "CI takes the data from the remote"
    completed = run_command(["bash", "-euo", "pipefail", "-c", step["run"]], newcomer)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Running stage" not in completed.stdout
    assert sha256_of(newcomer) == sha256_of(first.project)
