"""What each column of a data file holds, read in Arrow record batches (memory stays bounded).

`contract infer` decides a contract from these profiles: the type of each column, its missing
and non-finite values, its range, and its distinct values up to a limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .data.raw import CSV_MISSING_VALUES
from .errors import ContractInferenceError

_BATCH_ROWS = 65_536


@dataclass
class ColumnProfile:
    name: str
    type_kind: str  # float, integer, text, boolean, or the Arrow type's name
    rows: int = 0
    missing: int = 0  # nulls, and NaN in a float column
    infinite: int = 0
    minimum: float | None = None  # of the finite values
    maximum: float | None = None
    distinct: set[int | float | str] = field(default_factory=set)
    distinct_limit: int = 0  # distinct values are kept up to this many plus one

    @property
    def distinct_overflow(self) -> bool:
        return len(self.distinct) > self.distinct_limit

    @property
    def whole_numbers(self) -> bool:
        """Every value seen is a whole number (only tracked while distinct values are)."""
        return not self.distinct_overflow and all(float(v).is_integer() for v in self.distinct)


def _type_kind(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return _type_kind(data_type.value_type)
    if pa.types.is_floating(data_type):
        return "float"
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "text"
    if pa.types.is_boolean(data_type):
        return "boolean"
    return str(data_type)


def _observe(profile: ColumnProfile, column: pa.Array | pa.ChunkedArray) -> None:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    profile.rows += len(column)
    profile.missing += column.null_count
    values = column.drop_null()
    if profile.type_kind == "float":
        nan = pc.is_nan(values)
        profile.missing += pc.sum(nan).as_py() or 0
        values = values.filter(pc.invert(nan))
        finite = pc.is_finite(values)
        profile.infinite += len(values) - (pc.sum(finite).as_py() or 0)
        values = values.filter(finite)
    if profile.type_kind in {"float", "integer"} and len(values):
        extremes = pc.min_max(values).as_py()
        low, high = float(extremes["min"]), float(extremes["max"])
        profile.minimum = low if profile.minimum is None else min(profile.minimum, low)
        profile.maximum = high if profile.maximum is None else max(profile.maximum, high)
    if profile.type_kind in {"float", "integer", "text", "boolean"} and not (
        profile.distinct_overflow
    ):
        for value in pc.unique(values).to_pylist():
            profile.distinct.add(value)
            if len(profile.distinct) > profile.distinct_limit:
                break


def _reader(source: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema of SOURCE and its record batches, read as they are needed."""
    suffix = source.suffix.lower()
    if suffix == ".parquet":
        parquet = pq.ParquetFile(source, pre_buffer=False)
        return parquet.schema_arrow, parquet.iter_batches(batch_size=_BATCH_ROWS)
    if suffix == ".csv":
        reader = pa_csv.open_csv(
            source, convert_options=pa_csv.ConvertOptions(**CSV_MISSING_VALUES)
        )
        return reader.schema, iter(reader)
    msg = f"{source}: read a .parquet or a .csv file"
    raise ContractInferenceError(msg)


def profile_columns(source: Path, distinct_limit: int) -> dict[str, ColumnProfile]:
    """One profile per column of SOURCE, in file order."""
    try:
        schema, batches = _reader(source)
        profiles = {
            field.name: ColumnProfile(
                field.name, _type_kind(field.type), distinct_limit=distinct_limit
            )
            for field in schema
        }
        for batch in batches:
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                _observe(profiles[name], column)
    except FileNotFoundError as error:
        msg = f"{source} does not exist; give the path of your data file"
        raise ContractInferenceError(msg) from error
    except (pa.ArrowInvalid, OSError) as error:
        msg = (
            f"{source} cannot be read as {source.suffix.lstrip('.')} ({error}); a CSV column "
            "must keep one type from the first row to the last"
        )
        raise ContractInferenceError(msg) from error
    if not profiles:
        msg = f"{source} has no columns"
        raise ContractInferenceError(msg)
    return profiles


def describe_number(value: float) -> str:
    """A number as a person reads it: whole numbers without a decimal point."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
