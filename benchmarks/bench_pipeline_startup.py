"""Start-up of each stage of the generated pipeline, and the whole demo `dvc repro`, before/after.

BEFORE is the template at a git revision (--before, default HEAD), AFTER this working tree. Each
generates the default project; "+pyc" is the same in a venv synced with `--compile-bytecode` (what
a developer's venv holds after a first run, unless PYTHONDONTWRITEBYTECODE is set). Every run
measures each configuration in a fresh clone, one after the other:

- `dvc repro`: `uv run --frozen dvc repro` of the clone (its `uv sync --locked` is not timed);
  wall seconds and the CPU seconds of every process it ran.
- a stage's start-up: process start to the stage's first work, the first call of the function
  its command runs (sample_leads, prepare, train, evaluate, build_golden_set), so every import
  that call needs is counted. A probe stops the process there; the stage's command line is the
  one dvc.yaml gives, run in the reproduced clone.
- `--help` and `info`: the whole command.

Prints medians of --runs (min-max) and AFTER/BEFORE ratios; asserts nothing.

    uv run python benchmarks/bench_pipeline_startup.py [--before REV] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# The function each stage's command calls to do its work: (module under the package, name).
STAGE_WORK = {
    "sample": ("data.sample", "sample_leads"),
    "prepare": ("data.prepare", "prepare"),
    "train": ("training.loop", "train"),
    "evaluate": ("evaluate", "evaluate"),
    "golden": ("golden", "build_golden_set"),
}

# Runs the package's CLI; the first call of the stage's work function writes the time and exits.
# It replaces that function in its module as soon as the module is complete, before the CLI (at
# its top or inside the command) binds the name; `import` statements go through __import__.
_PROBE = """
import builtins, os, runpy, sys, time
module_name, function_name, stamp_file = sys.argv[1:4]
sys.argv = [sys.argv[4], *sys.argv[5:]]
original_import = builtins.__import__

def first_work(*args, **kwargs):
    with open(stamp_file, "w", encoding="utf-8") as stamp:
        stamp.write(repr(time.time()))
    os._exit(0)

def watching_import(*args, **kwargs):
    imported = original_import(*args, **kwargs)
    module = sys.modules.get(module_name)
    if module is not None and callable(getattr(module, function_name, None)):
        setattr(module, function_name, first_work)
        builtins.__import__ = original_import
    return imported

builtins.__import__ = watching_import
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


# What the change buys as things are here, with bytecode too, and with bytecode on both sides.
RATIOS = (("after", "before"), ("after+pyc", "before"), ("after+pyc", "before+pyc"))


@dataclass(frozen=True)
class Configuration:
    name: str
    project: Path
    sync: tuple[str, ...]


def _environment(clone: Path | None = None) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    if clone is not None:
        environment["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{environment['PATH']}"
    return environment


def _run(command: Sequence[str], cwd: Path, clone: Path | None = None) -> str:
    completed = subprocess.run(
        list(command), cwd=cwd, env=_environment(clone), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        msg = f"{' '.join(command)} exited {completed.returncode}:\n{completed.stderr[-4000:]}"
        raise RuntimeError(msg)
    return completed.stdout


def _generate(destination: Path, *template: str) -> Path:
    _run([str(BIN / "hermetic"), "new", str(destination), "--defaults", *template], REPO_ROOT)
    return destination


def _package(project: Path) -> str:
    (main,) = project.glob("src/*/__main__.py")
    return main.parent.name


def _stage_arguments(project: Path) -> dict[str, list[str]]:
    """Each measured stage's command line from dvc.yaml, without the program name."""
    stages = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: shlex.split(stages[name]["cmd"])[1:] for name in STAGE_WORK}


def _timed_repro(clone: Path) -> tuple[float, float]:
    """Wall and CPU seconds (this process's waited-for children) of `dvc repro`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    _run(["uv", "run", "--frozen", "dvc", "repro"], clone)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _start_up(clone: Path, package: str, stage: str, arguments: list[str]) -> float:
    module, function = STAGE_WORK[stage]
    stamp = clone / f".startup-{stage}"
    stamp.unlink(missing_ok=True)
    python = str(clone / ".venv" / "bin" / "python")
    command = [python, "-c", _PROBE, f"{package}.{module}", function, str(stamp), package]
    started = time.time()
    _run([*command, *arguments], clone, clone)
    if not stamp.is_file():
        msg = f"{stage}: the process ended without calling {package}.{module}.{function}"
        raise RuntimeError(msg)
    return float(stamp.read_text(encoding="utf-8")) - started


def _whole_command(clone: Path, package: str, arguments: list[str]) -> float:
    started = time.perf_counter()
    _run([str(clone / ".venv" / "bin" / package), *arguments], clone, clone)
    return time.perf_counter() - started


def measure_once(configuration: Configuration, workdir: Path) -> tuple[dict[str, float], str]:
    """One run of CONFIGURATION: its figures, and the sha256 of the dvc.lock it reproduced."""
    clone = workdir / "clones" / configuration.name
    shutil.rmtree(clone, ignore_errors=True)
    clone.parent.mkdir(exist_ok=True)
    _run(["git", "clone", "--quiet", str(configuration.project), str(clone)], workdir)
    _run(["uv", "sync", "--locked", "--quiet", *configuration.sync], clone)
    figures: dict[str, float] = {}
    figures["dvc repro (wall)"], figures["dvc repro (CPU)"] = _timed_repro(clone)
    lock = hashlib.sha256((clone / "dvc.lock").read_bytes()).hexdigest()
    package = _package(clone)
    figures["--help"] = _whole_command(clone, package, ["--help"])
    figures["info"] = _whole_command(clone, package, ["info"])
    for stage, arguments in _stage_arguments(clone).items():
        figures[f"{stage} start-up"] = _start_up(clone, package, stage, arguments)
    shutil.rmtree(clone)
    return figures, lock


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", default="HEAD", help="git revision of the BEFORE template")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    revision = _run(["git", "rev-parse", options.before], REPO_ROOT).strip()
    scratch = Path(tempfile.mkdtemp(prefix="hermetic-bench-startup-"))
    try:
        before = _generate(scratch / "before", "--template", str(REPO_ROOT), "--vcs-ref", revision)
        after = _generate(scratch / "after", "--template", str(REPO_ROOT))
        configurations = (
            Configuration("before", before, ()),
            Configuration("after", after, ()),
            Configuration("before+pyc", before, ("--compile-bytecode",)),
            Configuration("after+pyc", after, ("--compile-bytecode",)),
        )
        samples: dict[str, dict[str, list[float]]] = {c.name: {} for c in configurations}
        locks: dict[str, set[str]] = {c.name: set() for c in configurations}
        for _ in range(options.runs):
            for configuration in configurations:  # interleaved: load drifts alike for all
                figures, lock = measure_once(configuration, scratch)
                locks[configuration.name].add(lock)
                for name, seconds in figures.items():
                    samples[configuration.name].setdefault(name, []).append(seconds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    bytecode = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(
        f"pipeline start-up benchmark: before {revision[:12]}, after the working tree; "
        f"{options.runs} runs, {os.cpu_count()} cores, .pyc writing {bytecode}; "
        "median (min-max) seconds"
    )
    print(f"  {'':<20}" + "".join(f" {c.name:>20}" for c in configurations))
    for name in samples["before"]:
        row = "".join(f" {_median(samples[c.name][name]):>20}" for c in configurations)
        print(f"  {name:<20}{row}")
    for name in samples["before"]:
        for variant, baseline in RATIOS:
            ratio = statistics.median(samples[variant][name]) / statistics.median(
                samples[baseline][name]
            )
            print(f"ratio {variant}/{baseline} {name}: {ratio:.2f}")
    for configuration in configurations:
        identical = "yes" if len(locks[configuration.name]) == 1 else "no"
        print(f"{configuration.name} dvc.lock identical across runs: {identical}")


if __name__ == "__main__":
    main()
