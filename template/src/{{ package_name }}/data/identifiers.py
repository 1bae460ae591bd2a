"""Identifiers that repeat anywhere in a file read frame by frame, in bounded memory.

Each identifier is kept as its 64-bit hash (8 bytes a row, not the value), so a file of tens of
millions of rows is checked whole. A hash seen twice sends a second pass that compares the
values themselves, so two identifiers that merely share a hash (a chance near rows² / 2**65)
are never reported, and a real repeat is never missed.
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
    """From a second pass over FRAMES: how many rows share their identifier with another row,
    and up to three of them (index and value), the rows of the first repeated value first.
    Only the rows whose hash repeats are held, and their values are compared: two identifiers
    that merely share a hash are not reported."""
    suspects = [
        frame.loc[np.isin(identifier_hashes(frame[identifier]), repeated), [identifier]]
        for frame in frames
    ]
    hits = pd.concat(suspects) if suspects else pd.DataFrame({identifier: []})
    values = hits[identifier]
    repeats = hits[values.duplicated(keep=False)]
    first_seen = repeats.groupby(identifier, sort=False).ngroup().to_numpy()
    examples = repeats.iloc[np.lexsort((repeats.index.to_numpy(), first_seen))].head(3)
    cases = pd.DataFrame(
        {"index": examples.index.to_numpy(), "failure_case": examples[identifier].to_numpy()}
    )
    return cases, len(repeats)
