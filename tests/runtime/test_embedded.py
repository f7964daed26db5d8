"""The embedded runtime: the monitor creates due runs and a bounded pool executes them."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import sqlalchemy as sa
from memory_parts import MemorySource, has_table, make_accounts, plan_builder, read_lake

from headwater.flows.runs import list_runs
from headwater.flows.testing import registered_flow
from headwater.runtime.embedded import EmbeddedRuntime, dead_local_owners
from headwater.runtime.executor import wait_for
from headwater.store.runtime_tables import runs

ORG, SANDBOX = "ORG@AdobeOrg", "prod"


def test_due_flows_run_in_a_bounded_pool(engine: sa.Engine, tmp_path: Path) -> None:
    start = int(time.time()) - 5
    sources = {}
    for index in range(3):
        flow_id = f"flow-{index}"
        sources[flow_id] = MemorySource(make_accounts(50, start=index * 1000), batch_size=10, delay=0.02)
        with engine.begin() as conn:
            registered_flow(
                conn,
                flow_id=flow_id,
                org_id=ORG,
                sandbox_name=SANDBOX,
                schedule_params={"startTime": start, "frequency": "day", "interval": 1},
            )

    def builder(context):  # type: ignore[no-untyped-def]
        return plan_builder(sources[context.flow_id], tmp_path / context.flow_id)(context)

    runtime = EmbeddedRuntime(engine, builder, workers=1, tick_seconds=0.02, heartbeat_seconds=0.05)
    peak = 0
    runtime.start()
    try:

        def all_done() -> bool:
            nonlocal peak
            with engine.connect() as conn:
                statuses = list(conn.execute(sa.select(runs.c.status)).scalars())
            peak = max(peak, statuses.count("inProgress"))
            return len(statuses) == 3 and all(status == "success" for status in statuses)

        assert wait_for(all_done, timeout=60, interval=0.01)
    finally:
        runtime.stop()
    assert peak == 1  # one worker: never two runs at once
    for index in range(3):
        assert read_lake(tmp_path / f"flow-{index}").num_rows == 50
    with engine.connect() as conn:
        assert len(list_runs(conn, org_id=ORG, sandbox_name=SANDBOX)) == 3  # one slot each, no duplicates


def test_dead_local_owners_are_recognised() -> None:
    host = socket.gethostname()
    me = f"embedded:{host}:{os.getpid()}:aaaa"
    earlier_in_this_process = f"embedded:{host}:{os.getpid()}:bbbb"
    gone = f"embedded:{host}:999999999:cccc"
    alive = f"embedded:{host}:1:dddd"  # pid 1 always exists
    elsewhere = "embedded:another-host:12:eeee"
    assert dead_local_owners([me, earlier_in_this_process, gone, alive, elsewhere, "junk"], me) == [
        earlier_in_this_process,
        gone,
    ]


def test_serve_start_up_helper_creates_tables_and_honours_zero_workers(tmp_path: Path) -> None:
    from headwater.core.settings import load_settings
    from headwater.flows.runs import create_run_for_flow
    from headwater.runtime.embedded import start_embedded_runtime
    from headwater.store.db import make_engine, upgrade

    settings = load_settings(data_dir=tmp_path, embedded_workers=0)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    source = MemorySource(make_accounts(5))
    idle = start_embedded_runtime(settings, engine, plan_builder(source, tmp_path / "t"))
    with engine.begin() as conn:
        registered_flow(
            conn,
            flow_id="f",
            org_id=ORG,
            sandbox_name=SANDBOX,
            schedule_params={"startTime": 1, "frequency": "once"},
        )
        run_id = create_run_for_flow(conn, flow_id="f", org_id=ORG, sandbox_name=SANDBOX)["id"]
    time.sleep(0.3)
    idle.stop()
    with engine.connect() as conn:
        assert conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar_one() == "scheduled"

    busy = start_embedded_runtime(
        load_settings(data_dir=tmp_path, embedded_workers=1), engine, plan_builder(source, tmp_path / "t")
    )
    try:
        assert wait_for(lambda: read_lake_rows(tmp_path / "t") == 5, timeout=30)
    finally:
        busy.stop()


def read_lake_rows(path: Path) -> int:
    return read_lake(path).num_rows if has_table(path) else 0


def test_shutdown_hands_runs_in_flight_back_before_their_commit(engine: sa.Engine, tmp_path: Path) -> None:
    from headwater.flows.runs import create_run_for_flow, get_run

    with engine.begin() as conn:
        registered_flow(
            conn,
            flow_id="f",
            org_id=ORG,
            sandbox_name=SANDBOX,
            schedule_params={"startTime": int(time.time()) + 86_400, "frequency": "once"},
        )
        run_id = create_run_for_flow(conn, flow_id="f", org_id=ORG, sandbox_name=SANDBOX)["id"]

    def run_state() -> dict:
        with engine.connect() as conn:
            return get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)

    slow = MemorySource(make_accounts(400), batch_size=10, delay=0.05)
    runtime = EmbeddedRuntime(
        engine, plan_builder(slow, tmp_path / "t"), workers=1, tick_seconds=0.02, heartbeat_seconds=0.05
    )
    runtime.start()
    assert wait_for(lambda: run_state()["metrics"]["recordSummary"]["inputRecordCount"] > 0, timeout=30)
    started = time.monotonic()
    runtime.stop(wait=False)
    assert time.monotonic() - started < 1.5  # one batch at most, not the ~2 s of reading left
    handed_back = run_state()
    assert handed_back["state"] == "scheduled" and handed_back["providerRefId"].endswith(":0")
    assert not has_table(tmp_path / "t")  # nothing committed

    fast = MemorySource(make_accounts(400), batch_size=100)
    again = EmbeddedRuntime(engine, plan_builder(fast, tmp_path / "t"), workers=1, tick_seconds=0.02)
    again.start()
    try:
        assert wait_for(lambda: run_state()["state"] == "success", timeout=30)
    finally:
        again.stop()
    assert run_state()["providerRefId"].endswith(":1") and read_lake(tmp_path / "t").num_rows == 400
