"""A worker SIGKILLed mid-run: the table is untouched, the run is picked up again and lands exactly once.

Two recoveries: a dead ``headwater worker`` (stale heartbeat, on PostgreSQL) and a restarted embedded
server (dead local process, on SQLite).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from memory_parts import MemorySource, lake_version, make_accounts, plan_builder, read_lake
from worker_process import source_rows

from headwater.flows.runs import create_run_for_flow, get_run
from headwater.flows.testing import registered_flow
from headwater.runtime.claims import requeue_stale_runs
from headwater.runtime.embedded import EmbeddedRuntime
from headwater.runtime.executor import RunExecutor, wait_for
from headwater.store.db import make_engine, upgrade

ORG, SANDBOX = "ORG@AdobeOrg", "prod"
HERE = Path(__file__).parent
ROWS = 400
pytestmark = pytest.mark.slow


def seed(engine: sa.Engine, lake: Path) -> None:
    """A once flow (due tomorrow: no scheduled run competes) whose first on-demand run landed 100 rows."""
    tomorrow = str(int(time.time()) + 86_400)
    with engine.begin() as conn:
        registered_flow(
            conn,
            flow_id="flow-1",
            org_id=ORG,
            sandbox_name=SANDBOX,
            schedule_params={"startTime": tomorrow, "frequency": "once"},
        )
    first = new_run(engine)
    assert (
        RunExecutor(engine, plan_builder(MemorySource(make_accounts(100)), lake), "seed").execute(first)
        == "success"
    )


def new_run(engine: sa.Engine) -> str:
    with engine.begin() as conn:
        return create_run_for_flow(conn, flow_id="flow-1", org_id=ORG, sandbox_name=SANDBOX)["id"]


def doc(engine: sa.Engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)


def spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(HERE / "worker_process.py"), *args], env=env)


def kill_mid_read(process: subprocess.Popen[bytes], engine: sa.Engine, run_id: str) -> None:
    def reading() -> bool:
        current = doc(engine, run_id)
        return (
            current["state"] == "inProgress" and current["metrics"]["recordSummary"]["inputRecordCount"] > 0
        )

    try:
        assert wait_for(reading, timeout=180), "the worker never started reading"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


def assert_landed_once(lake: Path) -> None:
    landed = read_lake(lake)
    expected = sorted(source_rows(ROWS)["Id"].to_pylist())
    assert landed["Id"].to_pylist() == expected  # every row, none twice
    assert lake_version(lake) == 1  # the killed attempt committed nothing


def test_killed_worker_run_is_picked_up_again_and_lands_once(
    pg_engine: sa.Engine, pg_schema_url: tuple[str, str], tmp_path: Path
) -> None:
    lake = tmp_path / "accounts"
    seed(pg_engine, lake)
    run_id = new_run(pg_engine)
    url, schema = pg_schema_url
    kill_mid_read(spawn("executor", url, schema, str(lake), run_id, str(ROWS)), pg_engine, run_id)

    assert lake_version(lake) == 0 and read_lake(lake).num_rows == 100  # table as it was
    assert doc(pg_engine, run_id)["state"] == "inProgress"
    with pg_engine.begin() as conn:
        assert wait_for(lambda: requeue_stale_runs(conn, stale_after_ms=1_000) == [run_id], timeout=10)
    source = MemorySource(source_rows(ROWS), batch_size=100)
    assert RunExecutor(pg_engine, plan_builder(source, lake), "survivor").execute(run_id) == "success"
    assert_landed_once(lake)
    final = doc(pg_engine, run_id)
    assert final["state"] == "success" and final["providerRefId"].endswith(":2")  # second attempt


def test_embedded_restart_resumes_the_interrupted_run(tmp_path: Path) -> None:
    lake = tmp_path / "accounts"
    url = f"sqlite:///{tmp_path / 'headwater.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, lake)
    run_id = new_run(engine)
    kill_mid_read(spawn("embedded", url, "-", str(lake), "-", str(ROWS)), engine, run_id)
    assert lake_version(lake) == 0

    # The restarted server: a stale timeout far away, so only the restart recovery can resume the run.
    source = MemorySource(source_rows(ROWS), batch_size=100)
    runtime = EmbeddedRuntime(
        engine, plan_builder(source, lake), workers=1, tick_seconds=0.05, stale_after_ms=3_600_000
    )
    runtime.start()
    try:
        assert wait_for(lambda: doc(engine, run_id)["state"] == "success", timeout=180)
    finally:
        runtime.stop()
    assert_landed_once(lake)
