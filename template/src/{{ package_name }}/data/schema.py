"""Pandera schemas derived from the feature contract: strict, lazy, and explicit on failure."""

from __future__ import annotations

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


def labelled_schema(contract: FeatureContract = FEATURE_CONTRACT) -> pa.DataFrameSchema:
    """Schema of a data file: identifier, features and label, nothing else."""
    identifier = pa.Column(
        None,
        pa.Check(_text_or_integers, error="identifiers are text or integers"),
        nullable=False,
        unique=True,
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


def _summarize(failures: pd.DataFrame) -> list[str]:
    lines = []
    for (column, check), cases in failures.groupby(["column", "check"], dropna=False, sort=True):
        if check == "column_in_schema":
            names = ", ".join(sorted({str(case) for case in cases["failure_case"]}))
            lines.append(f"column {names}: not in the feature contract (strict schema)")
        elif check == "column_in_dataframe":
            names = ", ".join(sorted({str(case) for case in cases["failure_case"]}))
            lines.append(f"column {names}: missing")
        else:
            examples = ", ".join(
                f"row {index}: {case!r}"
                for index, case in zip(
                    cases["index"][:_EXAMPLES_PER_CHECK],
                    cases["failure_case"][:_EXAMPLES_PER_CHECK],
                    strict=True,
                )
            )
            lines.append(
                f"column {column}: {check} failed for {len(cases)} row(s), e.g. {examples}"
            )
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


def validate_labelled(
    frame: pd.DataFrame, source: str, contract: FeatureContract = FEATURE_CONTRACT
) -> pd.DataFrame:
    """Return FRAME if it meets the contract; otherwise raise with every problem at once."""
    try:
        return labelled_schema(contract).validate(widen_integer_columns(frame, contract), lazy=True)
    except SchemaErrors as errors:
        failures = errors.failure_cases
        problems = "\n".join(f"  - {line}" for line in _summarize(failures))
        label = contract.label
        label_failed = label.name in set(failures["column"].dropna().astype(str)) or any(
            str(case) == label.name for case in failures["failure_case"]
        )
        msg = (
            f"{source} breaks the feature contract (version {contract.version}):\n"
            f"{problems}\nfix the data source, or change {CONTRACT_FILE} if the contract changed"
            f"{_label_hint(label) if label_failed else ''}"
        )
        raise DataValidationError(msg) from errors
