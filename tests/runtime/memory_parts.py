"""Real, small implementations of the runtime's ports for tests (no mocks of our collaborators):

* ``MemorySource`` — a source over an in-memory Arrow table of Salesforce-like rows, incremental on
  ``SystemModstamp`` with ``>=`` (at-least-once, like the connector), soft deletes via ``IsDeleted``;
* ``plan_builder`` — wires it and the real lake run writer (``headwater.lake``) into a ``RunPlan``.

Also importable by the subprocess worker of the kill test (``worker_process.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from headwater.connectors.base import ReadBatch
from headwater.lake import Dataset, Lake
from headwater.runtime.ports import PlanBuilder, RunContext, RunPlan

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


LAKE_SCOPE = ("org", "prod", "ds")


def dataset_of(lake_root: Path) -> Dataset:
    """The one dataset of a test lake rooted at ``lake_root`` (the real ``headwater.lake``)."""
    return Lake(lake_root).dataset(*LAKE_SCOPE)


def table_path(lake_root: Path) -> Path:
    return lake_root.joinpath(*LAKE_SCOPE)


def has_table(lake_root: Path) -> bool:
    return (table_path(lake_root) / "_delta_log").exists()


def lake_version(lake_root: Path) -> int:
    return DeltaTable(str(table_path(lake_root))).version()


def plan_builder(
    source: MemorySource, lake_path: Path, transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None
) -> PlanBuilder:
    """Plans reading ``source`` into the test lake at ``lake_path`` through ``headwater.lake``'s run writer."""

    def build(context: RunContext) -> RunPlan:
        plan = RunPlan(
            read=source.read, open_writer=lambda: dataset_of(lake_path).open_writer(context.run_id, "Id")
        )
        if transform is not None:
            plan.transform = transform
        return plan

    return build


def read_lake(lake_root: Path) -> pa.Table:
    return DeltaTable(str(table_path(lake_root))).to_pyarrow_table().sort_by("Id")


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
