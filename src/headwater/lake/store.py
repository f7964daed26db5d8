"""Lake -> Dataset -> RunWriter: stage a run's batches as Parquet, commit them once via Delta merge.

Invariants (see README.md): the Delta table changes only in `RunWriter.commit`, in one Delta
commit; staged files live outside the table folder, so a killed run leaves the table untouched;
merge on the primary key makes a retried run land exactly once.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from headwater.core.errors import TerminalError

SEQ = "_hw_seq"
DELETED = "_hw_deleted"
STAGING = "_staging"


@dataclass(frozen=True)
class CommitResult:
    version: int | None
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    rows_written: int
    bytes_staged: int


class Lake:
    """A lake root: a local folder or an object-store URI (s3://...) with storage options.

    Staging always happens on a local folder (`staging_root`, default `<root>/_staging` for a local
    root); only the final commit talks to the store.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        storage_options: dict[str, str] | None = None,
        staging_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = str(root).rstrip("/")
        self.storage_options = storage_options
        if staging_root is None:
            if "://" in self.root:
                raise TerminalError("a remote lake root needs a local staging_root")
            staging_root = Path(self.root) / STAGING
        self.staging_root = Path(staging_root)

    def dataset(self, org: str, sandbox: str, dataset_id: str) -> Dataset:
        for part in (org, sandbox, dataset_id):
            if not part or "/" in part or part.startswith(".") or part == STAGING:
                raise TerminalError(f"bad lake path segment {part!r}")
        return Dataset(self, org, sandbox, dataset_id)

    def clean_staging(self, older_than_seconds: float = 3600.0) -> int:
        """Remove staging folders of runs that never committed; committed data is never under here."""
        if not self.staging_root.exists():
            return 0
        removed, cutoff = 0, time.time() - older_than_seconds
        for run_dir in self.staging_root.glob("*/*/*/*"):
            if run_dir.is_dir() and run_dir.stat().st_mtime < cutoff:
                shutil.rmtree(run_dir, ignore_errors=True)
                removed += 1
        return removed


class Dataset:
    def __init__(self, lake: Lake, org: str, sandbox: str, dataset_id: str) -> None:
        self.lake, self.org, self.sandbox, self.id = lake, org, sandbox, dataset_id
        self.uri = f"{lake.root}/{org}/{sandbox}/{dataset_id}"

    def table(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.uri, storage_options=self.lake.storage_options)
        except TableNotFoundError:
            return None

    def run_writer(self, run_id: str | None = None) -> RunWriter:
        run_id = run_id or uuid.uuid4().hex
        folder = self.lake.staging_root / self.org / self.sandbox / self.id / run_id
        return RunWriter(self, folder)

    def to_arrow(self, limit: int | None = None) -> pa.Table:
        table = self.table()
        if table is None:
            return pa.table({})
        data = table.to_pyarrow_dataset()
        return data.head(limit) if limit is not None else data.to_table()

    def describe(self) -> dict[str, Any]:
        """Catalog metadata: version, row count, size in bytes, columns with types, history."""
        table = self.table()
        if table is None:
            return {"version": None, "rows": 0, "bytes": 0, "columns": [], "history": []}
        adds = pa.table(table.get_add_actions(flatten=True))
        schema = table.to_pyarrow_dataset().schema
        return {
            "version": table.version(),
            "rows": int(pc.sum(adds.column("num_records")).as_py() or 0),
            "bytes": int(pc.sum(adds.column("size_bytes")).as_py() or 0),
            "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
            "history": table.history(),
        }


class RunWriter:
    """Collects one run's upserts and deletes on local disk; `commit` applies them atomically.

    "Last one wins" for a key repeated within a run means the last `write`/`delete` call in call
    order (and within a batch, the later row). Deletes are by top-level primary key value.
    """

    def __init__(self, dataset: Dataset, folder: Path) -> None:
        self.dataset = dataset
        self.folder = folder
        # A retry with the same run id restarts staging: earlier partial files are discarded.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self._seq = 0
        self._parts = 0

    def _stage(self, batch: pa.RecordBatch, deleted: bool) -> None:
        n = batch.num_rows
        if n == 0:
            return
        seq = pa.array(range(self._seq, self._seq + n), pa.int64())
        flag = pa.array([deleted] * n, pa.bool_())
        staged = batch.append_column(SEQ, seq).append_column(DELETED, flag)
        pq.write_table(pa.Table.from_batches([staged]), self.folder / f"part-{self._parts:06d}.parquet")
        self._seq += n
        self._parts += 1

    def write(self, batch: pa.RecordBatch) -> None:
        for name in (SEQ, DELETED):
            if name in batch.schema.names:
                raise TerminalError(f"column name {name!r} is reserved")
        self._stage(batch, deleted=False)

    def delete(self, keys: pa.Array, primary_key: str = "Id") -> None:
        self._stage(pa.RecordBatch.from_arrays([keys], names=[primary_key]), deleted=True)

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def commit(self, primary_key: str = "Id") -> CommitResult:
        staged_bytes = sum(p.stat().st_size for p in self.folder.glob("*.parquet"))
        if self._parts == 0:
            self.abort()
            return CommitResult(None, 0, 0, 0, 0, 0)
        con = duckdb.connect()
        con.execute("SET threads TO 2; SET memory_limit = '300MB'; SET preserve_insertion_order = false")
        con.execute(f"SET temp_directory = '{self.folder / 'spill'}'")
        try:
            result = self._apply(con, primary_key, staged_bytes)
        except DeltaError as exc:
            raise TerminalError(f"dataset {self.dataset.id}: commit rejected: {exc}") from exc
        finally:
            con.close()
        self.abort()
        return result

    def _collapsed(self, con: duckdb.DuckDBPyConnection, key: str) -> pa.RecordBatchReader:
        # The winner per key is found by DuckDB on the narrow (key, seq) projection only; the wide
        # rows then stream from the staged files through an Arrow scanner filtered on those seqs,
        # so memory holds one int64 per distinct key, never the run's rows.
        files = sorted(self.folder.glob("*.parquet"))
        pattern = str(self.folder / "*.parquet").replace("'", "''")
        quoted = '"' + key.replace('"', '""') + '"'
        sql = f"SELECT max({SEQ}) AS s FROM read_parquet('{pattern}', union_by_name = true) GROUP BY {quoted}"
        try:
            winners = con.sql(sql).to_arrow_table().column("s").combine_chunks()
        except duckdb.Error as exc:
            raise TerminalError(f"dataset {self.dataset.id}: cannot stage run: {exc}") from exc
        try:
            schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        except pa.ArrowError as exc:
            raise TerminalError(f"dataset {self.dataset.id}: batches of one run disagree: {exc}") from exc
        data = pads.dataset([str(f) for f in files], schema=schema, format="parquet")
        columns = [n for n in schema.names if n != SEQ]
        scanner = data.scanner(columns=columns, filter=pc.field(SEQ).isin(winners), batch_size=65536)
        return scanner.to_reader()

    def _apply(self, con: duckdb.DuckDBPyConnection, key: str, staged: int) -> CommitResult:
        props = CommitProperties(custom_metadata={"headwater.run": self.folder.name})
        table = self.dataset.table()
        source = self._collapsed(con, key)
        if table is None:
            return self._first_load(source, props, staged)
        _check_compatible(table.to_pyarrow_dataset().schema, source.schema, self.dataset.id)
        quoted = "`" + key.replace("`", "``") + "`"
        metrics = (
            table.merge(
                source,
                predicate=f"t.{quoted} = s.{quoted}",
                source_alias="s",
                target_alias="t",
                merge_schema=True,
                commit_properties=props,
            )
            .when_matched_delete(predicate=f"s.{DELETED}")
            .when_matched_update_all(predicate=f"NOT s.{DELETED}", except_cols=[DELETED])
            .when_not_matched_insert_all(predicate=f"NOT s.{DELETED}", except_cols=[DELETED])
            .execute()
        )
        inserted = int(metrics.get("num_target_rows_inserted", 0))
        updated = int(metrics.get("num_target_rows_updated", 0))
        deleted = int(metrics.get("num_target_rows_deleted", 0))
        version = DeltaTable(self.dataset.uri, storage_options=self.dataset.lake.storage_options).version()
        return CommitResult(version, inserted, updated, deleted, inserted + updated, staged)

    def _first_load(self, source: pa.RecordBatchReader, props: CommitProperties, staged: int) -> CommitResult:
        # Empty table: nothing to merge against, so a plain append of the live rows is enough.
        keep = [f for f in source.schema if f.name != DELETED]
        schema = pa.schema(keep)
        count = 0

        def live() -> Any:
            nonlocal count
            for batch in source:
                mask = pc.invert(batch.column(DELETED))
                out = batch.filter(mask).select([f.name for f in keep])
                count += out.num_rows
                yield out

        reader = pa.RecordBatchReader.from_batches(schema, live())
        write_deltalake(
            self.dataset.uri,
            reader,
            mode="append",
            storage_options=self.dataset.lake.storage_options,
            commit_properties=props,
        )
        table = self.dataset.table()
        return CommitResult(table.version() if table else None, count, 0, 0, count, staged)


_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z", "+00:00"}


def _family(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_timestamp(t):
        # Delta stores "UTC", DuckDB hands staged data back as "Etc/UTC": the same instant type.
        return f"timestamp[{'UTC' if t.tz in _UTC_NAMES else t.tz}]"
    if pa.types.is_struct(t):
        return "struct"
    return str(t)


def _safe_widening(old: pa.DataType, new: pa.DataType) -> bool:
    if pa.types.is_integer(old) and pa.types.is_integer(new):
        return True  # merge casts to the table's width; overflow surfaces as a Delta error
    return pa.types.is_floating(old) and (pa.types.is_integer(new) or pa.types.is_floating(new))


def _check_compatible(table: pa.Schema, source: pa.Schema, dataset_id: str) -> None:
    """New columns are fine (merge_schema adds them); a changed type must be a safe widening."""
    for field in source:
        if field.name not in table.names or pa.types.is_null(field.type):
            continue
        old = table.field(field.name).type
        if _family(old) == _family(field.type) or _safe_widening(old, field.type):
            continue
        raise TerminalError(
            f"dataset {dataset_id}: column {field.name!r} is {old} in the table, run sends {field.type}",
            dataset=dataset_id,
            column=field.name,
        )
