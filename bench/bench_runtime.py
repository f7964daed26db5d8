"""Runtime overhead: a run through the executor (claim, heartbeat, progress, one commit) vs the floor.

    python -m bench runtime [--rows=1000000] [--batch=50000]

Floor: iterating the same Arrow batches with nothing else. Executor figures use a null lake writer (so
only the runtime's own cost shows) and a Delta Lake writer (one ``write_deltalake`` of the staged run).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from headwater.connectors.base import ReadBatch
from headwater.flows.runs import create_run_for_flow
from headwater.flows.testing import registered_flow
from headwater.runtime.executor import RunExecutor
from headwater.runtime.ports import CommitResult, RunContext, RunPlan
from headwater.store.db import make_engine, upgrade


def make_batches(rows: int, batch: int) -> list[pa.RecordBatch]:
    batches = []
    for start in range(0, rows, batch):
        size = min(batch, rows - start)
        batches.append(
            pa.record_batch(
                {
                    "Id": pa.array([f"001{index:015d}" for index in range(start, start + size)]),
                    "Name": pa.array([f"Account {index}" for index in range(start, start + size)]),
                    "AnnualRevenue": pa.array([float(index) for index in range(start, start + size)]),
                }
            )
        )
    return batches


class ListRead:
    def __init__(self, batches: list[pa.RecordBatch]) -> None:
        self.batches = batches

    def __iter__(self) -> Iterator[ReadBatch]:
        return (ReadBatch(upserts=batch) for batch in self.batches)

    @property
    def cursor(self) -> Any:
        return len(self.batches)

    @property
    def stopped(self) -> str | None:
        return None


class NullWriter:
    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def delete(self, keys: pa.Array, primary_key: str = "Id") -> None:
        pass

    def commit(self, primary_key: str = "Id") -> CommitResult:
        return CommitResult(rows_written=self.rows)

    def abort(self) -> None:
        pass


class DeltaAppendWriter(NullWriter):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.batches: list[pa.RecordBatch] = []

    def write(self, batch: pa.RecordBatch) -> None:
        super().write(batch)
        self.batches.append(batch)

    def commit(self, primary_key: str = "Id") -> CommitResult:
        write_deltalake(str(self.path), pa.Table.from_batches(self.batches), mode="append")
        return CommitResult(rows_written=self.rows)


def timed_run(workdir: Path, name: str, batches: list[pa.RecordBatch], writer_factory: Any) -> float:
    engine = make_engine(f"sqlite:///{workdir / (name + '.db')}")
    upgrade(engine)
    with engine.begin() as conn:
        registered_flow(
            conn,
            flow_id="f",
            org_id="o",
            sandbox_name="prod",
            schedule_params={"startTime": 1, "frequency": "once"},
        )
        run_id = create_run_for_flow(conn, flow_id="f", org_id="o", sandbox_name="prod")["id"]

    def build(_context: RunContext) -> RunPlan:
        return RunPlan(read=lambda _cursor: ListRead(batches), open_writer=writer_factory)

    started = time.perf_counter()
    status = RunExecutor(engine, build, "bench", heartbeat_seconds=1.0).execute(run_id)
    elapsed = time.perf_counter() - started
    assert status == "success", status
    engine.dispose()
    return elapsed


def main(argv: list[str]) -> None:
    options = dict(arg.lstrip("-").split("=", 1) for arg in argv if "=" in arg)
    rows, batch = int(options.get("rows", 1_000_000)), int(options.get("batch", 50_000))
    batches = make_batches(rows, batch)
    started = time.perf_counter()
    total = sum(b.num_rows for b in batches)
    floor = max(time.perf_counter() - started, 1e-9)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        null = timed_run(workdir, "null", batches, NullWriter)
        delta_floor_started = time.perf_counter()
        write_deltalake(str(workdir / "floor"), pa.Table.from_batches(batches))
        delta_floor = time.perf_counter() - delta_floor_started
        delta = timed_run(workdir, "delta", batches, lambda: DeltaAppendWriter(workdir / "run"))
    print(f"rows={total:,} batch={batch:,}")
    print(f"floor: iterate batches           {floor * 1000:9.1f} ms")
    print(f"executor, null writer            {null * 1000:9.1f} ms  ({total / null:,.0f} rows/s)")
    print(
        f"floor: write_deltalake alone     {delta_floor * 1000:9.1f} ms  ({total / delta_floor:,.0f} rows/s)"
    )
    print(f"executor, Delta append writer    {delta * 1000:9.1f} ms  ({total / delta:,.0f} rows/s)")
