"""Pandera schemas derived from the feature contract: strict, lazy, and explicit on failure."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT, FeatureContract

_EXAMPLES_PER_CHECK = 3


def feature_columns(contract: FeatureContract) -> dict[str, pa.Column]:
    """One column per feature: the request model and the data files share these rules."""
    columns: dict[str, pa.Column] = {}
    for numeric in contract.numeric:
        columns[numeric.name] = pa.Column(
            float,
            pa.Check.in_range(numeric.minimum, numeric.maximum),
            nullable=False,
            description=numeric.description,
        )
    for categorical in contract.categorical:
        columns[categorical.name] = pa.Column(
            str,
            pa.Check.isin(categorical.categories),
            nullable=False,
            description=categorical.description,
        )
    return columns


def labelled_schema(contract: FeatureContract = FEATURE_CONTRACT) -> pa.DataFrameSchema:
    """Schema of a data file: identifier, features and label, nothing else."""
    return pa.DataFrameSchema(
        {
            contract.identifier: pa.Column(str, nullable=False, unique=True),
            **feature_columns(contract),
            contract.label: pa.Column("int64", pa.Check.isin([0, 1]), nullable=False),
        },
        strict=True,
        name=f"leads (contract {contract.version})",
    )


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


def validate_labelled(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return FRAME if it meets the contract; otherwise raise with every problem at once."""
    try:
        return labelled_schema().validate(frame, lazy=True)
    except SchemaErrors as errors:
        problems = "\n".join(f"  - {line}" for line in _summarize(errors.failure_cases))
        msg = (
            f"{source} breaks the feature contract (version {FEATURE_CONTRACT.version}):\n"
            f"{problems}\nfix the data source, or change features.py if the contract changed"
        )
        raise DataValidationError(msg) from errors
