"""Column patches: new values for some columns of rows the dataset already holds.

A formula column changes at the source without its record's change stamp moving, so an incremental
read never sees it; a flow re-reads ``Id`` + those columns and hands them to the run writer as
patches. At commit a patch is resolved into a full row -- the row the dataset holds with the patched
columns overlaid (struct columns field by field) -- and only when a value really differs; the result
is an ordinary upsert, so latest-state and history datasets take it alike (a history dataset gets a
new version). Keys the run itself upserts or deletes are left alone (the run's own row is fresher);
keys the dataset does not hold are ignored (a patch never inserts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from headwater.lake.direct import _outside
from headwater.lake.evolution import delta_schema
from headwater.lake.history import HISTORY_COLUMNS, IS_CURRENT, digests, is_history_schema


def read_patches(files: list[Path], key: str, exclude: pa.Array) -> pa.Table | None:
    """The staged patches, the last one per key, without the keys in ``exclude``."""
    if not files:
        return None
    tables = [pq.read_table(path) for path in files]
    patches = pa.concat_tables(tables, promote_options="permissive")
    if len(exclude):
        patches = patches.filter(pc.invert(pc.is_in(patches.column(key), value_set=exclude)))
    if patches.num_rows == 0:
        return None
    # last one wins: reverse, keep each key's first occurrence
    reversed_rows = patches.take(pa.array(range(patches.num_rows - 1, -1, -1)))
    keys = reversed_rows.column(key).combine_chunks()
    first = pc.equal(pc.index_in(keys, value_set=keys), pa.array(range(len(keys)), pa.int32()))
    return reversed_rows.filter(first).combine_chunks()


def overlay(old: pa.Array, new: pa.Array) -> pa.Array:
    """``old`` with ``new``'s values; a struct takes ``new``'s sub-fields and keeps its others."""
    if pa.types.is_struct(old.type) and pa.types.is_struct(new.type):
        names = [old.type.field(i).name for i in range(old.type.num_fields)]
        children = []
        for index, name in enumerate(names):
            child = old.field(index)
            position = new.type.get_field_index(name)
            children.append(overlay(child, new.field(position)) if position >= 0 else child)
        return pa.StructArray.from_arrays(children, fields=list(old.type), mask=pc.is_null(old))
    return new.cast(old.type) if new.type != old.type else new


def patched_rows(table: DeltaTable, folder: Path, key: str, patches: pa.Table) -> Iterator[pa.RecordBatch]:
    """Rows of ``table`` (current versions of a history table, without its own columns) that the patches
    change, with the patched values: ready to be staged as upserts."""
    schema = delta_schema(table)
    history = is_history_schema(schema)
    patch_keys = patches.column(key).combine_chunks()
    columns = [name for name in patches.column_names if name != key and name in schema.names]
    if not columns:
        return
    actions = pa.table(table.get_add_actions(flatten=True))
    low, high = f"min.{key}", f"max.{key}"
    has_range = low in actions.column_names and high in actions.column_names
    for index in range(actions.num_rows):
        if has_range:
            file_low, file_high = actions.column(low)[index], actions.column(high)[index]
            if file_low.is_valid and file_high.is_valid and _outside(patch_keys, file_low, file_high):
                continue
        path = folder / unquote(actions.column("path")[index].as_py())
        part = pq.ParquetFile(path)
        for group in range(part.num_row_groups):
            rows = part.read_row_group(group).combine_chunks()
            wanted = pc.is_in(rows.column(key), value_set=patch_keys)
            if history:
                wanted = pc.and_(wanted, pc.fill_null(rows.column(IS_CURRENT), False))
            rows = rows.filter(wanted)
            if rows.num_rows == 0:
                continue
            batch = rows.to_batches()[0]
            position = pc.index_in(batch.column(key), value_set=patch_keys)
            new = patches.take(position)
            updated = batch
            for name in columns:
                at = batch.schema.get_field_index(name)
                merged = overlay(batch.column(at), new.column(name).combine_chunks())
                updated = updated.set_column(at, batch.schema.field(at), merged)
            changed = pc.not_equal(digests(batch, columns), digests(updated, columns))
            updated = updated.filter(changed)
            if updated.num_rows:
                keep = [n for n in updated.schema.names if n not in HISTORY_COLUMNS]
                yield updated.select(keep)
