"""Choosing rows from a stream of frames in bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import DataValidationError


def smallest_rows(
    frames: Iterable[pd.DataFrame],
    count: int,
    key: Callable[[pd.DataFrame], pd.Series],
    source: str,
) -> pd.DataFrame:
    """The COUNT rows of FRAMES (read from SOURCE) with the smallest KEY (unique per row), in
    KEY order, whatever order the rows come in. Memory holds COUNT rows and one frame. The keys
    keep their type: 64-bit identifiers are compared exactly, not as floats."""
    kept: pd.DataFrame | None = None
    kept_keys: np.ndarray | None = None
    for frame in frames:
        keys = key(frame).to_numpy()
        if kept is None or kept_keys is None:
            candidates, candidate_keys = frame, keys
        else:
            candidates = pd.concat([kept, frame])
            candidate_keys = np.concatenate([kept_keys, keys])
        order = np.argsort(candidate_keys, kind="stable")[:count]
        kept, kept_keys = candidates.iloc[order], candidate_keys[order]
    if kept is None:
        msg = f"{source} has no rows; rerun the stage that writes it (dvc repro)"
        raise DataValidationError(msg)
    return kept.reset_index(drop=True)
