"""The prepare stage: validate the raw rows, split them, write one Parquet file per split."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import pandas as pd

from ..atomic import atomic_directory
from ..contract import FeatureContract, Label, RegressionLabel
from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT
from ..params import PrepareParams
from .identifiers import IdentifierLedger, rows_with_repeated_identifiers
from .parquet import READ_BATCH_ROWS, RowGroupWriter
from .raw import iter_raw
from .schema import ValidationReport, describe_label
from .split import SPLITS, assign_splits

logger = logging.getLogger(__name__)


class LabelTally:
    """The rows of one split and the label values among them (every class; for a regression
    label, the first two values only: enough to tell a constant)."""

    def __init__(self, label: Label) -> None:
        self.rows = 0
        self.values: set[object] = set()
        self._limit = 2 if isinstance(label, RegressionLabel) else len(label.classes)

    def add(self, labels: pd.Series) -> None:
        self.rows += len(labels)
        if len(self.values) < self._limit:
            self.values.update(labels.drop_duplicates().head(self._limit).tolist())


def label_coverage_problems(tallies: dict[str, LabelTally], contract: FeatureContract) -> list[str]:
    """Splits whose labels could only train or judge a wrong model, each with the reason."""
    label = contract.label
    declared = describe_label(label)
    problems = []
    if not isinstance(label, RegressionLabel):
        missing = [c for c in label.classes if c not in tallies["train"].values]
        if missing:
            problems.append(
                f"classes {missing} of {declared} have no rows in the train split, so the "
                "model could never predict them: add rows of them, or remove them from the "
                "label's classes in features.py"
            )
    for name, tally in tallies.items():
        if len(tally.values) == 1:
            problems.append(
                f"the {name} split holds one label value only ({next(iter(tally.values))!r}): "
                "its metrics would mean nothing; provide more rows, or larger fractions"
            )
    return problems


def _check_whole_file(
    raw: Path,
    report: ValidationReport,
    ledger: IdentifierLedger,
    contract: FeatureContract,
    batch_rows: int,
) -> None:
    """Add the problems that span frames (repeated identifiers), then raise if any was found."""
    repeated = ledger.repeated()
    if len(repeated):
        cases, count = rows_with_repeated_identifiers(
            iter_raw(raw, contract, batch_rows), contract.identifier, repeated
        )
        if count:
            report.add_problem(contract.identifier, "field_uniqueness", cases, count)
    if report.failed:
        raise report.error()


def _check_splits(raw: Path, tallies: dict[str, LabelTally], contract: FeatureContract) -> None:
    empty = [name for name, tally in tallies.items() if tally.rows == 0]
    if empty:
        msg = f"the {', '.join(empty)} split would be empty; provide more rows or larger fractions"
        raise DataValidationError(msg)
    problems = label_coverage_problems(tallies, contract)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        msg = f"{raw} cannot train a sound model:\n{listed}"
        raise DataValidationError(msg)


def prepare(
    raw: Path,
    output_directory: Path,
    params: PrepareParams,
    contract: FeatureContract = FEATURE_CONTRACT,
    batch_rows: int = READ_BATCH_ROWS,
) -> dict[str, int]:
    """Validate RAW and write OUTPUT_DIRECTORY/{train,validation,test}.parquet, or nothing.

    RAW is read BATCH_ROWS rows at a time and each split is written as it comes, so memory
    stays bounded whatever the file's size; the output does not depend on BATCH_ROWS."""
    report = ValidationReport(str(raw), contract, unique_identifiers=False)
    ledger = IdentifierLedger()
    tallies = {name: LabelTally(contract.label) for name in SPLITS}
    with atomic_directory(output_directory) as staging, contextlib.ExitStack() as closing:
        writers = {name: RowGroupWriter(staging / f"{name}.parquet") for name in SPLITS}
        for writer in writers.values():
            closing.callback(writer.close)  # before the staging directory is renamed
        try:
            for frame in iter_raw(raw, contract, batch_rows):
                if contract.identifier in frame:
                    ledger.add(frame[contract.identifier])
                rows = report.check(frame.drop(columns=[n for n in contract.ignored if n in frame]))
                if rows is None or report.failed:  # keep reading: every problem is reported
                    continue
                splits = assign_splits(
                    rows[contract.identifier],
                    params.seed,
                    params.validation_fraction,
                    params.test_fraction,
                )
                for name in SPLITS:
                    part = rows[splits == name]
                    tallies[name].add(part[contract.label.name])
                    writers[name].append(part)
        except DataValidationError as unreadable:  # the rest of the file cannot be read
            if report.failed:  # the problems found before it, then it
                raise report.error(also=unreadable.message) from unreadable
            raise
        _check_whole_file(raw, report, ledger, contract, batch_rows)
        _check_splits(raw, tallies, contract)
    counts = {name: tally.rows for name, tally in tallies.items()}
    logger.info("prepared splits", extra={"rows": counts, "output": str(output_directory)})
    return counts
