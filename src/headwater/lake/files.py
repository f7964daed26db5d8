"""Delta data files written by us (pyarrow), committed later as add/remove actions in one transaction.

deltalake's Rust writer pulls its input faster than it encodes and buffers whole target files, so its
memory grows with the run (1.1-1.6 GB for 1M ~1 KB rows). Here each incoming batch becomes one row
group of the current file, written at once, and a file is closed when it passes ``target_size``:
memory is one batch plus one row group's encoding, whatever the row count.

The files land in the table folder under fresh names *before* the commit. Until a commit's add action
names them they are not part of the table (readers follow the log, not the folder); a run that dies
leaves them as orphans that :meth:`Dataset.vacuum` removes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

_T = pa.types


def delta_type(type_: pa.DataType) -> pa.DataType:
    """The Arrow type a Delta table stores for ``type_`` (us timestamps in UTC, signed ints, ...)."""
    if _T.is_timestamp(type_):
        return pa.timestamp("us", tz=None if type_.tz is None else "UTC")
    if _T.is_unsigned_integer(type_):
        return {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[type_.bit_width]
    if _T.is_large_string(type_) or _T.is_string_view(type_):
        return pa.string()
    if _T.is_large_binary(type_) or _T.is_fixed_size_binary(type_) or _T.is_binary_view(type_):
        return pa.binary()
    if _T.is_struct(type_):
        return pa.struct([field.with_type(delta_type(field.type)) for field in type_])
    if _T.is_list(type_) or _T.is_large_list(type_) or _T.is_fixed_size_list(type_):
        return pa.list_(type_.value_field.with_type(delta_type(type_.value_type)))
    if _T.is_map(type_):
        return pa.map_(delta_type(type_.key_type), delta_type(type_.item_type))
    return type_


def delta_arrow_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([field.with_type(delta_type(field.type)) for field in schema])


def dictionary_columns(batch: pa.RecordBatch | pa.Table) -> list[str]:
    """Top-level columns worth dictionary encoding: at most half of the batch's values distinct.

    Parquet writers try a dictionary for every column and fall back to plain encoding once it grows
    past 1 MB; for unique-ish text (names, ids, descriptions) that is wasted hashing. Measured on 200k
    ~1 KB rows of such text: zstd without dictionaries wrote 2x faster and read 2x faster.
    """
    chosen = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_nested(field.type) or batch.num_rows == 0:
            continue
        try:
            distinct = pc.count_distinct(column, mode="all").as_py()
        except pa.ArrowNotImplementedError:  # a type without the kernel (null, ...): plain encoding
            continue
        if distinct * 2 <= batch.num_rows:
            chosen.append(field.name)
    return chosen


def open_parquet(
    sink: pa.NativeFile | Path, schema: pa.Schema, first: pa.RecordBatch | pa.Table
) -> pq.ParquetWriter:
    """A zstd Parquet writer with dictionaries for the columns that ``first`` shows to repeat."""
    where = str(sink) if isinstance(sink, Path) else sink
    return pq.ParquetWriter(where, schema, compression="zstd", use_dictionary=dictionary_columns(first))


class DataFileWriter:
    """Writes batches of one schema into Parquet files of about ``target_size`` bytes in ``folder``."""

    def __init__(self, folder: Path, schema: pa.Schema, target_size: int) -> None:
        self.folder = folder
        self.schema = schema
        self.target_size = target_size
        self.actions: list[AddAction] = []
        self.paths: list[Path] = []  # every file written, for cleaning up after a failed commit
        self._sink: pa.NativeFile | None = None
        self._writer: pq.ParquetWriter | None = None
        self._prefix = uuid.uuid4().hex
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._writer is None:
            self._open(batch)
        assert self._writer is not None and self._sink is not None
        self._writer.write_batch(batch)
        self.rows += batch.num_rows
        if self._sink.tell() >= self.target_size:
            self._close_file()

    def close(self) -> list[AddAction]:
        self._close_file()
        return self.actions

    def discard(self) -> None:
        """Remove every file written (they were never committed)."""
        self._abandon()
        for path in self.paths:
            path.unlink(missing_ok=True)

    def _open(self, first: pa.RecordBatch) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{len(self.paths):05d}-{self._prefix}-c000.zstd.parquet"
        self.paths.append(path)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = open_parquet(self._sink, self.schema, first)

    def _abandon(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._sink is not None:
            self._sink.close()
        self._writer = self._sink = None

    def _close_file(self) -> None:
        if self._writer is None or self._sink is None:
            return
        self._writer.close()
        size = self._sink.tell()
        self._sink.close()
        self._writer = self._sink = None
        path = self.paths[-1]
        self.actions.append(add_action(path, pq.read_metadata(path), self.schema, size))


def add_action(path: Path, meta: pq.FileMetaData, schema: pa.Schema, size: int | None = None) -> AddAction:
    """The Delta add action of a data file in the table's folder (its name is its relative path)."""
    size = path.stat().st_size if size is None else size
    stats = file_stats(meta, schema)
    return AddAction(path.name, size, {}, int(time.time() * 1000), True, json.dumps(stats))


_STAT_TYPES = (_T.is_string, _T.is_integer, _T.is_floating, _T.is_date)


def file_stats(meta: pq.FileMetaData, schema: pa.Schema) -> dict[str, Any]:
    """Delta file statistics: row count, and min/max/null count of top-level text, number and date
    columns (readers skip files with them; the merge uses the primary key's range)."""
    leaf = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for field in schema:
        index = leaf.get(field.name)
        if index is None or not any(check(field.type) for check in _STAT_TYPES):
            continue
        low = high = None
        null_count: int | None = 0
        exact = True
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is None or not stats.has_null_count:
                null_count, exact = None, False
                break
            null_count = (null_count or 0) + stats.null_count
            if not stats.has_min_max:  # no values, or too long to keep (never truncated)
                if stats.null_count < meta.row_group(group).num_rows:
                    exact = False
                continue
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
        if null_count is not None:
            nulls[field.name] = null_count
        if exact and low is not None and high is not None and _json_ok(low) and _json_ok(high):
            mins[field.name], maxs[field.name] = _json_value(low), _json_value(high)
    return {"numRecords": meta.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}


def _json_ok(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
