"""Each data source reproduces from git and its versioned data alone: the `file` source (a
snapshot tracked with `dvc add`, written by `hermetic new`) and the `sql` source (a query with
an as-of bound frozen into a snapshot; the "minimal" variant's). For both, `dvc repro` runs every
stage, then nothing; two clean clones reproduce the same bytes and dvc.lock; a clone that only
pulls gets them too; and the generated CI workflow's pipeline step runs green. The file source's
bytes are the defaults' (the same demo rows, code and params); the S3 test
(test_generated_remote_s3.py) pushes the sql source's clean clone to an object store and pulls
it into another."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.generation import (
    REPRODUCIBLE_OUTPUTS,
    UP_TO_DATE,
    Reproduced,
    dvc,
    fresh_clone,
    sha256_of,
)
from tests.helpers import git, run_command

pytestmark = pytest.mark.slow

STAGES = {
    "file": ("prepare", "train", "evaluate", "golden"),
    "minimal": ("sample", "snapshot", "prepare", "train", "evaluate", "golden"),
}


@pytest.mark.parametrize("variant", sorted(STAGES))
def test_repro_runs_every_stage_then_nothing(
    variant: str, reproduced_source: Callable[[str], Reproduced]
) -> None:
    reproduced = reproduced_source(variant)
    ran = [line.split("'")[1] for line in reproduced.output.splitlines() if "Running stage" in line]
    assert ran == list(STAGES[variant]), reproduced.output
    again = dvc(reproduced.project, "repro")
    assert UP_TO_DATE in again and "Running stage" not in again, again


def test_two_clean_clones_reproduce_the_same_bytes(
    generated_project: Callable[[str], Path],
    reproduced_source: Callable[[str], Reproduced],
    tmp_path: Path,
) -> None:
    first = reproduced_source("minimal")
    second = fresh_clone(generated_project("minimal"), tmp_path / "second", first.remote)
    dvc(second, "pull", "--allow-missing")
    dvc(second, "repro")
    assert sha256_of(second) == sha256_of(first.project)
    lock = (second / "dvc.lock").read_text(encoding="utf-8")
    assert lock == (first.project / "dvc.lock").read_text(encoding="utf-8")


def test_the_file_source_reproduces_the_defaults_bytes(
    reproduced_source: Callable[[str], Reproduced], reproduced_project: tuple[Path, str]
) -> None:
    """The file source's clean clone, on the demo snapshot `hermetic new` wrote with the same
    code and params: the bytes of the defaults' clean clone, data, weights and metrics."""
    assert sha256_of(reproduced_source("file").project) == sha256_of(reproduced_project[0])


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
