"""Parquet, the generated projects' only table format, against pickle: file size and read time.

Prints figures; asserts nothing. Baseline, measured side by side on the same frame: pandas'
pickle, the format Parquet replaced (pickle exists only here, never in a generated project).
Runs inside a generated project's environment, since this repository's has no pandas:

    uv run python benchmarks/bench_data_formats.py --project PATH [--rows 1000000] [--repeats 5]

PATH is a generated project with its virtual environment (`uv sync` in it first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ANSWERS_FILE = ".copier-answers.yml"
# Runs in the project's interpreter: sample the leads, write them as the pipeline does, then
# time reading them back as Parquet (the project's reader) and as a pickle of the same frame.
CHILD = """
import importlib, json, statistics, sys, tempfile, time
from pathlib import Path
import pandas as pd

package, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
parquet = importlib.import_module(f"{package}.data.parquet")
sample = importlib.import_module(f"{package}.data.sample")


def median_seconds(read):
    read()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        read()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


with tempfile.TemporaryDirectory(prefix="bench-formats-") as temporary:
    parquet_path, pickle_path = Path(temporary, "leads.parquet"), Path(temporary, "leads.pkl")
    parquet.write_parquet(sample.sample_leads(rows, 7), parquet_path)
    frame = parquet.read_parquet(parquet_path)
    frame.to_pickle(pickle_path)
    figures = {
        "rows": len(frame),
        "same_frame": bool(pd.read_pickle(pickle_path).equals(frame)),
        "parquet_bytes": parquet_path.stat().st_size,
        "pickle_bytes": pickle_path.stat().st_size,
        "parquet_read_s": median_seconds(lambda: parquet.read_parquet(parquet_path)),
        "pickle_read_s": median_seconds(lambda: pd.read_pickle(pickle_path)),
    }
sys.stdout.write(json.dumps(figures))
"""


def package_name(project: Path) -> str:
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    return str(answers["package_name"])


def measure(project: Path, rows: int, repeats: int) -> dict[str, Any]:
    python = project / ".venv" / "bin" / "python"
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    completed = subprocess.run(
        [str(python), "-c", CHILD, package_name(project), str(rows), str(repeats)],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"the timing script failed in {project}:\n{completed.stderr}")
    figures: dict[str, Any] = json.loads(completed.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, required=True, help="a generated project")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    project = arguments.project.resolve()
    if not (project / ".venv" / "bin" / "python").is_file():
        parser.error(f"{project} has no .venv; run `uv sync` there first")
    if not (project / ANSWERS_FILE).is_file():
        parser.error(f"{project} has no {ANSWERS_FILE}; is it a generated project?")
    figures = measure(project, arguments.rows, max(1, arguments.repeats))

    megabytes = {name: figures[f"{name}_bytes"] / 1e6 for name in ("parquet", "pickle")}
    milliseconds = {name: figures[f"{name}_read_s"] * 1000 for name in ("parquet", "pickle")}
    print(f"rows: {figures['rows']} rows")
    print(f"frames identical after both reads: {'yes' if figures['same_frame'] else 'no'}")
    print(f"pickle file size (baseline): {megabytes['pickle']:.2f} MB")
    print(f"parquet file size: {megabytes['parquet']:.2f} MB")
    print(f"pickle read (baseline, median of {arguments.repeats}): {milliseconds['pickle']:.1f} ms")
    print(f"parquet read (median of {arguments.repeats}): {milliseconds['parquet']:.1f} ms")
    print(f"ratio size parquet/pickle: {megabytes['parquet'] / megabytes['pickle']:.3f} x")
    print(
        f"ratio read time parquet/pickle: {milliseconds['parquet'] / milliseconds['pickle']:.3f} x"
    )


if __name__ == "__main__":
    main()
