"""Choosing rows from a stream of frames in bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd


def smallest_rows(
    frames: Iterable[pd.DataFrame], count: int, key: Callable[[pd.DataFrame], pd.Series]
) -> pd.DataFrame:
    """The COUNT rows of FRAMES with the smallest KEY (unique per row), in KEY order, whatever
    order the rows come in. Memory holds COUNT rows and one frame."""
    kept: pd.DataFrame | None = None
    kept_keys = np.empty(0)
    for frame in frames:
        candidates = frame if kept is None else pd.concat([kept, frame])
        keys = np.concatenate([kept_keys, key(frame).to_numpy()])
        order = np.argsort(keys, kind="stable")[:count]
        kept, kept_keys = candidates.iloc[order], keys[order]
    if kept is None:
        msg = "no frame to choose rows from"
        raise ValueError(msg)
    return kept.reset_index(drop=True)
