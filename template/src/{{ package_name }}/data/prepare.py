"""The prepare stage: validate the raw leads, split them, write one Parquet file per split."""

from __future__ import annotations

import logging
from pathlib import Path

from ..atomic import atomic_directory
from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT
from ..params import PrepareParams
from .parquet import read_parquet, write_parquet
from .schema import validate_labelled
from .split import SPLITS, assign_splits

logger = logging.getLogger(__name__)


def prepare(raw: Path, output_directory: Path, params: PrepareParams) -> dict[str, int]:
    """Validate RAW and write OUTPUT_DIRECTORY/{train,validation,test}.parquet, or nothing."""
    leads = validate_labelled(read_parquet(raw), str(raw))
    splits = assign_splits(
        leads[FEATURE_CONTRACT.identifier],
        params.seed,
        params.validation_fraction,
        params.test_fraction,
    )
    counts = {name: int((splits == name).sum()) for name in SPLITS}
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        msg = f"the {', '.join(empty)} split would be empty; provide more rows or larger fractions"
        raise DataValidationError(msg)
    with atomic_directory(output_directory) as staging:
        for name in SPLITS:
            part = leads[splits == name].reset_index(drop=True)
            write_parquet(part, staging / f"{name}.parquet")
    logger.info("prepared splits", extra={"rows": counts, "output": str(output_directory)})
    return counts
