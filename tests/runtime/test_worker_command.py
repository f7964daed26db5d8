"""``headwater worker`` as a real process: it applies the queue schema, executes a run, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from memory_parts import read_lake

from headwater.runtime.executor import wait_for
from headwater.runtime.runs import create_run_for_flow, get_run, register_flow

HERE = Path(__file__).parent
ORG, SANDBOX = "ORG@AdobeOrg", "prod"
pytestmark = pytest.mark.slow


def test_worker_command_executes_runs_and_stops_cleanly(
    pg_engine: sa.Engine, pg_schema_url: tuple[str, str], queue_schema: str, tmp_path: Path
) -> None:
    url, schema = pg_schema_url
    # Runtime tables and procrastinate's both found through the search path of the URL's options.
    search_path = quote(f"-csearch_path={schema},{queue_schema}")
    worker_url = f"{url}?options={search_path}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "HW_TEST_LAKE": str(tmp_path / "lake"),
        "HEADWATER_DATA_DIR": str(tmp_path / "data"),
    }
    command = [sys.executable, "-m", "headwater", "worker", "--database-url", worker_url, "--tick", "0.2"]
    command += ["--plans", "memory_parts:env_plan_factory"]
    process = subprocess.Popen(command, env=env)
    try:
        with pg_engine.begin() as conn:
            register_flow(
                conn,
                flow_id="once",
                org_id=ORG,
                sandbox_name=SANDBOX,
                schedule_params={"startTime": "1700000000", "frequency": "once"},
            )
            run_id = create_run_for_flow(conn, flow_id="once", org_id=ORG, sandbox_name=SANDBOX)["id"]

        def done() -> bool:
            with pg_engine.connect() as conn:
                return get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)["state"] == "success"

        assert wait_for(done, timeout=60, interval=0.1)
        assert read_lake(tmp_path / "lake" / "once").num_rows == 75
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
