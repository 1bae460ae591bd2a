"""Parquet I/O: the only on-disk format for tables (typed, columnar, no code execution)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_file
from ..errors import DataValidationError

# Readers decode a whole row group at a time: bounded groups keep streaming reads bounded.
ROW_GROUP_ROWS = 65_536
COMPRESSION = "zstd"
# Rows per frame where a stage reads a file in batches: memory is bounded by this, not the file.
READ_BATCH_ROWS = ROW_GROUP_ROWS
_STREAM_BUFFER_BYTES = 1 << 20


def write_parquet(frame: pd.DataFrame, destination: Path) -> None:
    """Write FRAME atomically; the same frame always gives the same bytes."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_file(destination) as staging:
        pq.write_table(table, staging, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)


def open_parquet(source: Path, *, streaming: bool = False) -> pq.ParquetFile:
    """SOURCE opened for reading; DataValidationError names a missing or unreadable file.
    STREAMING: for batch reads, which then hold a buffer, not a whole row group (files from
    Spark or DuckDB may have row groups of millions of rows)."""
    try:
        # Without pre-buffering: pre-buffered column chunks accumulate in Arrow's memory pool.
        return pq.ParquetFile(
            source, pre_buffer=not streaming, buffer_size=_STREAM_BUFFER_BYTES if streaming else 0
        )
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


def iter_parquet_tables(source: Path, batch_rows: int) -> Iterator[pa.Table]:
    """Stream SOURCE in Arrow tables of at most BATCH_ROWS rows, so memory does not grow with it."""
    for batch in open_parquet(source, streaming=True).iter_batches(batch_size=batch_rows):
        yield pa.Table.from_batches([batch])


def numbered_frames(tables: Iterable[pa.Table]) -> Iterator[pd.DataFrame]:
    """TABLES as frames, each indexed by its rows' position in the whole stream, so a problem
    found in one names the row of the file it is on."""
    position = 0
    for table in tables:
        frame: pd.DataFrame = table.to_pandas()
        frame.index = pd.RangeIndex(position, position + len(frame))
        position += len(frame)
        yield frame


def iter_parquet(source: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    """Stream SOURCE in frames of at most BATCH_ROWS rows, so memory does not grow with it."""
    return numbered_frames(iter_parquet_tables(source, batch_rows))


class RowGroupWriter:
    """Frames appended in order to one Parquet file, cut into row groups of ROW_GROUP_ROWS:
    memory holds one row group, and the bytes depend on the rows, not on how they came in."""

    def __init__(self, destination: Path) -> None:
        self._destination = destination
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        self.append_table(pa.Table.from_pandas(frame, preserve_index=False))

    def append_table(self, table: pa.Table) -> None:
        """TABLE's rows after those appended before; the first table fixes the schema."""
        if self._schema is None:
            self._schema = table.schema
        self._pending.append(table.cast(self._schema))
        self._pending_rows += table.num_rows
        while self._pending_rows >= ROW_GROUP_ROWS:
            self._write(ROW_GROUP_ROWS, self._schema)

    def _write(self, rows: int, schema: pa.Schema) -> None:
        pending = pa.concat_tables(self._pending) if self._pending else schema.empty_table()
        group, rest = pending.slice(0, rows), pending.slice(rows)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._destination, schema, compression=COMPRESSION)
        self._writer.write_table(group.combine_chunks(), row_group_size=ROW_GROUP_ROWS)
        self._pending, self._pending_rows = [rest], rest.num_rows

    def close(self) -> None:
        """Write what is pending and the footer; a file that got only empty frames keeps their
        columns, one that got no frame at all is not written."""
        if self._schema is None:
            return
        if self._pending_rows or self._writer is None:
            self._write(self._pending_rows, self._schema)
        if self._writer is not None:
            self._writer.close()
            with self._destination.open("rb") as written:  # on disk before any rename
                os.fsync(written.fileno())
