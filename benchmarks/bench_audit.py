"""How long `hermetic audit` takes on a repository of 10,000 files.

Prints figures; asserts nothing. Baseline, measured side by side on the same tree: reading
every file once (what any audit must at least do), and `git ls-files`. The synthetic repository
mixes what ML repositories hold: Python modules (some with planted hazards), YAML manifests,
Dockerfiles, requirements files, notebooks, Markdown and JSON.

    uv run python benchmarks/bench_audit.py [--files 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hermetic.audit.engine import run_audit
from hermetic.audit.repository import load_repository

MODULE = '''"""Module {n}."""
import torch

from .helpers_{m} import helper


def predict_{n}(model, rows):
    model.eval()
    with torch.inference_mode():
        return model(rows)


def transform_{n}(values: list[float]) -> list[float]:
    return [helper(value) * {n} for value in values]
'''
HAZARDOUS_MODULE = """import pickle

import torch


def load_{n}(path):
    state = torch.load(path)
    return pickle.loads(state)
"""
MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: service-{n}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/app-{n}:1.2.{n}@sha256:{digest}
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: 500m, memory: 256Mi}}
          readinessProbe: {{httpGet: {{path: /health/ready, port: 8000}}}}
          livenessProbe: {{httpGet: {{path: /health/live, port: 8000}}}}
"""
# Shares of the tree, by kind of file (the rest is Markdown).
SHARES = {"py": 0.55, "hazard_py": 0.05, "yaml": 0.1, "docker": 0.02, "req": 0.02, "nb": 0.01}


def _emit(name: str, value: float | str, unit: str = "") -> None:
    shown = f"{value:.3f}" if isinstance(value, float) else value
    sys.stdout.write(f"{name}: {shown} {unit}".rstrip() + "\n")


def build_tree(root: Path, files: int) -> None:
    """Write FILES files under ROOT in 100-file packages, then commit them to git."""
    counts = {kind: int(files * share) for kind, share in SHARES.items()}
    counts["md"] = files - sum(counts.values())
    digest = "0" * 64

    for kind, count in counts.items():
        for n in range(count):
            folder = root / kind / f"part{n // 100}"
            folder.mkdir(parents=True, exist_ok=True)
            if kind == "py":
                (folder / f"module_{n}.py").write_text(MODULE.format(n=n, m=n % 7))
            elif kind == "hazard_py":
                (folder / f"loader_{n}.py").write_text(HAZARDOUS_MODULE.format(n=n))
            elif kind == "yaml":
                (folder / f"deploy_{n}.yaml").write_text(MANIFEST.format(n=n, digest=digest))
            elif kind == "docker":
                (folder / f"Dockerfile.{n}").write_text(f"FROM python:3.11.{n % 9}-slim\n")
            elif kind == "req":
                (folder / f"requirements-{n}.txt").write_text(f"torch>=2.{n % 9}\nnumpy\n")
            elif kind == "nb":
                (folder / f"explore_{n}.ipynb").write_text('{"cells": []}\n')
            else:
                (folder / f"notes_{n}.md").write_text(f"# Notes {n}\n\nNothing to see.\n")

    for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "tree"]):
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *command],
            cwd=root,
            check=True,
        )


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="Best of this many.")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as temporary:
        root = Path(temporary)
        build_tree(root, arguments.files)
        repository = load_repository(root)

        def read_everything() -> None:
            for path in repository.files:
                (root / path).read_bytes()

        listing = best_of(arguments.runs, lambda: load_repository(root))
        reading = best_of(arguments.runs, read_everything)
        audit = best_of(arguments.runs, lambda: run_audit(root))
        report = run_audit(root)
    _emit("files", str(report.files))
    _emit("findings", str(len(report.findings)))
    _emit("rules", str(len(report.rules)))
    _emit("list files (git ls-files) time", listing, "s")
    _emit("read every file once time (baseline)", reading, "s")
    _emit("audit time", audit, "s")
    _emit("audit time per file", audit / report.files * 1e6, "us")
    _emit("ratio audit/read every file", audit / reading, "x")


if __name__ == "__main__":
    main()
