"""``headwater worker`` as real processes: it applies the queue schema, executes runs, stops on SIGTERM;
SIGKILLed mid-run, another worker takes the run over and it lands exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from memory_parts import has_table, lake_version, read_lake

from headwater.flows.runs import create_run_for_flow, get_run
from headwater.flows.testing import registered_flow
from headwater.runtime.executor import wait_for
from headwater.store.runtime_tables import runs

HERE = Path(__file__).parent
ORG, SANDBOX = "ORG@AdobeOrg", "prod"
pytestmark = pytest.mark.slow


@pytest.fixture
def spawn_worker(pg_schema_url: tuple[str, str], queue_schema: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    url, schema = pg_schema_url
    # Runtime tables and procrastinate's both found through the search path of the URL's options.
    worker_url = f"{url}?options={quote(f'-csearch_path={schema},{queue_schema}')}"
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(**env_extra: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            "HW_TEST_LAKE": str(tmp_path / "lake"),
            "HEADWATER_DATA_DIR": str(tmp_path / "data"),
            **env_extra,
        }
        command = [sys.executable, "-m", "headwater", "worker", "--database-url", worker_url, "--tick", "0.2"]
        command += ["--stale-after", "2", "--plans", "memory_parts:env_plan_factory"]
        process = subprocess.Popen(command, env=env)
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def once_run(engine: sa.Engine) -> str:
    """An on-demand run of a once flow scheduled for tomorrow (so no scheduled run competes with it)."""
    tomorrow = str(int(time.time()) + 86_400)
    with engine.begin() as conn:
        registered_flow(
            conn,
            flow_id="once",
            org_id=ORG,
            sandbox_name=SANDBOX,
            schedule_params={"startTime": tomorrow, "frequency": "once"},
        )
        return create_run_for_flow(conn, flow_id="once", org_id=ORG, sandbox_name=SANDBOX)["id"]


def state(engine: sa.Engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)


def test_worker_command_executes_runs_and_stops_cleanly(
    pg_engine: sa.Engine, spawn_worker, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    process = spawn_worker()
    run_id = once_run(pg_engine)
    assert wait_for(lambda: state(pg_engine, run_id)["state"] == "success", timeout=180, interval=0.1)
    assert read_lake(tmp_path / "lake" / "once").num_rows == 75
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_killed_worker_process_run_is_taken_over_and_lands_once(
    pg_engine: sa.Engine, spawn_worker, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    doomed = spawn_worker(HW_TEST_ROWS="500", HW_TEST_DELAY="0.1")
    run_id = once_run(pg_engine)

    def reading() -> bool:
        current = state(pg_engine, run_id)
        return (
            current["state"] == "inProgress" and current["metrics"]["recordSummary"]["inputRecordCount"] > 0
        )

    assert wait_for(reading, timeout=180, interval=0.05), str(state(pg_engine, run_id))[:3000]
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    lake = tmp_path / "lake" / "once"
    assert not has_table(lake)  # nothing landed from the killed attempt

    spawn_worker(HW_TEST_ROWS="500")
    with pg_engine.connect() as conn:

        def all_success() -> bool:
            statuses = set(conn.execute(sa.select(runs.c.status)).scalars())
            conn.rollback()
            return statuses == {"success"}

        assert wait_for(all_success, timeout=90, interval=0.1)
    landed = read_lake(lake)
    assert landed.num_rows == 500 and len(set(landed["Id"].to_pylist())) == 500
    assert state(pg_engine, run_id)["providerRefId"].endswith(":2")  # taken over: second attempt
    assert lake_version(lake) >= 0  # the table exists with the runs' commits only
