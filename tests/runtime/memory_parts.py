"""Real, small implementations of the runtime's ports for tests (no mocks of our collaborators):

* ``MemorySource`` — a source over an in-memory Arrow table of Salesforce-like rows, incremental on
  ``SystemModstamp`` with ``>=`` (at-least-once, like the connector), soft deletes via ``IsDeleted``;
* ``DeltaRunWriter`` — stages a run's batches and lands them in a Delta Lake table in ONE merge commit
  (upsert on ``Id``, deletes applied), via the ``deltalake`` package;
* ``plan_builder`` — wires them into a ``RunPlan``.

Also importable by the subprocess worker of the kill test (``worker_process.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from headwater.connectors.base import ReadBatch
from headwater.runtime.ports import CommitResult, PlanBuilder, RunContext, RunPlan

SCHEMA = pa.schema(
    [("Id", pa.string()), ("Name", pa.string()), ("SystemModstamp", pa.int64()), ("IsDeleted", pa.bool_())]
)


def make_accounts(count: int, *, modstamp: int = 1_000, start: int = 0) -> pa.Table:
    """``count`` accounts; row ``i`` has ``SystemModstamp = modstamp + i`` (a realistic spread)."""
    ids = [f"001{index:015d}" for index in range(start, start + count)]
    return pa.table(
        {
            "Id": ids,
            "Name": [f"Account {index}" for index in range(start, start + count)],
            "SystemModstamp": [modstamp + index for index in range(count)],
            "IsDeleted": [False] * count,
        },
        schema=SCHEMA,
    )


class MemoryRead:
    def __init__(
        self,
        table: pa.Table,
        cursor: int | None,
        batch_size: int,
        delay: float,
        fail: Callable[[int], None] | None,
    ) -> None:
        self._table, self._cursor, self._batch_size, self._delay, self._fail = (
            table,
            cursor,
            batch_size,
            delay,
            fail,
        )
        self._new_cursor = cursor
        self._deleted: list[str] = []

    def __iter__(self) -> Iterator[ReadBatch]:
        table = self._table
        if self._cursor is not None:
            table = table.filter(pc.greater_equal(table["SystemModstamp"], self._cursor))
        if table.num_rows:
            self._new_cursor = max(self._cursor or 0, pc.max(table["SystemModstamp"]).as_py())
        deleted = table.filter(table["IsDeleted"])
        self._deleted = deleted["Id"].to_pylist()
        live = table.filter(pc.invert(table["IsDeleted"]))
        for index, batch in enumerate(live.to_batches(max_chunksize=self._batch_size)):
            if self._fail is not None:
                self._fail(index)
            if self._delay:
                time.sleep(self._delay)
            yield ReadBatch(upserts=batch)
        if self._deleted:
            yield ReadBatch(deletes=pa.array(self._deleted, pa.string()))

    @property
    def cursor(self) -> Any:
        return self._new_cursor

    @property
    def stopped(self) -> str | None:
        return None


class MemorySource:
    def __init__(
        self,
        table: pa.Table,
        *,
        batch_size: int = 100,
        delay: float = 0.0,
        fail: Callable[[int], None] | None = None,
    ) -> None:
        self.table, self.batch_size, self.delay, self.fail = table, batch_size, delay, fail

    def read(self, cursor: Any) -> MemoryRead:
        return MemoryRead(self.table, cursor, self.batch_size, self.delay, self.fail)


class DeltaRunWriter:
    """Upsert on ``Id`` + deletes, one Delta commit per run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches: list[pa.RecordBatch] = []
        self.deletes: list[str] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)

    def delete(self, ids: Sequence[str]) -> None:
        self.deletes.extend(ids)

    def abort(self) -> None:
        self.batches, self.deletes = [], []

    def commit(self) -> CommitResult:
        staged = pa.Table.from_batches(self.batches, schema=SCHEMA).drop_columns(["IsDeleted"])
        # Later rows of one run win: keep the last occurrence of each Id.
        staged = staged.append_column("_pos", pa.array(range(staged.num_rows), pa.int64()))
        last = staged.group_by("Id").aggregate([("_pos", "max")])["_pos_max"]
        staged = staged.take(last).drop_columns(["_pos"])
        flagged = staged.append_column("_deleted", pa.array([False] * staged.num_rows))
        gone = pa.table(
            {
                "Id": self.deletes,
                "Name": pa.nulls(len(self.deletes), pa.string()),
                "SystemModstamp": pa.nulls(len(self.deletes), pa.int64()),
                "_deleted": [True] * len(self.deletes),
            }
        )
        source = pa.concat_tables([flagged, gone]) if self.deletes else flagged
        if not (self.path / "_delta_log").exists():
            write_deltalake(str(self.path), staged)
            return CommitResult(rows_written=staged.num_rows, version=DeltaTable(str(self.path)).version())
        table = DeltaTable(str(self.path))
        columns = {name: f"s.{name}" for name in ("Id", "Name", "SystemModstamp")}
        metrics = (
            table.merge(source, predicate="t.Id = s.Id", source_alias="s", target_alias="t")
            .when_matched_delete(predicate="s._deleted")
            .when_matched_update(columns, predicate="NOT s._deleted")
            .when_not_matched_insert(columns, predicate="NOT s._deleted")
            .execute()
        )
        return CommitResult(
            rows_written=staged.num_rows,
            rows_deleted=int(metrics.get("num_target_rows_deleted", 0)),
            version=DeltaTable(str(self.path)).version(),
        )


class GenericDeltaRunWriter:
    """Any schema, upsert on ``Id`` + deletes, one Delta commit per run (new columns merge in)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches: list[pa.RecordBatch] = []
        self.deletes: list[str] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)

    def delete(self, ids: Sequence[str]) -> None:
        self.deletes.extend(ids)

    def abort(self) -> None:
        self.batches, self.deletes = [], []

    def commit(self) -> CommitResult:
        staged = pa.Table.from_batches(self.batches) if self.batches else None
        exists = (self.path / "_delta_log").exists()
        if staged is not None and not exists:
            write_deltalake(str(self.path), staged)
        elif staged is not None:
            columns = {name: f"s.{name}" for name in staged.column_names}
            (
                DeltaTable(str(self.path))
                .merge(staged, predicate="t.Id = s.Id", source_alias="s", target_alias="t", merge_schema=True)
                .when_matched_update(columns)
                .when_not_matched_insert(columns)
                .execute()
            )
        if self.deletes and (self.path / "_delta_log").exists():
            # Test writer only: a second commit for deletes keeps it short; the lake's writer does one.
            quoted = ", ".join("'" + key.replace("'", "''") + "'" for key in self.deletes)
            DeltaTable(str(self.path)).delete(f"Id IN ({quoted})")
        rows = 0 if staged is None else staged.num_rows
        return CommitResult(rows_written=rows, rows_deleted=len(self.deletes))


def plan_builder(
    source: MemorySource, lake_path: Path, transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None
) -> PlanBuilder:
    def build(_context: RunContext) -> RunPlan:
        plan = RunPlan(read=source.read, open_writer=lambda: DeltaRunWriter(lake_path))
        if transform is not None:
            plan.transform = transform
        return plan

    return build


def read_lake(path: Path) -> pa.Table:
    return DeltaTable(str(path)).to_pyarrow_table().sort_by("Id")


def env_plan_factory(_settings: object, _engine: object) -> PlanBuilder:
    """A ``--plans`` factory for CLI tests: ``$HW_TEST_ROWS`` (75) accounts into ``$HW_TEST_LAKE/<flow id>``,
    batches of 25 each ``$HW_TEST_DELAY`` (0) seconds apart."""
    import os

    lake_root = Path(os.environ["HW_TEST_LAKE"])
    rows = int(os.environ.get("HW_TEST_ROWS", "75"))
    delay = float(os.environ.get("HW_TEST_DELAY", "0"))

    def build(context: RunContext) -> RunPlan:
        source = MemorySource(make_accounts(rows), batch_size=25, delay=delay)
        return plan_builder(source, lake_root / context.flow_id)(context)

    return build
