"""Deterministic train/validation/test assignment by a salted hash of each row's identifier.

A row keeps its split when rows are added or reordered, so the test set never leaks into
training as the data grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

SPLITS = ("train", "validation", "test")
_HASH_RANGE = float(2**64)


def split_position(identifier: str, seed: int) -> float:
    """A uniform number in [0, 1) that depends only on IDENTIFIER and SEED."""
    digest = hashlib.blake2b(f"{seed}:{identifier}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _HASH_RANGE


def assign_splits(
    identifiers: Iterable[str], seed: int, validation_fraction: float, test_fraction: float
) -> npt.NDArray[np.str_]:
    """The split name of every identifier: validation, then test, then train along [0, 1)."""
    positions = np.array([split_position(identifier, seed) for identifier in identifiers])
    names = np.full(positions.shape, "train", dtype="<U10")
    names[positions < validation_fraction + test_fraction] = "test"
    names[positions < validation_fraction] = "validation"
    return names
