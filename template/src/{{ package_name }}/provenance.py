"""Where an artifact came from: code revision, data hashes and library versions."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

_LIBRARIES = ("numpy", "pandas", "pandera", "pyarrow", "safetensors", "torch")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_revision(directory: Path) -> dict[str, str | bool]:
    """The commit the code came from and whether the work tree had uncommitted changes."""
    git = shutil.which("git")
    if git is None:
        return {"sha": "unknown", "dirty": True}
    head = subprocess.run(  # noqa: S603 - fixed arguments, resolved executable
        [git, "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return {"sha": "unknown", "dirty": True}
    status = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--untracked-files=no"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    return {"sha": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    versions.update((name, version(name)) for name in _LIBRARIES)
    return versions
