"""Identifiers that repeat anywhere in a file read frame by frame, in bounded memory.

Each identifier is kept as its 64-bit hash (8 bytes a row, not the value), so a file of tens of
millions of rows is checked whole. Two different identifiers share a hash with a probability
near rows² / 2**65 (about 1e-7 at two million rows): a repeat is then reported that is not one,
loudly; a real repeat is never missed.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd


def identifier_hashes(identifiers: pd.Series) -> npt.NDArray[np.uint64]:
    hashes = pd.util.hash_pandas_object(identifiers, index=False).to_numpy()
    return np.asarray(hashes, dtype=np.uint64)


class IdentifierLedger:
    """The hashes of every identifier added; which of them were added more than once."""

    def __init__(self) -> None:
        self._hashes: list[npt.NDArray[np.uint64]] = []

    def add(self, identifiers: pd.Series) -> None:
        self._hashes.append(identifier_hashes(identifiers))

    def repeated(self) -> npt.NDArray[np.uint64]:
        """The hashes seen more than once, sorted (empty when every identifier is unique)."""
        if not self._hashes:
            return np.empty(0, dtype=np.uint64)
        ordered = np.sort(np.concatenate(self._hashes))
        repeats: npt.NDArray[np.uint64] = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        return repeats


def rows_with_repeated_identifiers(
    frames: Iterable[pd.DataFrame], identifier: str, repeated: npt.NDArray[np.uint64]
) -> tuple[pd.DataFrame, int]:
    """Up to three example rows whose identifier repeats (index and value), and how many rows
    share an identifier with another row, from a second pass over FRAMES."""
    examples: list[pd.DataFrame] = []
    count = 0
    for frame in frames:
        hits = frame[np.isin(identifier_hashes(frame[identifier]), repeated)]
        count += len(hits)
        if sum(len(e) for e in examples) < 3:
            examples.append(hits[[identifier]].head(3))
    found = pd.concat(examples) if examples else pd.DataFrame({identifier: []})
    cases = pd.DataFrame({"index": found.index[:3], "failure_case": found[identifier].iloc[:3]})
    return cases.reset_index(drop=True), count
