"""The drift reference: a fixed sample of training features, saved beside the model.

The service compares each window of live requests with it; a model and its reference are
written by the same training run, so drift is always measured against what the model saw.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data.parquet import read_parquet, write_parquet
from .errors import ModelArtifactError
from .features import FEATURE_CONTRACT

DRIFT_REFERENCE_FILE = "drift_reference.parquet"


def write_drift_reference(training_data: Path, destination: Path, rows: int, seed: int) -> int:
    """Write up to ROWS training rows' features (a seeded sample) to DESTINATION; return rows."""
    frame = read_parquet(training_data).sort_values(FEATURE_CONTRACT.identifier)
    chosen = frame.sample(n=min(rows, len(frame)), random_state=seed).sort_values(
        FEATURE_CONTRACT.identifier
    )
    write_parquet(chosen[list(FEATURE_CONTRACT.feature_names)].reset_index(drop=True), destination)
    return len(chosen)


def read_drift_reference(source: Path) -> pd.DataFrame:
    """The reference features; refuses a file whose columns are not the contract's features."""
    frame = read_parquet(source)
    if tuple(frame.columns) != FEATURE_CONTRACT.feature_names:
        msg = (
            f"{source} has columns {list(frame.columns)}, the feature contract has "
            f"{list(FEATURE_CONTRACT.feature_names)}; retrain the model (dvc repro train)"
        )
        raise ModelArtifactError(msg)
    return frame
