"""Pandera schemas derived from the feature contract: strict, lazy, and explicit on failure."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pandera.pandas as pa
from pandas.api.types import is_integer_dtype, is_string_dtype
from pandera.errors import SchemaErrors

from ..contract import (
    CONTRACT_FILE,
    CategoricalFeature,
    FeatureContract,
    IntegerFeature,
    Label,
    NumericFeature,
    RegressionLabel,
)
from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT

_EXAMPLES_PER_CHECK = 3


def feature_columns(contract: FeatureContract) -> dict[str, pa.Column]:
    """One column per feature: the request model and the data files share these rules."""
    columns: dict[str, pa.Column] = {}
    for feature in contract.features:
        if isinstance(feature, CategoricalFeature):
            columns[feature.name] = pa.Column(
                str,
                pa.Check.isin(feature.categories),
                nullable=False,
                description=feature.description,
            )
        else:
            columns[feature.name] = pa.Column(
                "int64" if isinstance(feature, IntegerFeature) else float,
                pa.Check.in_range(feature.minimum, feature.maximum),
                nullable=False,
                description=feature.description,
            )
    return columns


def label_column(label: Label) -> pa.Column:
    """The label's column: classes of one type (int64 or str), or a number within the range."""
    if isinstance(label, RegressionLabel):
        return pa.Column(float, pa.Check.in_range(label.minimum, label.maximum), nullable=False)
    dtype = "int64" if isinstance(label.classes[0], int) else str
    return pa.Column(dtype, pa.Check.isin(list(label.classes)), nullable=False)


def _text_or_integers(identifiers: pd.Series) -> bool:
    return is_string_dtype(identifiers) or is_integer_dtype(identifiers)


def labelled_schema(
    contract: FeatureContract = FEATURE_CONTRACT, *, unique_identifiers: bool = True
) -> pa.DataFrameSchema:
    """Schema of a data file: identifier, features and label, nothing else. Identifiers are
    checked unique within the frame unless UNIQUE_IDENTIFIERS is off (a reader of a file in
    frames checks them across the whole file)."""
    identifier = pa.Column(
        None,
        pa.Check(_text_or_integers, error="identifiers are text or integers"),
        nullable=False,
        unique=unique_identifiers,
    )
    return pa.DataFrameSchema(
        {
            contract.identifier: identifier,
            **feature_columns(contract),
            contract.label.name: label_column(contract.label),
        },
        strict=True,
        name=f"rows (contract {contract.version})",
    )


def widen_integer_columns(frame: pd.DataFrame, contract: FeatureContract) -> pd.DataFrame:
    """Integer data in a column the contract declares real (a numeric feature, a regression
    label) becomes float64: lossless, and what a CSV or a database gives for whole numbers."""
    real = [f.name for f in contract.features if isinstance(f, NumericFeature)]
    if isinstance(contract.label, RegressionLabel):
        real.append(contract.label.name)
    widened = {
        name: "float64" for name in real if name in frame and is_integer_dtype(frame[name].dtype)
    }
    return frame.astype(widened) if widened else frame


_COLUMN_CHECKS = ("column_in_schema", "column_in_dataframe")


def _whole_column(check: object, cases: pd.DataFrame) -> bool:
    """Whether CHECK failed for the column as a whole (it is missing, unknown, or of another
    type) rather than for some of its rows: such cases carry no row."""
    return check in _COLUMN_CHECKS or bool(cases["index"].isna().all())


def _summarize(failures: pd.DataFrame, counts: Counter[tuple[str, str]]) -> list[str]:
    """One line per failed check: FAILURES holds its example rows, COUNTS how many failed."""
    lines = []
    for (column, check), cases in failures.groupby(["column", "check"], dropna=False, sort=True):
        if check in _COLUMN_CHECKS:
            names = ", ".join(sorted({str(case) for case in cases["failure_case"]}))
            strict = check == _COLUMN_CHECKS[0]
            what = "not in the feature contract (strict schema)" if strict else "missing"
            lines.append(f"column {names}: {what}")
        elif _whole_column(check, cases):  # a type: the column fails, not some rows
            lines.append(f"column {column}: {check} failed: got {cases['failure_case'].iloc[0]!r}")
        else:
            examples = ", ".join(
                f"row {index}: {case!r}"
                for index, case in zip(cases["index"], cases["failure_case"], strict=True)
            )
            failed = counts[str(column), str(check)]
            lines.append(f"column {column}: {check} failed for {failed} row(s), e.g. {examples}")
    return lines


def describe_label(label: Label) -> str:
    if isinstance(label, RegressionLabel):
        return f"RegressionLabel({label.name!r}, {label.minimum!r}, {label.maximum!r})"
    return f"{type(label).__name__}({label.name!r}, {tuple(label.classes)!r})"


def _label_hint(label: Label) -> str:
    return (
        f"\nthe label is declared in {CONTRACT_FILE} as {describe_label(label)}: fix the data, "
        "or declare the label your data has there (BinaryLabel: two classes; MulticlassLabel: "
        "named classes; RegressionLabel: a range of numbers)"
    )


class ValidationReport:
    """Every problem of one data file checked frame by frame, with a few example rows each:
    memory holds the examples, not the failures, so a file of any size is checked whole."""

    def __init__(
        self,
        source: str,
        contract: FeatureContract = FEATURE_CONTRACT,
        *,
        unique_identifiers: bool = True,
    ) -> None:
        self.source = source
        self.contract = contract
        self._schema = labelled_schema(contract, unique_identifiers=unique_identifiers)
        self._examples: list[pd.DataFrame] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        self._label_failed = False

    @property
    def failed(self) -> bool:
        return bool(self._counts)

    def check(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """FRAME as the contract types it if it meets the contract, else None (recorded)."""
        try:
            validated: pd.DataFrame = self._schema.validate(
                widen_integer_columns(frame, self.contract), lazy=True
            )
        except SchemaErrors as errors:
            self._record(errors.failure_cases)
            return None
        return validated

    def _record(self, failures: pd.DataFrame) -> None:
        label = self.contract.label.name
        self._label_failed = self._label_failed or (
            label in set(failures["column"].dropna().astype(str))
            or any(str(case) == label for case in failures["failure_case"])
        )
        for (column, check), cases in failures.groupby(["column", "check"], dropna=False):
            key = (str(column), str(check))
            seen = self._counts[key]
            self._counts[key] += len(cases)
            if _whole_column(check, cases):  # the same for every frame: the first one tells
                self._examples.extend([cases] if seen == 0 else [])
            elif seen < _EXAMPLES_PER_CHECK:
                self._examples.append(cases.head(_EXAMPLES_PER_CHECK - seen))

    def error(self, also: str | None = None) -> DataValidationError:
        """Every problem recorded so far, and ALSO if given, in one error that names the fix."""
        failures = pd.concat(self._examples, ignore_index=True)
        lines = [*_summarize(failures, self._counts), *([also] if also else [])]
        problems = "\n".join(f"  - {line}" for line in lines)
        msg = (
            f"{self.source} breaks the feature contract (version {self.contract.version}):\n"
            f"{problems}\nfix the data source, or change {CONTRACT_FILE} if the contract changed"
            f"{_label_hint(self.contract.label) if self._label_failed else ''}"
        )
        return DataValidationError(msg)

    def add_problem(self, column: str, check: str, examples: pd.DataFrame, count: int) -> None:
        """A problem found outside the schema (one that spans frames), in the same form."""
        self._counts[column, check] += count
        self._examples.append(examples.assign(column=column, check=check))


def validate_labelled(
    frame: pd.DataFrame, source: str, contract: FeatureContract = FEATURE_CONTRACT
) -> pd.DataFrame:
    """Return FRAME if it meets the contract; otherwise raise with every problem at once."""
    report = ValidationReport(source, contract)
    validated = report.check(frame)
    if validated is None:
        raise report.error()
    return validated
