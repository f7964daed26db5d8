"""History mode (type 2): every change of a record adds a version; nothing is overwritten.

A history dataset holds the run's columns plus four of its own:

* ``_valid_from`` -- when this version became the record's state (the commit that landed it, UTC);
* ``_valid_to`` -- when the next version (or the delete) replaced it; null while it is current;
* ``_is_current`` -- true for the one live version of a key (false for every version of a deleted key);
* ``_deleted`` -- true on the version a delete closed (a source delete or a reconciled hard delete).

The state of any past moment ``T`` is ``WHERE _valid_from <= T AND (_valid_to IS NULL OR _valid_to > T)``.

A commit (one per run, like the latest-state mode) works file by file, as ``direct.py`` does: table
files whose primary-key range may hold a run key are read; the current versions of the run's keys are
closed (``_valid_to`` = the commit's time) in rewritten copies of those files -- unless the run's row
equals the current version, compared by a digest of all data columns (DuckDB's ``hash``), so a record
read again (look-back, a retried run) adds no version; then the new versions are added, and one
transaction swaps the files. Landing the same run twice leaves the same versions (idempotent).

History mode needs a local root and a run whose columns are the dataset's (after safe casts): a
history dataset does not evolve its schema (a known limit, docs/history-mode.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema
from deltalake.transaction import RemoveAction, create_table_with_add_actions

from headwater.core.errors import TerminalError
from headwater.lake.direct import _outside, merge_schema
from headwater.lake.evolution import apply_casts, conform, delta_schema
from headwater.lake.files import DataFileWriter, delta_arrow_schema
from headwater.lake.staging import DELETED, SEQ, RunStage

VALID_FROM = "_valid_from"
VALID_TO = "_valid_to"
IS_CURRENT = "_is_current"
DELETED_FLAG = "_deleted"
HISTORY_COLUMNS = (VALID_FROM, VALID_TO, IS_CURRENT, DELETED_FLAG)
MOMENT = pa.timestamp("us", tz="UTC")


def history_fields() -> list[pa.Field]:
    return [
        pa.field(VALID_FROM, MOMENT),
        pa.field(VALID_TO, MOMENT),
        pa.field(IS_CURRENT, pa.bool_()),
        pa.field(DELETED_FLAG, pa.bool_()),
    ]


def data_schema(table_schema: pa.Schema) -> pa.Schema:
    """A history table's schema without its own columns: what a run writes."""
    return pa.schema([f for f in table_schema if f.name not in HISTORY_COLUMNS])


def is_history_schema(schema: pa.Schema) -> bool:
    return all(name in schema.names for name in HISTORY_COLUMNS)


def digests(batch: pa.RecordBatch, columns: list[str]) -> pa.Array:
    """One 64-bit digest per row over ``columns`` (any types, nulls included), computed by DuckDB."""
    if batch.num_rows == 0:
        return pa.array([], pa.uint64())
    view = pa.Table.from_batches([batch.select(columns)])
    names = ", ".join('"' + name.replace('"', '""') + '"' for name in columns)
    with duckdb.connect() as con:
        con.register("rows_in", view)
        relation = con.sql(f"SELECT hash({names}) AS digest FROM rows_in")
        assert relation is not None
        result = relation.to_arrow_table()
    return result.column("digest").combine_chunks()


@dataclass(frozen=True)
class HistoryResult:
    inserted: int  # new keys
    updated: int  # current versions replaced by a changed row
    deleted: int  # current versions closed by a delete
    unchanged: int  # run rows equal to the current version (no new version)
    bytes_written: int


class HistoryLanding:
    """One run's commit into the local history table at ``folder``."""

    def __init__(
        self,
        stage: RunStage,
        folder: Path,
        run_schema: pa.Schema,
        casts: dict[str, pa.DataType],
        target_size: int,
        now: datetime | None = None,
    ) -> None:
        self.stage = stage
        self.folder = folder
        self.run_schema = run_schema
        self.casts = casts
        self.target_size = target_size
        self.key = stage.primary_key
        moment = now or datetime.now(UTC)
        self.now = pa.scalar(moment.astimezone(UTC), MOMENT)

    # --- first load ----------------------------------------------------------------------------------

    def first_load(
        self,
        uri: str,
        configuration: dict[str, str | None],
        properties: CommitProperties,
        storage_options: dict[str, str] | None,
    ) -> HistoryResult:
        data = delta_arrow_schema(self.run_schema)
        schema = pa.schema([*data, *history_fields()])
        files = DataFileWriter(self.folder, schema, self.target_size)
        try:
            ops = self.stage.final_ops()
            inserted = 0
            for batch in self._winning_rows(data, self._winners(ops)):
                files.write(self._new_versions(batch, schema))
                inserted += batch.num_rows
            adds = files.close()
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
            files.discard()
            raise
        return HistoryResult(inserted, 0, 0, 0, sum(a.size for a in adds))

    # --- later runs ----------------------------------------------------------------------------------

    def merge(self, table: DeltaTable, properties: CommitProperties) -> HistoryResult:
        table_schema = delta_schema(table)
        if not is_history_schema(table_schema):
            raise TerminalError(
                f"dataset {self.folder.name} is not a history dataset; it cannot take history runs"
            )
        data = data_schema(table_schema)
        has_rows = bool(self.stage.upsert_files())  # a run of deletes only has the key column alone
        if has_rows and merge_schema(data, self.run_schema, self.casts) is None:
            raise TerminalError(
                "a history dataset keeps its columns: this run's columns "
                f"{sorted(self.run_schema.names)} differ from the dataset's {sorted(data.names)}"
            )
        ops = self.stage.final_ops()
        winners = self._winners(ops)
        deleted_flag = ops.column(DELETED)
        delete_keys = ops.filter(deleted_flag).column(self.key).combine_chunks()
        run_keys = ops.column(self.key).combine_chunks()
        new_keys, new_digests = self._run_digests(data, winners)
        files = DataFileWriter(self.folder, table_schema, self.target_size)
        removes: list[RemoveAction] = []
        unchanged: list[pa.Array] = []
        updated = deleted = 0
        try:
            for path, logged_path, size in self._touched_files(table, run_keys):
                rewritten, closed_upd, closed_del, same = self._close_versions(
                    path, data, run_keys, delete_keys, new_keys, new_digests
                )
                unchanged.append(same)
                if rewritten is None:
                    continue
                updated += closed_upd
                deleted += closed_del
                for batch in rewritten:
                    files.write(batch)
                removes.append(RemoveAction(logged_path, True, int(time.time() * 1000), size, {}))
            keep_out = pa.concat_arrays([_array(a) for a in unchanged]) if unchanged else new_keys.slice(0, 0)
            inserted_versions = 0
            for batch in self._winning_rows(data, winners):
                if len(keep_out):
                    batch = batch.filter(pc.invert(pc.is_in(batch.column(self.key), value_set=keep_out)))
                files.write(self._new_versions(batch, table_schema))
                inserted_versions += batch.num_rows
            adds = files.close()
            if adds or removes:
                table.create_write_transaction(
                    [*adds, *removes], "append", table_schema, commit_properties=properties
                )
        except BaseException:
            files.discard()
            raise
        return HistoryResult(
            inserted_versions - updated, updated, deleted, len(keep_out), sum(a.size for a in adds)
        )

    # --- helpers -------------------------------------------------------------------------------------

    def _winners(self, ops: pa.Table) -> pa.Array | None:
        if ops.num_rows == self.stage.rows_staged + self.stage.deletes_staged:
            return None
        return ops.column(SEQ).combine_chunks()

    def _winning_rows(self, data: pa.Schema, winners: pa.Array | None) -> Iterator[pa.RecordBatch]:
        """The run's winning upserts in the dataset's data types and column order."""
        for part in self.stage.upsert_files():
            for batch in self.stage.iter_upserts(part, winners):
                rows = apply_casts(conform(batch, self.run_schema), self.casts)
                yield conform(rows, data)

    def _run_digests(self, data: pa.Schema, winners: pa.Array | None) -> tuple[pa.Array, pa.Array]:
        keys: list[pa.Array] = []
        values: list[pa.Array] = []
        for batch in self._winning_rows(data, winners):
            keys.append(batch.column(self.key))
            values.append(digests(batch, data.names))
        if not keys:
            return pa.array([], data.field(self.key).type), pa.array([], pa.uint64())
        return pa.concat_arrays(keys), pa.concat_arrays(values)

    def _new_versions(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        n = batch.num_rows
        columns = [
            *batch.columns,
            pa.repeat(self.now, n),
            pa.nulls(n, MOMENT),
            pa.repeat(pa.scalar(True), n),
            pa.repeat(pa.scalar(False), n),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=schema)

    def _close_versions(
        self,
        path: Path,
        data: pa.Schema,
        run_keys: pa.Array,
        delete_keys: pa.Array,
        new_keys: pa.Array,
        new_digests: pa.Array,
    ) -> tuple[list[pa.RecordBatch] | None, int, int, pa.Array]:
        """Close the current versions of run keys in one table file.

        Returns the file's rows with those versions closed (None when nothing in the file changes), the
        number closed by an update and by a delete, and the keys whose run row equals the current version.
        """
        table = pq.read_table(path)
        current = pc.and_(
            pc.fill_null(table.column(IS_CURRENT), False),
            pc.is_in(table.column(self.key), value_set=run_keys),
        )
        empty = pa.array([], table.schema.field(self.key).type)
        if not pc.any(current).as_py():
            return None, 0, 0, empty
        batch = table.combine_chunks().to_batches()[0]
        keys = batch.column(self.key)
        position = pc.index_in(keys, value_set=new_keys)
        has_new = pc.and_(current, pc.is_valid(position))
        old_digest = digests(batch, data.names)
        new_digest = pc.take(new_digests, pc.fill_null(position, 0)) if len(new_keys) else old_digest
        same = pc.and_(has_new, pc.fill_null(pc.equal(old_digest, new_digest), False))
        is_deleted = pc.and_(current, pc.is_in(keys, value_set=delete_keys))
        close = pc.and_(current, pc.invert(same))
        if not pc.any(close).as_py():
            return None, 0, 0, pc.filter(keys, same)
        index = batch.schema.get_field_index
        valid_to = pc.if_else(close, pa.repeat(self.now, batch.num_rows), batch.column(index(VALID_TO)))
        is_current = pc.if_else(close, False, batch.column(index(IS_CURRENT)))
        deleted = pc.if_else(is_deleted, True, batch.column(index(DELETED_FLAG)))
        batch = batch.set_column(index(VALID_TO), VALID_TO, valid_to)
        batch = batch.set_column(index(IS_CURRENT), IS_CURRENT, is_current)
        batch = batch.set_column(index(DELETED_FLAG), DELETED_FLAG, deleted)
        closed_deletes = pc.sum(pc.and_(close, is_deleted)).as_py() or 0
        closed_updates = (pc.sum(close).as_py() or 0) - closed_deletes
        return [batch], closed_updates, closed_deletes, pc.filter(keys, same)

    def _touched_files(self, table: DeltaTable, run_keys: pa.Array) -> Iterator[tuple[Path, str, int]]:
        if len(run_keys) == 0:
            return
        actions = pa.table(table.get_add_actions(flatten=True))
        low, high = f"min.{self.key}", f"max.{self.key}"
        has_range = low in actions.column_names and high in actions.column_names
        for index in range(actions.num_rows):
            logged_path = actions.column("path")[index].as_py()
            size = int(actions.column("size_bytes")[index].as_py())
            if has_range:
                file_low, file_high = actions.column(low)[index], actions.column(high)[index]
                if file_low.is_valid and file_high.is_valid and _outside(run_keys, file_low, file_high):
                    continue
            yield self.folder / unquote(logged_path), logged_path, size


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


__all__ = [
    "DELETED_FLAG",
    "HISTORY_COLUMNS",
    "IS_CURRENT",
    "VALID_FROM",
    "VALID_TO",
    "HistoryLanding",
    "HistoryResult",
    "data_schema",
    "digests",
    "history_fields",
    "is_history_schema",
]
