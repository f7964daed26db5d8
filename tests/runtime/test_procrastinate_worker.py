"""``headwater worker`` mode end to end on PostgreSQL: procrastinate delivers, the run row decides.

Two workers (each its own procrastinate app, as on two machines) share the queue in a schema of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from memory_parts import MemorySource, make_accounts, plan_builder, read_lake

from headwater.flows.runs import create_run_for_flow
from headwater.flows.testing import registered_flow
from headwater.runtime.executor import wait_for
from headwater.runtime.ports import RunContext, RunPlan
from headwater.runtime.queue_procrastinate import ProcrastinateRuntime, apply_queue_schema, build_app
from headwater.store.runtime_tables import runs

ORG, SANDBOX = "ORG@AdobeOrg", "prod"
pytestmark = pytest.mark.slow


class WorkerThread(threading.Thread):
    def __init__(self, runtime: ProcrastinateRuntime) -> None:
        super().__init__(daemon=True)
        self.runtime = runtime
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.ready = threading.Event()

    def run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            self.ready.set()
            await self.runtime.run_async(stop=self.stop_event, install_signal_handlers=False)

        asyncio.run(main())

    def stop(self) -> None:
        self.ready.wait()
        assert self.loop is not None and self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.join(timeout=30)
        assert not self.is_alive()


def test_two_workers_execute_every_run_exactly_once(
    pg_engine: sa.Engine, postgres_url: str, queue_schema: str, tmp_path: Path
) -> None:
    app = build_app(postgres_url, schema=queue_schema)
    assert apply_queue_schema(app) is True
    assert apply_queue_schema(build_app(postgres_url, schema=queue_schema)) is False  # idempotent

    start = int(time.time()) - 5
    with pg_engine.begin() as conn:
        for index in range(4):
            registered_flow(
                conn,
                flow_id=f"flow-{index}",
                org_id=ORG,
                sandbox_name=SANDBOX,
                schedule_params={"startTime": start, "frequency": "hour", "interval": 1},
            )
        registered_flow(
            conn,
            flow_id="once",
            org_id=ORG,
            sandbox_name=SANDBOX,
            schedule_params={"startTime": start, "frequency": "once"},
        )
    sources = {
        f"flow-{index}": MemorySource(make_accounts(60, start=index * 100), batch_size=20, delay=0.02)
        for index in range(4)
    }
    sources["once"] = MemorySource(make_accounts(10, start=900))

    def builder(context: RunContext) -> RunPlan:
        return plan_builder(sources[context.flow_id], tmp_path / context.flow_id)(context)

    workers = [
        WorkerThread(
            ProcrastinateRuntime(
                pg_engine,
                build_app(postgres_url, schema=queue_schema),
                builder,
                owner=f"worker-{index}",
                concurrency=2,
                tick_seconds=0.2,
            )
        )
        for index in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        with pg_engine.begin() as conn:
            on_demand = create_run_for_flow(conn, flow_id="once", org_id=ORG, sandbox_name=SANDBOX)["id"]

        def finished() -> bool:
            with pg_engine.connect() as conn:
                rows = conn.execute(sa.select(runs.c.status)).all()
            return len(rows) == 6 and all(status == "success" for (status,) in rows)

        # 4 hourly slots + the once flow's scheduled slot + the on-demand run
        assert wait_for(finished, timeout=90, interval=0.1)
    finally:
        for worker in workers:
            worker.stop()
    with pg_engine.connect() as conn:
        rows = conn.execute(sa.select(runs.c.id, runs.c.attempt, runs.c.owner)).all()
    assert all(attempt == 1 for _, attempt, _ in rows)  # nobody executed a run twice
    assert on_demand in {run_id for run_id, _, _ in rows}
    for index in range(4):
        assert read_lake(tmp_path / f"flow-{index}").num_rows == 60
    assert read_lake(tmp_path / "once").num_rows == 10
