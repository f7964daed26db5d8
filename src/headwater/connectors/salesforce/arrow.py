"""Salesforce values -> Arrow, column-at-a-time (no per-row Python on the Bulk path).

Bulk CSV is read with every column as text (so ``NA``, ``null``, ``None`` stay strings), an empty cell
is null (Bulk cannot tell empty from null), then each column is cast to its declared Arrow type.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from headwater.core.errors import SkippableError

CSV_BLOCK_SIZE = 4 << 20


def csv_options(names: list[str]) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    read = pacsv.ReadOptions(block_size=CSV_BLOCK_SIZE, use_threads=True)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        include_columns=names,
    )
    return read, parse, convert


def cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Text columns -> declared types. A value that cannot be cast is an error naming the column."""
    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if column.type != field.type:
            try:
                column = pc.cast(column, field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SkippableError(
                    f"Column {field.name} holds a value that is not {field.type}: {exc}"
                ) from exc
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _json_type(target: pa.DataType) -> pa.DataType:
    plain = pa.types.is_boolean(target) or pa.types.is_integer(target) or pa.types.is_floating(target)
    return target if plain else pa.string()


def records_to_batch(records: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """REST JSON records -> one batch: one C++ conversion, then vectorised casts (dates, datetimes).

    When a column does not hold what describe promises (e.g. ``anyType``), fall back to a
    column-by-column conversion that turns odd values into text first.
    """
    json_schema = pa.schema([pa.field(f.name, _json_type(f.type)) for f in schema])
    try:
        return cast_batch(pa.RecordBatch.from_pylist(records, schema=json_schema), schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, SkippableError):
        return _records_by_column(records, schema)


def _records_by_column(records: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field in schema:
        values = [record.get(field.name) for record in records]
        arrays.append(_rest_array(values, field))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _rest_array(values: list[Any], field: pa.Field) -> pa.Array:
    target = field.type
    if pa.types.is_boolean(target) or pa.types.is_integer(target) or pa.types.is_floating(target):
        try:
            return pa.array(values, type=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            pass
    text = pa.array([None if v is None else v if isinstance(v, str) else str(v) for v in values], pa.string())
    if target == pa.string():
        return text
    try:
        return pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SkippableError(f"Column {field.name} holds a value that is not {target}: {exc}") from exc


class IterStream(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (an httpx response), for pyarrow.csv."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size
