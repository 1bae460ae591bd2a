"""Minimal reproduction: experiment settings read from YAML, safely and not."""

from pathlib import Path

import yaml


def read_experiment(path: Path) -> dict:
    with path.open() as f:
        return yaml.load(f, Loader=yaml.Loader)


def read_sweep(path: Path) -> dict:
    return yaml.unsafe_load(path.read_text())


def read_defaults(path: Path) -> dict:
    with path.open() as f:
        return yaml.safe_load(f)


def read_overrides(text: str) -> dict:
    return yaml.load(text, Loader=yaml.SafeLoader)
