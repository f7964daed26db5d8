"""The run writer: stage a run's upserts and deletes, then land them in ONE atomic Delta commit.

Before ``commit`` nothing is visible in the table; a run that dies (or calls ``abort``) leaves the table
exactly as it was, and its staging folder is garbage that :meth:`Lake.clean_staging` removes. The
commit is a merge on the primary key, so landing the same batches again changes nothing (idempotent
retries); into a table that does not exist yet the first load is a plain append.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, SchemaMismatchError

from headwater.core.errors import TerminalError, TransientError
from headwater.lake.direct import DirectLanding, DirectResult, first_load_schema, merge_schema
from headwater.lake.evolution import apply_casts, casts_for, conform, delta_schema, unify
from headwater.lake.history import HistoryLanding, data_schema, is_history_schema
from headwater.lake.patch import patched_rows, read_patches
from headwater.lake.reconcile import missing_keys, write_source_keys
from headwater.lake.staging import DELETED, SEQ, RunStage

if TYPE_CHECKING:
    from headwater.lake.dataset import Dataset

RUN_ID_KEY = "headwater.runId"
#: Delta data files of ~16 MiB. deltalake's writer (used when a run changes the table's columns)
#: buffers a whole file in memory, so this bounds its memory; our own writer (``files.py``) streams,
#: and smaller files let a merge rewrite less.
TARGET_FILE_SIZE = 16 * 2**20
SLICE_ROWS = 8192
TABLE_CONFIGURATION: dict[str, str | None] = {"delta.targetFileSize": str(TARGET_FILE_SIZE)}


@dataclass(frozen=True)
class CommitResult:
    """What one run's commit did (field names match ``runtime.ports.CommitResult`` plus detail)."""

    rows_written: int  # rows inserted + rows updated
    rows_deleted: int = 0
    bytes_written: int = 0
    version: int | None = None  # the table version the commit created; None if nothing to commit
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_staged: int = 0  # upserts and deletes the run handed in, before collapsing duplicates
    rows_patched: int = 0  # existing rows whose patched columns really changed (see ``RunWriter.patch``)


class RunWriter:
    """Used by exactly one run: ``write``/``delete`` any number of times, then ``commit`` or ``abort``."""

    def __init__(
        self,
        dataset: Dataset,
        stage_dir: Path,
        run_id: str,
        primary_key: str,
        target_file_size: int = TARGET_FILE_SIZE,
        history: bool = False,
    ) -> None:
        self.dataset = dataset
        self.run_id = run_id
        self.primary_key = primary_key
        self.target_file_size = target_file_size
        self.history = history
        self._stage = RunStage(stage_dir, primary_key, target_file_size)
        self._done = False
        self._marks: dict[str, str] = {}

    def write(self, batch: pa.RecordBatch) -> None:
        """Stage upserted rows (columns may be nested structs; the primary key is a top-level column)."""
        self._check_open()
        self._stage.add_upserts(batch)

    def delete(self, keys: Sequence[Any] | pa.Array) -> None:
        """Stage deletes by primary key; a key that is not in the table is a no-op."""
        self._check_open()
        array = keys if isinstance(keys, pa.Array) else pa.array(list(keys))
        self._stage.add_deletes(array)

    def patch(self, batch: pa.RecordBatch) -> None:
        """Stage new values for some columns (the batch's) of rows the dataset already holds, by primary
        key: rows the run does not otherwise write whose values differ are updated (a new version in a
        history dataset); unknown keys are ignored. Used to refresh formula columns."""
        self._check_open()
        self._stage.add_patch(batch)

    def reconcile(
        self, source_keys: Iterable[pa.Array], complete: Callable[[], bool] = lambda: True
    ) -> int | None:
        """Stage a delete for every live key of the dataset that ``source_keys`` (the source's full key
        list, streamed) lacks; return how many, or None when ``complete()`` says the list ended early
        (then nothing is staged: a missing key would read as a delete)."""
        self._check_open()
        listed = self._stage.directory / "source-keys.parquet"
        write_source_keys(source_keys, listed, self.primary_key)
        if not complete():
            return None
        table = self.dataset.table()
        if table is None:
            return 0
        count = 0
        already = self._stage.staged_delete_keys()  # deleted by the run's own read: not counted twice
        for keys in missing_keys(table, self.primary_key, listed, self._stage.directory / "spill"):
            if already is not None:
                keys = keys.filter(pc.invert(pc.is_in(keys, value_set=already.cast(keys.type))))
            if len(keys):
                self.delete(keys)
                count += len(keys)
        listed.unlink(missing_ok=True)
        return count

    def mark(self, key: str, value: str) -> None:
        """Record ``key = value`` in this run's commit metadata (``Dataset.last_mark`` reads it back);
        the commit happens even when nothing else changes."""
        self._check_open()
        self._marks[key] = value

    def abort(self) -> None:
        """Drop what was staged; the table is untouched."""
        self._done = True
        self._stage.discard()

    def commit(self, primary_key: str | None = None) -> CommitResult:
        """Land everything staged as one Delta commit and remove the staging folder."""
        self._check_open()
        if primary_key is not None and primary_key != self.primary_key:
            raise TerminalError(f"the run staged by {self.primary_key!r}, not {primary_key!r}")
        self._stage.seal()
        try:
            patched = self._resolve_patches()
            result = self._commit_history() if self.history else self._commit()
            if result.version is None and self._marks:
                result = CommitResult(rows_written=0, version=self._empty_commit())
            return replace(result, rows_patched=patched)
        except DeltaError as exc:
            raise _translate(exc) from exc
        finally:
            self._done = True
            self._stage.discard()

    def _check_open(self) -> None:
        if self._done:
            raise TerminalError("this run writer is already committed or aborted")

    def _properties(self) -> CommitProperties:
        return CommitProperties(custom_metadata={RUN_ID_KEY: self.run_id, **self._marks})

    def _resolve_patches(self) -> int:
        """Turn staged patches into upserts of the rows they change (before the landing reads the stage)."""
        files = self._stage.patch_files()
        table = self.dataset.table() if files else None
        folder = self.dataset.local_path()
        if table is None or not files:
            return 0
        if folder is None:
            raise TerminalError("column patches (formula refresh) need a local lake root")
        run_keys = (
            self._stage.final_ops().column(self.primary_key).combine_chunks()
            if (self._stage.rows_staged or self._stage.deletes_staged)
            else pa.array([], pa.string())
        )
        patches = read_patches(files, self.primary_key, run_keys)
        if patches is None:
            return 0
        count = 0
        for rows in patched_rows(table, folder, self.primary_key, patches):
            self._stage.add_upserts(rows)
            count += rows.num_rows
        self._stage.seal()
        return count

    def _empty_commit(self) -> int | None:
        """A commit that changes no row and carries the run's marks (e.g. "reconciled at")."""
        table = self.dataset.table()
        if table is None:
            return None
        table.create_write_transaction(
            [], "append", delta_schema(table), commit_properties=self._properties()
        )
        return self._version()

    def _commit_history(self) -> CommitResult:
        files = self._stage.upsert_files()
        deletes = self._stage.delete_file()
        if not files and deletes is None:
            return CommitResult(rows_written=0)
        folder = self.dataset.local_path()
        if folder is None:
            raise TerminalError("history mode needs a local lake root")
        table = self.dataset.table()
        if files:
            run_schema = unify([pq.read_schema(path) for path in files])
        else:
            run_schema = pq.read_schema(deletes)  # type: ignore[arg-type]
            run_schema = run_schema.remove(run_schema.get_field_index(SEQ))
        if table is None and not files:
            return CommitResult(rows_written=0)
        casts = casts_for(data_schema(delta_schema(table)), run_schema) if table is not None else {}
        landing = HistoryLanding(self._stage, folder, run_schema, casts, self.target_file_size)
        if table is None:
            options = self.dataset.storage_options
            result = landing.first_load(self.dataset.uri, TABLE_CONFIGURATION, self._properties(), options)
        else:
            before = table.version()
            result = landing.merge(table, self._properties())
            if self._version() == before:
                return CommitResult(rows_written=0, rows_staged=self._stage.rows_staged)
        return CommitResult(
            rows_written=result.inserted + result.updated,
            rows_deleted=result.deleted,
            bytes_written=result.bytes_written,
            version=self._version(),
            rows_inserted=result.inserted,
            rows_updated=result.updated,
            rows_staged=self._stage.rows_staged + self._stage.deletes_staged,
        )

    def _commit(self) -> CommitResult:
        staged = self._stage.rows_staged + self._stage.deletes_staged
        files = self._stage.upsert_files()
        deletes = self._stage.delete_file()
        if not files and deletes is None:
            return CommitResult(rows_written=0, rows_staged=0)
        table = self.dataset.table()
        if table is not None and is_history_schema(delta_schema(table)):
            raise TerminalError(
                f"dataset {self.dataset.id} keeps history (type 2); open its writer with history=True"
            )
        if files:
            run_schema = unify([pq.read_schema(path) for path in files])
        else:
            run_schema = pq.read_schema(deletes)  # type: ignore[arg-type]
            run_schema = run_schema.remove(run_schema.get_field_index(SEQ))
        casts = casts_for(delta_schema(table), run_schema) if table is not None else {}
        source_schema = pa.schema([*run_schema, pa.field(DELETED, pa.bool_())])
        properties = self._properties()
        direct = self._land_direct(table, run_schema, casts, properties)
        if direct is not None:
            return CommitResult(
                rows_written=direct.inserted + direct.updated,
                rows_deleted=direct.deleted,
                bytes_written=direct.bytes_written,
                version=self._version(),
                rows_inserted=direct.inserted,
                rows_updated=direct.updated,
                rows_staged=staged,
            )
        winners = self._stage.winners()
        before = self.dataset.file_sizes(table)
        if table is None or not before:
            rows = self._append(table, source_schema, winners, casts, properties)
            metrics = {"num_target_rows_inserted": rows}
        else:
            metrics = self._merge(table, source_schema, winners, casts, properties)
        after_table = self.dataset.table()
        assert after_table is not None
        after = self.dataset.file_sizes(after_table)
        inserted = int(metrics.get("num_target_rows_inserted", 0))
        updated = int(metrics.get("num_target_rows_updated", 0))
        return CommitResult(
            rows_written=inserted + updated,
            rows_deleted=int(metrics.get("num_target_rows_deleted", 0)),
            bytes_written=sum(size for path, size in after.items() if path not in before),
            version=after_table.version(),
            rows_inserted=inserted,
            rows_updated=updated,
            rows_staged=staged,
        )

    def _land_direct(
        self,
        table: DeltaTable | None,
        run_schema: pa.Schema,
        casts: dict[str, pa.DataType],
        properties: CommitProperties,
    ) -> DirectResult | None:
        """Land with our own data files and one add/remove transaction (flat memory), when the run's
        shape allows it on a local table; None means "use deltalake's writer/merge"."""
        folder = self.dataset.local_path()
        if folder is None:
            return None
        landing = DirectLanding(self._stage, folder, run_schema, casts, self.target_file_size)
        if table is None:
            schema = first_load_schema(run_schema)
            if schema is None:
                return None
            options = self.dataset.storage_options
            return landing.first_load(self.dataset.uri, schema, TABLE_CONFIGURATION, properties, options)
        merged = merge_schema(delta_schema(table), run_schema, casts)
        if merged is None:
            return None
        return landing.merge(table, merged, properties)

    def _version(self) -> int:
        table = self.dataset.table()
        assert table is not None
        return table.version()

    def _source(
        self, schema: pa.Schema, winners: pa.Array | None, casts: dict[str, pa.DataType]
    ) -> Iterator[pa.RecordBatch]:
        for path in self._stage.upsert_files():
            for batch in _slices(self._stage.iter_upserts(path, winners)):
                rows = batch.append_column(DELETED, pa.repeat(False, batch.num_rows))
                yield apply_casts(conform(rows, schema), casts)
        for keys in self._stage.iter_deletes(winners):
            deleted = pa.RecordBatch.from_arrays(
                [keys, pa.repeat(True, len(keys))], names=[self.primary_key, DELETED]
            )
            yield apply_casts(conform(deleted, schema), casts)

    def _append(
        self,
        table: DeltaTable | None,
        schema: pa.Schema,
        winners: pa.Array | None,
        casts: dict[str, pa.DataType],
        properties: CommitProperties,
    ) -> int:
        data_schema = schema.remove(schema.get_field_index(DELETED))
        count = 0

        def upserts() -> Iterator[pa.RecordBatch]:
            nonlocal count
            for batch in self._source(schema, winners, casts):
                kept = batch.filter(pa.compute.invert(batch.column(DELETED))).drop_columns([DELETED])
                count += kept.num_rows
                yield kept

        reader = pa.RecordBatchReader.from_batches(data_schema, upserts())
        write_deltalake(
            table if table is not None else self.dataset.uri,
            reader,
            mode="append",
            schema_mode="merge",
            configuration=TABLE_CONFIGURATION if table is None else None,
            target_file_size=self.target_file_size,
            storage_options=self.dataset.storage_options,
            commit_properties=properties,
        )
        return count

    def _merge(
        self,
        table: DeltaTable,
        schema: pa.Schema,
        winners: pa.Array | None,
        casts: dict[str, pa.DataType],
        properties: CommitProperties,
    ) -> dict[str, Any]:
        casted = pa.schema([f.with_type(casts.get(f.name, f.type)) for f in schema])
        reader = pa.RecordBatchReader.from_batches(casted, self._source(schema, winners, casts))
        key = "`" + self.primary_key.replace("`", "``") + "`"
        merger = table.merge(
            reader,
            predicate=f"t.{key} = s.{key}",
            source_alias="s",
            target_alias="t",
            merge_schema=True,
            commit_properties=properties,
        )
        live = f"NOT s.{DELETED}"
        return (
            merger.when_matched_delete(predicate=f"s.{DELETED}")
            .when_matched_update_all(predicate=live, except_cols=[DELETED])
            .when_not_matched_insert_all(predicate=live, except_cols=[DELETED])
            .execute()
        )


def _slices(batches: Iterator[pa.RecordBatch], rows: int = SLICE_ROWS) -> Iterator[pa.RecordBatch]:
    """Hand Delta small batches: each copy made on the way (filter, casts) stays small."""
    for batch in batches:
        for offset in range(0, batch.num_rows, rows):
            yield batch.slice(offset, rows)


def _translate(exc: DeltaError) -> Exception:
    """deltalake's exception types decide: a commit that lost a race is worth retrying, a schema that
    does not fit or any other refusal is not."""
    if isinstance(exc, CommitFailedError):
        return TransientError(f"the dataset changed during the commit, retry the run: {exc}")
    if isinstance(exc, SchemaMismatchError):
        return TerminalError(f"the run's columns do not fit the dataset: {exc}")
    return TerminalError(f"Delta Lake refused the commit: {exc}")
