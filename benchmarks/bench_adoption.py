"""What adopting a generated project for a real dataset costs a team: files edited, lines
changed, and the time from the data file to a ready service, per dataset.

Prints figures; asserts nothing. Each dataset gets its own clone of one freshly generated project
(`hermetic new --defaults`); the clock starts when the data file lands in data/raw/ and stops
when `serve` answers /health/ready with 200: `dvc add`, `contract infer`, the dvc.yaml edit,
`dvc repro` (prepare, train, evaluate, golden) and the service start, each timed (the total is
their sum). Files and lines are counted before `dvc repro`, so the pipeline's own outputs
(dvc.lock, reports/) are not in them; `features.py` counts, though `contract infer` wrote it.
The datasets and the adoption steps are the adoption tests' (tests/adoption.py). Reference
figure, from the
issue that asked for this: adopting a project by hand before contract-driven tests took 14 files
and 415 changed lines just to get its test suite green again.

    uv run python benchmarks/bench_adoption.py [--datasets breast-cancer penguins diabetes]

Needs a warm uv cache (run `bash scripts/demo` once first).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the adoption steps live with the tests that check them

from tests.adoption import (  # noqa: E402
    DATASETS,
    Dataset,
    changed_files,
    point_the_pipeline_at,
    project_command,
)
from tests.helpers import free_port, git, read_answers, run_command  # noqa: E402
from tests.service_process import server_process  # noqa: E402

HAND_ADOPTION_FILES = 14  # the reference figure (module docstring)
HAND_ADOPTION_LINES = 254 + 161
# Files `dvc add` writes, not the team.
TOOL_WRITTEN = ("data/raw/.gitignore",)
Result = TypeVar("Result")


def _emit(name: str, value: float | str, unit: str = "") -> None:
    shown = f"{value:.1f}" if isinstance(value, float) else value
    print(f"{name}: {shown}{' ' + unit if unit else ''}")


def _checked(command: list[str], cwd: Path) -> None:
    completed = run_command(command, cwd)
    if completed.returncode != 0:
        msg = f"`{' '.join(command)}` failed:\n{completed.stdout}\n{completed.stderr}"
        raise RuntimeError(msg)


def _timed(steps: dict[str, float], name: str, action: Callable[[], Result]) -> Result:
    started = time.perf_counter()
    result = action()
    steps[name] = time.perf_counter() - started
    return result


def adopt_and_serve(generated: Path, dataset: Dataset, workdir: Path) -> None:
    project = workdir / dataset.name
    git("clone", "--quiet", str(generated), str(project), cwd=workdir)
    _checked(["uv", "sync", "--locked"], project)
    package = read_answers(project)["package_name"]
    raw = f"data/raw/{dataset.file_name}"
    steps: dict[str, float] = {}
    _timed(steps, "write the data file", lambda: dataset.write(project / "data" / "raw"))
    _timed(steps, "dvc add", lambda: project_command(project, "dvc", "add", raw))
    inferred = _timed(
        steps,
        "contract infer",
        lambda: project_command(
            project, package, "contract", "infer", raw,
            "--identifier", dataset.identifier, "--label", dataset.label, *dataset.infer_options,
        ),
    )  # fmt: skip
    if inferred.returncode != 0:
        raise RuntimeError(inferred.stdout + inferred.stderr)
    _timed(steps, "edit dvc.yaml", lambda: point_the_pipeline_at(project, raw))
    # What the team changed, before the pipeline writes its outputs (dvc.lock, reports/).
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", "adopt", cwd=project)
    changes = changed_files(project)
    _timed(steps, "dvc repro", lambda: _checked(["uv", "run", "--frozen", "dvc", "repro"], project))
    port = free_port()
    command = [
        str(project / ".venv" / "bin" / "python"), "-m", package, "serve", "--port", str(port),
        "--device", "cpu", "--readiness-interval-seconds", "0.2",
    ]  # fmt: skip
    serving = time.perf_counter()
    with server_process(
        command, project, workdir / f"{dataset.name}-serve.log", "/health/ready", port
    ):
        steps["serve until ready"] = time.perf_counter() - serving
    total = sum(steps.values())  # the steps only: not the commit that counts the changes
    by_team = {
        path: lines
        for path, lines in changes.items()
        if path not in TOOL_WRITTEN and not path.endswith(".dvc")
    }
    added = sum(added for added, _ in by_team.values())
    removed = sum(removed for _, removed in by_team.values())
    name = dataset.name
    _emit(f"{name} label kind", dataset.label_kind)
    _emit(f"{name} rows", str(len(dataset.rows())))
    _emit(f"{name} files edited", str(len(by_team)), f"({', '.join(sorted(by_team))})")
    _emit(f"{name} files written by dvc add", str(len(changes) - len(by_team)))
    _emit(f"{name} lines changed", str(added + removed), f"(+{added} -{removed})")
    for path, (added_here, removed_here) in sorted(by_team.items()):
        _emit(f"{name} lines changed in {path}", str(added_here + removed_here))
    tests_changed = [path for path in by_team if path.startswith("tests/")]
    _emit(f"{name} test files changed", str(len(tests_changed)))
    for step, seconds in steps.items():
        _emit(f"{name} seconds {step}", seconds, "s")
    _emit(f"{name} seconds data file to ready service", total, "s")
    _emit(f"{name} ratio files edited / hand adoption", len(by_team) / HAND_ADOPTION_FILES, "x")
    _emit(
        f"{name} ratio lines changed / hand adoption",
        (added + removed) / HAND_ADOPTION_LINES,
        "x",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    arguments = parser.parse_args()
    hermetic = Path(sys.executable).with_name("hermetic")
    with tempfile.TemporaryDirectory(prefix="bench-adoption-") as temporary:
        workdir = Path(temporary)
        os.environ.pop("VIRTUAL_ENV", None)
        _checked([str(hermetic), "new", "generated", "--defaults"], workdir)
        for name in arguments.datasets:
            adopt_and_serve(workdir / "generated", DATASETS[name], workdir)


if __name__ == "__main__":
    main()
