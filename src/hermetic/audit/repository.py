"""The files an audit reads: git's view when the path is a git repository, else a walk."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import yaml

# Never audited: tool caches and environments, whatever git says.
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        "site-packages",
    }
)
TEXT_LIMIT_BYTES = 2 * 1024 * 1024


@dataclass
class Repository:
    """ROOT and its files (relative POSIX paths), minus EXCLUDE globs; reads are cached."""

    root: Path
    files: tuple[str, ...]
    in_git: bool
    tracked: frozenset[str] = frozenset()
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)
    _matches: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)

    def text(self, path: str) -> str | None:
        """The file's text; None when it is binary, not UTF-8, or over 2 MiB."""
        if path not in self._texts:
            self._texts[path] = _read_text(self.root / path)
        return self._texts[path]

    def lines(self, path: str) -> list[str]:
        text = self.text(path)
        return [] if text is None else text.splitlines()

    def size(self, path: str) -> int:
        return (self.root / path).stat().st_size

    def matching(self, *patterns: str) -> list[str]:
        """Files whose path or file name matches one of the glob PATTERNS (fnmatch); each set
        of patterns is matched once, however many rules ask (every family reads YAML)."""
        if patterns not in self._matches:
            matches = _glob_regex(patterns).fullmatch
            self._matches[patterns] = tuple(
                path for path in self.files if matches(path) or matches(path.rsplit("/", 1)[-1])
            )
        return list(self._matches[patterns])

    @cached_property
    def dvc_outputs(self) -> frozenset[str]:
        """Paths DVC manages: outs of *.dvc files and of dvc.yaml stages (files or folders)."""
        outputs: set[str] = set()
        for path in self.matching("*.dvc", "dvc.yaml"):
            document = _yaml_or_none(self.text(path))
            if not isinstance(document, dict):
                continue
            base = PurePosixPath(path).parent
            stages = document.get("stages", {}) if path.endswith("dvc.yaml") else {"": document}
            for stage in stages.values() if isinstance(stages, dict) else ():
                for out in stage.get("outs", []) if isinstance(stage, dict) else ():
                    name = next(iter(out)) if isinstance(out, dict) else out
                    if isinstance(name, str):
                        outputs.add((base / name).as_posix().removeprefix("./"))
        return frozenset(outputs)

    def managed_by_dvc(self, path: str) -> bool:
        return any(path == out or path.startswith(f"{out}/") for out in self.dvc_outputs)


@functools.lru_cache(maxsize=256)
def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled expression for PATTERNS, with fnmatch's meaning (case-sensitive)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def load_repository(root: Path, exclude: Iterable[str] = ()) -> Repository:
    """The files to audit under ROOT; git's tracked and untracked-but-not-ignored files if ROOT
    is a git work tree, else every file under it."""
    patterns = tuple(exclude)
    tracked = _git(root, "ls-files", "-z", "--cached")  # None outside a git work tree
    if tracked is None:
        candidates = _walk(root)
    else:
        untracked = _git(root, "ls-files", "-z", "--others", "--exclude-standard") or []
        candidates = tracked + untracked
    files = tuple(
        sorted(
            path
            for path in candidates
            if not SKIPPED_DIRECTORIES & set(PurePosixPath(path).parts[:-1])
            and not any(fnmatch.fnmatch(path, pattern) for pattern in patterns)
            and (root / path).is_file()
        )
    )
    return Repository(root, files, tracked is not None, frozenset(tracked or ()))


def _git(root: Path, *arguments: str) -> list[str] | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), *arguments],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    if completed.returncode != 0:
        return None
    return [name for name in completed.stdout.decode("utf-8", "replace").split("\0") if name]


def _walk(root: Path) -> list[str]:
    """Every file under ROOT, never descending into SKIPPED_DIRECTORIES (a .venv is big)."""
    found: list[str] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRECTORIES]
        relative = Path(directory).relative_to(root)
        found.extend((relative / name).as_posix() for name in names)
    return found


def _read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > TEXT_LIMIT_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _yaml_or_none(text: str | None) -> object:
    if text is None:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None
