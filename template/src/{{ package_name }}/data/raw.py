"""The raw data file a source delivers, read with the contract's column types: Parquet or CSV."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from ..contract import CategoricalFeature, FeatureContract, IntegerFeature, RegressionLabel
from ..errors import DataValidationError
from .parquet import READ_BATCH_ROWS, iter_parquet_tables, numbered_frames

_CSV_COLUMN = re.compile(r"column #(\d+)")
# An empty cell or a bare null marker (NA, NULL, N/A, NaN, ...) is a missing value, in text
# columns too; quoted ("NA"), it is the text. Missing values are then refused by name.
CSV_MISSING_VALUES = {"strings_can_be_null": True, "quoted_strings_can_be_null": False}
CSV_BLOCK_BYTES = 1 << 20  # bytes of CSV parsed at a time


def contract_column_types(contract: FeatureContract) -> dict[str, pa.DataType]:
    """The Arrow type of each contract column (the identifier's, text or integer, is read)."""
    types: dict[str, pa.DataType] = {}
    for feature in contract.features:
        if isinstance(feature, CategoricalFeature):
            types[feature.name] = pa.string()
        elif isinstance(feature, IntegerFeature):
            types[feature.name] = pa.int64()
        else:
            types[feature.name] = pa.float64()
    label = contract.label
    if isinstance(label, RegressionLabel):
        types[label.name] = pa.float64()
    else:
        types[label.name] = pa.int64() if isinstance(label.classes[0], int) else pa.string()
    return types


def _csv_header(source: Path) -> list[str]:
    with source.open("rb") as stream:
        header = stream.readline()
    return list(pa_csv.read_csv(pa.py_buffer(header)).column_names)


def _column_at(source: Path, error: Exception) -> str:
    """'column NAME: ' for an Arrow CSV error that gives a column number, else ''."""
    found = _CSV_COLUMN.search(str(error))
    if not found:
        return ""
    names = _csv_header(source)
    position = int(found.group(1))
    return f"column {names[position]}: " if position < len(names) else ""


def _widened_type(kind: pa.DataType, target: pa.DataType | None) -> pa.DataType | None:
    """What a column of type KIND becomes for the contract's TARGET type (None: no target, as
    for the identifier), within one family only; None when it stays as it is."""
    if pa.types.is_integer(kind) and target in (None, pa.int64()):
        return pa.int64()
    if target == pa.float64() and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return pa.float64()
    if pa.types.is_large_string(kind) and target in (None, pa.string()):
        return pa.string()
    return None


def conformed_column(column: pa.ChunkedArray, target: pa.DataType | None) -> pa.ChunkedArray:
    """COLUMN decoded from a dictionary and widened as `_widened_type` says; any other type is
    left for validation to name (text for a number is refused, never parsed)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    widened = _widened_type(column.type, target)
    return column if widened is None or widened == column.type else column.cast(widened)


def _conformed_table(table: pa.Table, source: Path, types: dict[str, pa.DataType]) -> pa.Table:
    """TABLE with the contract's columns widened to their TYPES: int32, float32 and category
    columns, as Spark, polars or pandas write them, read as the contract says."""
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        try:
            columns[name] = conformed_column(column, types.get(name))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            msg = (
                f"{source}: column {name}: {error}; fix the file, or its declaration in features.py"
            )
            raise DataValidationError(msg) from error
    return pa.table(columns)


def _csv_batches(
    source: Path, types: dict[str, pa.DataType], batch_rows: int
) -> Iterator[pa.Table]:
    """CSV blocks parsed into the contract's TYPES, re-cut to BATCH_ROWS rows; a cell that does
    not parse names its column. Empty cells and bare null markers become missing values, which
    validation refuses. A column the contract gives no type (the identifier, ignored and
    unknown columns) is read as text: a streaming reader would otherwise fix its type from the
    first block and refuse a later block that differs."""
    try:
        column_types = {name: pa.string() for name in _csv_header(source)} | types
        options = pa_csv.ConvertOptions(column_types=column_types, **CSV_MISSING_VALUES)
        reader = pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=options,
        )
        for block in reader:
            table = pa.Table.from_batches([block])
            for offset in range(0, table.num_rows, batch_rows):
                yield table.slice(offset, batch_rows)
    except FileNotFoundError as error:
        msg = f"{source} does not exist; run the stage that writes it (dvc repro) or dvc pull"
        raise DataValidationError(msg) from error
    except pa.ArrowInvalid as error:
        msg = (
            f"{source}: {_column_at(source, error)}{error}; "
            "fix the file, or that column's declaration in features.py"
        )
        raise DataValidationError(msg) from error


def iter_raw(
    source: Path, contract: FeatureContract, batch_rows: int = READ_BATCH_ROWS
) -> Iterator[pd.DataFrame]:
    """The raw file, by its suffix (.parquet or .csv), in frames of at most BATCH_ROWS rows read
    with the contract's types: memory stays bounded whatever the file's size. Each frame's
    index is its rows' position in the file, so a problem names the row it is on."""
    types = contract_column_types(contract)
    suffix = source.suffix.lower()
    if suffix == ".parquet":
        tables = iter_parquet_tables(source, batch_rows)
    elif suffix == ".csv":
        tables = _csv_batches(source, types, batch_rows)
    else:
        msg = f"{source}: the raw data must be a .parquet or a .csv file"
        raise DataValidationError(msg)
    return numbered_frames(_conformed_table(table, source, types) for table in tables)
