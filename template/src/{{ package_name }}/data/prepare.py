"""The prepare stage: validate the raw rows, split them, write one Parquet file per split."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..atomic import atomic_directory
from ..contract import FeatureContract, RegressionLabel
from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT
from ..params import PrepareParams
from .parquet import write_parquet
from .raw import read_raw
from .schema import describe_label, validate_labelled
from .split import SPLITS, assign_splits

logger = logging.getLogger(__name__)


def label_coverage_problems(
    labels_by_split: dict[str, pd.Series], contract: FeatureContract
) -> list[str]:
    """Splits whose labels could only train or judge a wrong model, each with the reason."""
    label = contract.label
    declared = describe_label(label)
    problems = []
    if not isinstance(label, RegressionLabel):
        missing = [c for c in label.classes if not (labels_by_split["train"] == c).any()]
        if missing:
            problems.append(
                f"classes {missing} of {declared} have no rows in the train split, so the "
                "model could never predict them: add rows of them, or remove them from the "
                "label's classes in features.py"
            )
    for name, labels in labels_by_split.items():
        if labels.nunique() < 2:
            problems.append(
                f"the {name} split holds one label value only ({labels.iloc[0]!r}): its "
                "metrics would mean nothing; provide more rows, or larger fractions"
            )
    return problems


def prepare(
    raw: Path,
    output_directory: Path,
    params: PrepareParams,
    contract: FeatureContract = FEATURE_CONTRACT,
) -> dict[str, int]:
    """Validate RAW and write OUTPUT_DIRECTORY/{train,validation,test}.parquet, or nothing."""
    raw_rows = read_raw(raw, contract)
    ignored = [name for name in contract.ignored if name in raw_rows.columns]
    rows = validate_labelled(raw_rows.drop(columns=ignored), str(raw), contract)
    splits = assign_splits(
        rows[contract.identifier],
        params.seed,
        params.validation_fraction,
        params.test_fraction,
    )
    counts = {name: int((splits == name).sum()) for name in SPLITS}
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        msg = f"the {', '.join(empty)} split would be empty; provide more rows or larger fractions"
        raise DataValidationError(msg)
    labels = {name: rows[contract.label.name][splits == name] for name in SPLITS}
    problems = label_coverage_problems(labels, contract)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        msg = f"{raw} cannot train a sound model:\n{listed}"
        raise DataValidationError(msg)
    with atomic_directory(output_directory) as staging:
        for name in SPLITS:
            part = rows[splits == name].reset_index(drop=True)
            write_parquet(part, staging / f"{name}.parquet")
    logger.info("prepared splits", extra={"rows": counts, "output": str(output_directory)})
    return counts
