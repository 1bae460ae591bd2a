"""The generated DVC pipeline: reproducible from a fresh clone, byte for byte, and via a remote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hermetic.audit.engine import run_audit
from tests.generation import REPRODUCIBLE_OUTPUTS, UP_TO_DATE, dvc, fresh_clone, run_in, sha256_of
from tests.helpers import git, read_answers

pytestmark = pytest.mark.slow

STAGES = ("sample", "prepare", "train", "evaluate", "golden")


@pytest.fixture(scope="module")
def default_project(generated_project: Callable[[str], Path]) -> Path:
    return generated_project("defaults")


@pytest.fixture(scope="module")
def remote(dvc_remote: Path) -> Path:
    return dvc_remote


@pytest.fixture(scope="module")
def reproduced(reproduced_project: tuple[Path, str]) -> tuple[Path, str]:
    return reproduced_project


def test_repro_on_a_fresh_clone_runs_every_stage(reproduced: tuple[Path, str]) -> None:
    clone, output = reproduced
    for stage in STAGES:
        assert f"Running stage '{stage}'" in output, output
    for relative in REPRODUCIBLE_OUTPUTS:
        assert (clone / relative).stat().st_size > 0


def test_a_second_repro_reports_everything_up_to_date(reproduced: tuple[Path, str]) -> None:
    clone, _ = reproduced
    again = dvc(clone, "repro")
    assert UP_TO_DATE in again
    assert "Running stage" not in again


def test_git_sees_only_the_lock_and_the_reports(reproduced: tuple[Path, str]) -> None:
    clone, _ = reproduced
    changed = {line[3:] for line in git("status", "--porcelain", cwd=clone).splitlines()}
    assert changed == {"dvc.lock", "reports/"}, "data and models are DVC's, listed in .gitignore"


def test_metrics_and_plots_render(reproduced: tuple[Path, str], tmp_path: Path) -> None:
    clone, _ = reproduced
    # stdout alone: uv reports on stderr (e.g. the bytecode it compiled).
    metrics = json.loads(
        run_in(clone, "uv", "run", "--frozen", "dvc", "metrics", "show", "--json").stdout
    )
    test_metrics = metrics[""]["data"]["reports/metrics.json"]["data"]["test"]
    assert set(test_metrics) == {"auc", "accuracy", "log_loss"}
    assert test_metrics["auc"] > 0.7, "the model learns the synthetic signal"
    dvc(clone, "plots", "show", "--out", str(tmp_path / "plots"))
    page = (tmp_path / "plots" / "index.html").read_text(encoding="utf-8")
    for title in ("Training loss", "ROC (test split)", "Confusion matrix (test split)"):
        assert title in page


def test_two_clean_runs_give_byte_identical_outputs_and_dvc_lock(
    reproduced: tuple[Path, str], default_project: Path, remote: Path, tmp_path: Path
) -> None:
    """The lock records every output's hash (model.json's too): a retrain of the same inputs
    changes nothing in git; run ids and timings go to the logs."""
    first, _ = reproduced
    second = fresh_clone(default_project, tmp_path / "second", tmp_path / "unused-remote")
    dvc(second, "repro")
    assert sha256_of(second) == sha256_of(first)
    lock = (second / "dvc.lock").read_text(encoding="utf-8")
    assert lock == (first / "dvc.lock").read_text(encoding="utf-8")
    assert "models/model.json" in lock


def test_push_then_pull_into_a_new_clone_leaves_nothing_to_rerun(
    reproduced: tuple[Path, str], remote: Path, tmp_path: Path
) -> None:
    first, _ = reproduced
    git("add", "dvc.lock", "reports", cwd=first)
    git("commit", "--quiet", "-m", "Reproduce the pipeline", cwd=first)
    dvc(first, "push")
    assert any(remote.rglob("*")), "the remote received the outputs"
    newcomer = fresh_clone(first, tmp_path / "newcomer", remote)
    dvc(newcomer, "pull")
    again = dvc(newcomer, "repro")
    assert UP_TO_DATE in again
    assert "Running stage" not in again
    assert sha256_of(newcomer) == sha256_of(first)


def test_the_remote_is_the_answered_one(generated_project: Callable[[str], Path]) -> None:
    for variant in ("defaults", "minimal"):
        project = generated_project(variant)
        listed = run_in(project, "uv", "run", "--frozen", "dvc", "remote", "list").stdout
        answers = read_answers(project)
        assert listed.split() == ["storage", answers["dvc_remote_url"], "(default)"]
        supported = dvc(project, "doctor").split("Supports:", 1)[1]
        assert answers["dvc_remote"].replace("gcs", "gs") in supported, "the remote's plugin"


@pytest.mark.parametrize(
    ("script", "arguments", "figures"),
    [
        (
            "bench_training.py",
            ["--rows", "500", "--repeats", "1"],
            ["cpu ratio loader/step", "cpu ratio deterministic/non-deterministic"],
        ),
        (
            "bench_stage_memory.py",
            ["--small-rows", "200", "--large-rows", "2000"],
            [
                "ratio rows large/small",
                *(
                    f"ratio {stage} peak RSS large/small"
                    for stage in ("prepare", "evaluate", "golden")
                ),
            ],
        ),
    ],
)
def test_the_benchmarks_run_and_print_their_ratios(
    default_project: Path, script: str, arguments: list[str], figures: list[str]
) -> None:
    completed = run_in(
        default_project, "uv", "run", "--frozen", "python", f"benchmarks/{script}", *arguments
    )
    printed = dict(line.split(": ", 1) for line in completed.stdout.splitlines() if ": " in line)
    for figure in figures:
        assert float(printed[figure].split()[0]) > 0, completed.stdout


def test_the_serving_benchmark_prints_its_figures_and_flags_the_leaking_control(
    reproduced: tuple[Path, str],
) -> None:
    clone, _ = reproduced
    tiny = ["--duration", "1", "--warmup-seconds", "1", "--rounds", "1", "--connections", "8"]
    # 64 KiB kept per request: over 2,000 requests that is ~20% of the service's RSS.
    soak = ["--soak-requests", "2000", "--soak-warmup-requests", "500", "--leak-bytes", "65536"]
    completed = run_in(
        clone, "uv", "run", "--frozen", "python", "benchmarks/bench_serving.py", *tiny, *soak
    )
    printed = dict(line.split(": ", 1) for line in completed.stdout.splitlines() if ": " in line)
    for variant in ("bare", "instrumented", "instrumented-unbatched"):
        for figure in ("throughput", "p50 latency", "p99 latency", "RSS before", "RSS after"):
            assert float(printed[f"{variant} {figure}"].split()[0]) > 0, completed.stdout
    for ratio in ("instrumented/bare", "instrumented-unbatched/bare"):
        assert float(printed[f"ratio {ratio} throughput"].split()[0]) > 0, completed.stdout
    assert float(printed["soak leaking RSS growth"].split()[0]) > 1.0, completed.stdout
    assert printed["soak leaking flagged as leaking"] == "yes", completed.stdout
    assert printed["soak instrumented flagged as leaking"] in {"yes", "no"}, completed.stdout


def test_hermetic_audit_finds_no_hazard_after_repro(reproduced: tuple[Path, str]) -> None:
    clone, _ = reproduced
    report = run_audit(clone)
    assert report.findings == (), [
        f"{f.path}:{f.line} {f.rule_id} {f.message}" for f in report.findings
    ]
    assert report.files > 50
