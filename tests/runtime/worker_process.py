"""A worker in its own process, for the tests that SIGKILL it mid-run.

    python worker_process.py executor URL SCHEMA LAKE RUN_ID ROWS
    python worker_process.py embedded URL SCHEMA LAKE - ROWS

Both read the same deterministic rows as the test (``make_accounts``), slowly, so the kill lands mid-read.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pyarrow as pa
from memory_parts import MemorySource, make_accounts, plan_builder

from headwater.runtime.embedded import EmbeddedRuntime
from headwater.runtime.executor import RunExecutor
from headwater.store.db import make_engine


def source_rows(rows: int) -> pa.Table:
    return pa.concat_tables([make_accounts(100), make_accounts(rows, modstamp=5_000, start=100)])


def main(argv: list[str]) -> None:
    mode, url, schema, lake, run_id, rows = argv
    engine = make_engine(url, schema=schema if schema != "-" else None)
    source = MemorySource(source_rows(int(rows)), batch_size=20, delay=0.05)
    builder = plan_builder(source, Path(lake))
    if mode == "executor":
        RunExecutor(engine, builder, f"killme:{run_id}", heartbeat_seconds=0.1).execute(run_id)
        return
    runtime = EmbeddedRuntime(engine, builder, workers=1, tick_seconds=0.1, heartbeat_seconds=0.1)
    runtime.start()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1:])
