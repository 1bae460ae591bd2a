"""Parquet I/O: the only on-disk format for tables (typed, columnar, no code execution)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_file
from ..errors import DataValidationError

# Readers decode a whole row group at a time: bounded groups keep streaming reads bounded.
ROW_GROUP_ROWS = 65_536


def write_parquet(frame: pd.DataFrame, destination: Path) -> None:
    """Write FRAME atomically; the same frame always gives the same bytes."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_file(destination) as staging:
        pq.write_table(table, staging, compression="zstd", row_group_size=ROW_GROUP_ROWS)


def open_parquet(source: Path, *, pre_buffer: bool = True) -> pq.ParquetFile:
    """SOURCE opened for reading; DataValidationError names a missing or unreadable file."""
    try:
        return pq.ParquetFile(source, pre_buffer=pre_buffer)
    except FileNotFoundError as error:
        msg = f"{source} does not exist; run the stage that writes it (dvc repro) or dvc pull"
        raise DataValidationError(msg) from error
    except (OSError, pa.ArrowInvalid) as error:
        msg = (
            f"{source} is not a readable Parquet file ({error}); "
            "regenerate it (dvc repro) or replace it"
        )
        raise DataValidationError(msg) from error


def read_parquet(source: Path) -> pd.DataFrame:
    frame: pd.DataFrame = open_parquet(source).read().to_pandas()
    return frame


def iter_parquet(source: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    """Stream SOURCE in frames of at most BATCH_ROWS rows, so memory does not grow with it."""
    # Without pre-buffering: pre-buffered column chunks accumulate in Arrow's memory pool.
    for batch in open_parquet(source, pre_buffer=False).iter_batches(batch_size=batch_rows):
        frame: pd.DataFrame = batch.to_pandas()
        yield frame
