"""Schema evolution rules between a dataset's columns and a run's columns.

* a column only in the run is added to the dataset (older rows read as null);
* a column only in the dataset is null in the run's inserted rows and keeps its old value in the
  rows the run updates (a merge updates the run's columns only);
* a column in both with another type is cast to the dataset's type when that is safe (any integer to
  an integer or float, float to float, date to timestamp, string flavours, null to anything); a value
  that does not fit (overflow) or an incompatible pair (text into a number column) is a TerminalError.
  The dataset's own column type is never changed in place: Delta type widening rewrites files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from headwater.core.errors import TerminalError

if TYPE_CHECKING:
    from deltalake import DeltaTable

_T = pa.types


def _same_family(src: pa.DataType, dst: pa.DataType) -> bool:
    if _T.is_null(src):
        return True
    if _T.is_integer(src):
        return _T.is_integer(dst) or _T.is_floating(dst) or _T.is_decimal(dst)
    if _T.is_floating(src):
        return _T.is_floating(dst)
    if _T.is_decimal(src):
        return _T.is_decimal(dst) or _T.is_floating(dst)
    if _T.is_string(src) or _T.is_large_string(src) or _T.is_string_view(src):
        return _T.is_string(dst) or _T.is_large_string(dst) or _T.is_string_view(dst)
    if _T.is_date(src) or _T.is_timestamp(src):
        return _T.is_timestamp(dst) or (_T.is_date(src) and _T.is_date(dst))
    if _T.is_binary(src) or _T.is_large_binary(src):
        return _T.is_binary(dst) or _T.is_large_binary(dst)
    return False


def casts_for(table: pa.Schema, run: pa.Schema) -> dict[str, pa.DataType]:
    """The casts the run's columns need to fit the dataset; raises TerminalError when one cannot."""
    casts: dict[str, pa.DataType] = {}
    for field in run:
        if field.name not in table.names:
            continue
        dst = table.field(field.name).type
        if field.type.equals(dst):
            continue
        if _T.is_struct(field.type) and _T.is_struct(dst):
            continue  # struct evolution (new sub-fields) is Delta's merge_schema job
        if not _same_family(field.type, dst):
            raise TerminalError(
                f"column {field.name!r} is {dst} in the dataset but {field.type} in this run; "
                "incompatible type change",
                column=field.name,
            )
        casts[field.name] = dst
    return casts


def apply_casts(batch: pa.RecordBatch, casts: dict[str, pa.DataType]) -> pa.RecordBatch:
    if not casts:
        return batch
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name in casts:
            try:
                column = pc.cast(column, casts[name], safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise TerminalError(
                    f"column {name!r}: a value does not fit the dataset type {casts[name]}: {exc}",
                    column=name,
                ) from exc
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all part files of a run (a run may add columns mid-way)."""
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise TerminalError(f"the batches of this run have incompatible column types: {exc}") from exc


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with ``schema``'s columns in its order: missing ones null, others cast."""
    arrays = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, field.type))
        else:
            column = batch.column(index)
            arrays.append(column if column.type.equals(field.type) else column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def delta_schema(table: DeltaTable) -> pa.Schema:
    """A Delta table's schema as a pyarrow schema (deltalake hands out arro3 objects)."""
    return pa.schema(table.schema().to_arrow())  # type: ignore[arg-type]
