"""Atomic writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_directory(directory: Path) -> None:
    """Persist a rename: the directory entry itself must reach the disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_file(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside DESTINATION; on success fsync it and rename it into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    os.close(descriptor)
    staging = Path(name)
    staging.chmod(0o666 & ~_current_umask())  # mkstemp creates 0600; readers need the usual mode
    try:
        yield staging
        with staging.open("rb+") as written:
            os.fsync(written.fileno())
        staging.replace(destination)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    fsync_directory(destination.parent)


def write_bytes_atomically(destination: Path, payload: bytes) -> None:
    with atomic_file(destination) as staging:
        staging.write_bytes(payload)


def write_text_atomically(destination: Path, text: str) -> None:
    write_bytes_atomically(destination, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(destination: Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces DESTINATION only if the block succeeds."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    staging.chmod(0o777 & ~_current_umask())
    try:
        yield staging
        if destination.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old.", dir=staging.parent))
            destination.replace(retired / destination.name)
            staging.replace(destination)
            shutil.rmtree(retired)
        else:
            staging.replace(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_directory(destination.parent)
