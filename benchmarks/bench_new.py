"""How long `hermetic new` takes, step by step, and from nothing to a green project.

Prints figures; asserts nothing. Baseline, measured side by side: plain `copier copy` of the
same template (what hermetic adds on top of copier is the ratio).

    uv run python benchmarks/bench_new.py [--runs 3]

Needs a warm uv cache for the sync and green figures (run `bash scripts/demo` once first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}


def _run(command: Sequence[str], cwd: Path) -> None:
    subprocess.run(list(command), cwd=cwd, env=_environment(), check=True, capture_output=True)


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _copier_copy(workdir: Path) -> None:
    _run(
        [str(BIN / "copier"), "copy", "--trust", "--defaults", "--quiet", str(REPO_ROOT), "p"],
        workdir,
    )


def _hermetic_new(workdir: Path, *extra: str) -> None:
    _run([str(BIN / "hermetic"), "new", "p", "--defaults", *extra], workdir)


def _new_to_green(workdir: Path) -> None:
    _hermetic_new(workdir)
    project = workdir / "p"
    _run(["uv", "sync", "--locked"], project)
    _run(["uv", "run", "--frozen", "pre-commit", "run", "--all-files"], project)
    _run(["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"], project)


def measure_once(scratch: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name in ("copier", "hermetic", "locked", "green"):
        (scratch / name).mkdir()
    figures["copier copy (baseline)"] = _timed(lambda: _copier_copy(scratch / "copier"))
    figures["hermetic new --no-lock"] = _timed(
        lambda: _hermetic_new(scratch / "hermetic", "--no-lock")
    )
    project = scratch / "hermetic" / "p"
    figures["uv lock"] = _timed(lambda: _run(["uv", "lock"], project))
    figures["uv sync --locked (warm cache)"] = _timed(
        lambda: _run(["uv", "sync", "--locked"], project)
    )
    green = scratch / "green"
    figures["hermetic new -> all checks green"] = _timed(lambda: _new_to_green(green))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        scratch = Path(tempfile.mkdtemp(prefix="hermetic-bench-"))
        try:
            for name, seconds in measure_once(scratch).items():
                samples.setdefault(name, []).append(seconds)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"hermetic new benchmark, {runs} runs, {os.cpu_count()} cores; median (min-max) seconds")
    for name, values in samples.items():
        print(
            f"  {name:<36} {statistics.median(values):7.2f}  ({min(values):.2f}-{max(values):.2f})"
        )
    baseline = statistics.median(samples["copier copy (baseline)"])
    generation = statistics.median(samples["hermetic new --no-lock"])
    print(f"  ratio hermetic new --no-lock / copier copy: {generation / baseline:.2f}x")


if __name__ == "__main__":
    main()
