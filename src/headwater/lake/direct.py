"""Landing a staged run with files we write ourselves, committed as ONE Delta transaction.

* The run's winning upserts become data files: a staged part that is already in the table's types
  and holds no overridden row is moved into the table folder as it is (staging writes Delta-ready
  files, so a typical run encodes its rows once); any other part is rewritten.
* First load (no table yet): ``create_table_with_add_actions`` creates the table with all of them in
  version 0.
* Later runs: the merge on the primary key is done file by file. A table file can hold a key of the
  run only if the key falls in the file's ``[min, max]`` primary-key statistics; such a file's key
  column is read, and only if it really holds a run key is the file rewritten without those rows.
  One ``create_write_transaction`` then adds the new files and removes the rewritten ones: readers
  see the old version or the new one, never a mix.

Memory is one batch (or one row group of a rewritten file) plus the run's key set, whatever the row
count. The path is taken when the run's columns are exactly the table's (after safe casts); a run
that adds columns, drops columns or changes a struct goes through deltalake's merge, which evolves the
schema (a write transaction cannot change it) and keeps unchanged columns of updated rows.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from headwater.lake.evolution import apply_casts, conform
from headwater.lake.files import DataFileWriter, add_action, delta_arrow_schema
from headwater.lake.staging import DELETED, SEQ, RunStage


@dataclass(frozen=True)
class DirectResult:
    inserted: int
    updated: int
    deleted: int
    bytes_written: int


def first_load_schema(run_schema: pa.Schema) -> pa.Schema | None:
    """The table schema for a first load, or None when Delta cannot hold the run's types as they are."""
    schema = delta_arrow_schema(run_schema)
    if any(pa.types.is_null(field.type) for field in schema):
        return None  # deltalake's writer decides what an all-null column becomes
    try:
        Schema.from_arrow(schema)  # type: ignore[arg-type]
    except Exception:  # deltalake raises a bare Exception for types Delta lacks
        return None
    return schema


def merge_schema(
    table_schema: pa.Schema, run_schema: pa.Schema, casts: dict[str, pa.DataType]
) -> pa.Schema | None:
    """The table's schema when the run's columns are exactly its columns (after casts), else None."""
    if sorted(table_schema.names) != sorted(run_schema.names):
        return None
    for field in run_schema:
        if not casts.get(field.name, field.type).equals(table_schema.field(field.name).type):
            return None
    return table_schema


class DirectLanding:
    """One run's landing into the local Delta table at ``folder``."""

    def __init__(
        self,
        stage: RunStage,
        folder: Path,
        run_schema: pa.Schema,
        casts: dict[str, pa.DataType],
        target_size: int,
    ) -> None:
        self.stage = stage
        self.folder = folder
        self.run_schema = run_schema
        self.casts = casts
        self.target_size = target_size
        self.key = stage.primary_key
        self.adopted: list[Path] = []  # staged parts moved into the table folder
        self.adopted_rows = 0

    def first_load(
        self,
        uri: str,
        schema: pa.Schema,
        configuration: dict[str, str | None],
        properties: CommitProperties,
        storage_options: dict[str, str] | None,
    ) -> DirectResult:
        ops = self.stage.final_ops()
        pa.default_memory_pool().release_unused()  # the sort's scratch space, before the big phase
        files = DataFileWriter(self.folder, schema, self.target_size)
        try:
            adds = self._land_upserts(schema, self._winners(ops), files)
            create_table_with_add_actions(
                uri,
                Schema.from_arrow(schema),  # type: ignore[arg-type]
                adds,
                mode="error",
                configuration=configuration,
                storage_options=storage_options,
                commit_properties=properties,
            )
        except BaseException:
            self._discard(files)
            raise
        rows = files.rows + self.adopted_rows
        return DirectResult(rows, 0, 0, sum(add.size for add in adds))

    def merge(self, table: DeltaTable, schema: pa.Schema, properties: CommitProperties) -> DirectResult:
        ops = self.stage.final_ops()
        pa.default_memory_pool().release_unused()  # the sort's scratch space, before the big phase
        key_type = self.casts.get(self.key)
        if key_type is not None:  # compare keys in the table's type
            index = ops.schema.get_field_index(self.key)
            ops = ops.set_column(index, self.key, ops.column(self.key).cast(key_type))
        deleted_flag = ops.column(DELETED)
        upsert_keys = ops.filter(pc.invert(deleted_flag)).column(self.key).combine_chunks()
        delete_keys = ops.filter(deleted_flag).column(self.key).combine_chunks()
        run_keys = ops.column(self.key).combine_chunks()
        files = DataFileWriter(self.folder, schema, self.target_size)
        removes: list[RemoveAction] = []
        updated = deleted = 0
        try:
            for path, logged_path, size in self._touched_files(table, run_keys):
                ids = pq.read_table(path, columns=[self.key]).column(self.key)
                if not pc.any(pc.is_in(ids, value_set=run_keys)).as_py():
                    continue
                updated += pc.sum(pc.is_in(ids, value_set=upsert_keys)).as_py() or 0
                deleted += pc.sum(pc.is_in(ids, value_set=delete_keys)).as_py() or 0
                for batch in _row_groups(path):
                    kept = batch.filter(pc.invert(pc.is_in(batch.column(self.key), value_set=run_keys)))
                    files.write(conform(kept, schema))
                now = int(time.time() * 1000)
                removes.append(RemoveAction(logged_path, True, now, size, {}))
            adds = self._land_upserts(schema, self._winners(ops), files)
            table.create_write_transaction([*adds, *removes], "append", schema, commit_properties=properties)
        except BaseException:
            self._discard(files)
            raise
        inserted = len(upsert_keys) - updated
        return DirectResult(inserted, updated, deleted, sum(add.size for add in adds))

    # --- helpers -------------------------------------------------------------------------------------

    def _winners(self, ops: pa.Table) -> pa.Array | None:
        if ops.num_rows == self.stage.rows_staged + self.stage.deletes_staged:
            return None  # every key occurs once: nothing to filter
        return ops.column(SEQ).combine_chunks()

    def _land_upserts(
        self, schema: pa.Schema, winners: pa.Array | None, files: DataFileWriter
    ) -> list[AddAction]:
        """The run's winning rows as data files: a staged part already in the table's types and free of
        overridden rows is moved into the table as it is (no second encode); others are rewritten."""
        adopted: list[AddAction] = []
        for part in self.stage.upsert_files():
            part_schema = pq.read_schema(part)
            if _fits(part_schema, schema) and not self.stage.part_has_losers(part, winners):
                adopted.append(self._adopt(part, part_schema))
                continue
            for batch in self.stage.iter_upserts(part, winners):
                rows = apply_casts(conform(batch, self.run_schema), self.casts)
                files.write(conform(rows, schema))
        return [*adopted, *files.close()]

    def _adopt(self, part: Path, part_schema: pa.Schema) -> AddAction:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"part-{len(self.adopted):05d}-{uuid.uuid4().hex}-c000.zstd.parquet"
        shutil.move(part, target)
        self.adopted.append(target)
        meta = pq.read_metadata(target)
        self.adopted_rows += meta.num_rows
        return add_action(target, meta, part_schema)

    def _discard(self, files: DataFileWriter) -> None:
        """Remove the data files of a commit that did not happen (never named by the log)."""
        files.discard()
        for path in self.adopted:
            path.unlink(missing_ok=True)

    def _touched_files(self, table: DeltaTable, run_keys: pa.Array) -> Iterator[tuple[Path, str, int]]:
        """Table files whose primary-key range may hold one of the run's keys."""
        if len(run_keys) == 0:
            return
        actions = pa.table(table.get_add_actions(flatten=True))
        low, high = f"min.{self.key}", f"max.{self.key}"
        has_range = low in actions.column_names and high in actions.column_names
        for index in range(actions.num_rows):
            logged_path = actions.column("path")[index].as_py()
            path = self.folder / unquote(logged_path)
            size = int(actions.column("size_bytes")[index].as_py())
            if has_range:
                file_low, file_high = actions.column(low)[index], actions.column(high)[index]
                known = file_low.is_valid and file_high.is_valid
                if known and _outside(run_keys, file_low, file_high):
                    continue  # no run key can be in this file
            yield path, logged_path, size


def _outside(keys: pa.Array, low: pa.Scalar, high: pa.Scalar) -> bool:
    """True when no key lies in a file's ``[low, high]`` statistics. Other writers may truncate text
    statistics to a prefix (a smaller max), so a key that starts with ``high`` counts as inside."""
    above_low = pc.greater_equal(keys, low.cast(keys.type))
    below_high = pc.less_equal(keys, high.cast(keys.type))
    if pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type):
        below_high = pc.or_(below_high, pc.starts_with(keys, pattern=str(high.as_py())))
    return not pc.any(pc.and_(above_low, below_high)).as_py()


def _fits(part: pa.Schema, table: pa.Schema) -> bool:
    """A part can be a data file of ``table`` as it is: every column exists there with the same type."""
    return all(
        name in table.names and part.field(name).type.equals(table.field(name).type) for name in part.names
    )


def _row_groups(path: Path) -> Iterator[pa.RecordBatch]:
    part = pq.ParquetFile(path)
    for index in range(part.num_row_groups):
        table = part.read_row_group(index, use_threads=False)
        yield from table.combine_chunks().to_batches()
