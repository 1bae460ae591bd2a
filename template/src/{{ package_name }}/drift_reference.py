"""The drift reference: a fixed sample of training features, saved beside the model.

The service compares each window of live requests with it; a model and its reference are
written by the same training run, so drift is always measured against what the model saw.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data.parquet import READ_BATCH_ROWS, iter_parquet, read_parquet, write_parquet
from .data.streaming import smallest_rows
from .errors import ModelArtifactError
from .features import FEATURE_CONTRACT

DRIFT_REFERENCE_FILE = "drift_reference.parquet"


def write_drift_reference(training_data: Path, destination: Path, rows: int, seed: int) -> int:
    """Write up to ROWS training rows' features to DESTINATION; return how many.

    The sample is the ROWS rows whose seeded hash of the identifier is smallest: uniform, the
    same whatever order the rows are stored in, and read in batches (memory holds ROWS rows)."""
    identifier = FEATURE_CONTRACT.identifier
    hash_key = f"{seed:016d}"[-16:]  # the hash function's 16-character key

    def seeded_hash(frame: pd.DataFrame) -> pd.Series:
        # As text: pandas applies the hash key to text only, so numbers would ignore the seed.
        as_text = frame[identifier].astype(str)
        return pd.util.hash_pandas_object(as_text, index=False, hash_key=hash_key)

    frames = iter_parquet(training_data, READ_BATCH_ROWS)
    sample = smallest_rows(frames, rows, seeded_hash, str(training_data))
    chosen = sample.sort_values(identifier)[list(FEATURE_CONTRACT.feature_names)]
    write_parquet(chosen.reset_index(drop=True), destination)
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
