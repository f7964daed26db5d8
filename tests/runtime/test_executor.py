"""The executor against real parts: an in-memory Arrow source and a Delta Lake table on disk."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from memory_parts import (
    MemoryRead,
    MemorySource,
    has_table,
    lake_version,
    make_accounts,
    plan_builder,
    read_lake,
)

from headwater.core.errors import SkippableError, TerminalError, TransientError
from headwater.core.timeutil import now_ms
from headwater.flows.runs import flow_state, get_run, retrigger_run
from headwater.flows.testing import registered_flow
from headwater.runtime.claims import claimable_run_ids
from headwater.runtime.executor import (
    MAPPING_FAILED,
    READ_FAILED,
    SOURCE_UNAVAILABLE,
    Backoff,
    RunExecutor,
    wait_for,
)
from headwater.store.runtime_tables import runs

ORG, SANDBOX = "ORG@AdobeOrg", "prod"
NO_WAIT = Backoff(0, 0)


def new_run(engine: sa.Engine) -> str:
    """Register a once flow (if needed) and create an on-demand run of it."""
    from headwater.flows.runs import create_run_for_flow

    with engine.begin() as conn:
        if flow_state(conn, "flow-1") is None:
            registered_flow(
                conn,
                flow_id="flow-1",
                org_id=ORG,
                sandbox_name=SANDBOX,
                schedule_params={"startTime": "1700000000", "frequency": "once"},
            )
        return create_run_for_flow(conn, flow_id="flow-1", org_id=ORG, sandbox_name=SANDBOX)["id"]


def run_doc(engine: sa.Engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)


def cursor_of(engine: sa.Engine) -> object:
    with engine.connect() as conn:
        state = flow_state(conn, "flow-1")
    assert state is not None
    return state["cursor"]


def test_incremental_runs_with_inserts_updates_and_deletes(engine: sa.Engine, tmp_path: Path) -> None:
    lake = tmp_path / "lake" / "accounts"
    source = MemorySource(make_accounts(250, modstamp=1_000), batch_size=100)
    executor = RunExecutor(engine, plan_builder(source, lake), "w1")

    first = new_run(engine)
    assert executor.execute(first) == "success"
    assert read_lake(lake).num_rows == 250 and cursor_of(engine) == 1_249
    doc = run_doc(engine, first)
    assert doc["metrics"]["recordSummary"] == {
        "inputRecordCount": 250,
        "outputRecordCount": 250,
        "failedRecordCount": 0,
    }
    assert doc["metrics"]["statusSummary"] == {
        "status": "success",
        "errors": [],
        "activityRefs": ["copyActivity", "promotionActivity"],
    }
    assert (
        doc["metrics"]["durationSummary"]["completedAtUTC"]
        >= doc["metrics"]["durationSummary"]["startedAtUTC"]
    )

    # Between runs: 10 updated, 5 inserted, 3 soft-deleted (all with a newer SystemModstamp).
    table = source.table
    names = table["Name"].to_pylist()
    modstamps = table["SystemModstamp"].to_pylist()
    deleted = table["IsDeleted"].to_pylist()
    for index in range(10):
        names[index], modstamps[index] = f"Renamed {index}", 2_000
    for index in range(100, 103):
        deleted[index], modstamps[index] = True, 2_000
    updated = pa.table(
        {"Id": table["Id"], "Name": names, "SystemModstamp": modstamps, "IsDeleted": deleted},
        schema=table.schema,
    )
    source.table = pa.concat_tables([updated, make_accounts(5, modstamp=2_000, start=1_000)])

    second = new_run(engine)
    assert executor.execute(second) == "success"
    landed = read_lake(lake)
    assert landed.num_rows == 250 + 5 - 3
    assert pc.sum(pc.starts_with(landed["Name"], "Renamed")).as_py() == 10
    assert set(landed["Id"].to_pylist()).isdisjoint({f"001{index:015d}" for index in range(100, 103)})
    assert cursor_of(engine) == 2_004
    doc = run_doc(engine, second)
    # Only what changed since the cursor: 10 updates + 5 inserts + the boundary row re-read (>=).
    assert doc["metrics"]["recordSummary"]["inputRecordCount"] == 16
    assert doc["metrics"]["recordSummary"]["extensions"] == {"deletedRecordCount": 3}
    assert lake_version(lake) == 1  # one commit per run


def test_terminal_error_fails_the_run_and_leaves_table_and_cursor_alone(
    engine: sa.Engine, tmp_path: Path
) -> None:
    lake = tmp_path / "accounts"
    source = MemorySource(make_accounts(100, modstamp=1_000), batch_size=50)
    executor = RunExecutor(engine, plan_builder(source, lake), "w1", backoff=NO_WAIT)
    assert executor.execute(new_run(engine)) == "success"
    version = lake_version(lake)

    source.table = pa.concat_tables([source.table, make_accounts(100, modstamp=2_000, start=500)])

    def broken(index: int) -> None:
        if index == 2:
            raise TerminalError("The session is invalid: INVALID_SESSION_ID")

    source.fail = broken
    failed = new_run(engine)
    assert executor.execute(failed) == "failed"
    doc = run_doc(engine, failed)
    assert doc["metrics"]["statusSummary"]["errors"] == [
        {"code": READ_FAILED, "message": "The session is invalid: INVALID_SESSION_ID"}
    ]
    assert (
        0 < doc["metrics"]["recordSummary"]["inputRecordCount"] < 101
    )  # the batches read before the failure
    assert lake_version(lake) == version and read_lake(lake).num_rows == 100
    assert cursor_of(engine) == 1_099

    source.fail = None
    with engine.begin() as conn:
        retrigger_run(conn, run_id=failed, org_id=ORG, sandbox_name=SANDBOX)
    assert executor.execute(failed) == "success"
    landed = read_lake(lake)
    assert landed.num_rows == 200 and len(set(landed["Id"].to_pylist())) == 200
    assert cursor_of(engine) == 2_099


def test_transient_errors_retry_with_back_off_then_succeed(engine: sa.Engine, tmp_path: Path) -> None:
    lake = tmp_path / "accounts"
    source = MemorySource(make_accounts(30), batch_size=10)
    calls = {"n": 0}

    def flaky(index: int) -> None:
        if index == 1 and calls["n"] < 2:
            calls["n"] += 1
            raise TransientError("Salesforce answered 503", retry_after=0)

    source.fail = flaky
    executor = RunExecutor(engine, plan_builder(source, lake), "w1", backoff=NO_WAIT)
    run_id = new_run(engine)
    assert executor.execute(run_id) == "scheduled"
    assert run_doc(engine, run_id)["metrics"]["statusSummary"]["errors"][0]["code"] == SOURCE_UNAVAILABLE
    assert executor.execute(run_id) == "scheduled"
    assert executor.execute(run_id) == "success"
    assert read_lake(lake).num_rows == 30
    with engine.connect() as conn:
        assert conn.execute(sa.select(runs.c.attempt).where(runs.c.id == run_id)).scalar_one() == 3


def test_transient_errors_give_up_after_max_attempts(engine: sa.Engine, tmp_path: Path) -> None:
    source = MemorySource(make_accounts(10), batch_size=5)

    def down(_index: int) -> None:
        raise TransientError("connection reset")

    source.fail = down
    executor = RunExecutor(engine, plan_builder(source, tmp_path / "t"), "w1", backoff=Backoff(60, 60))
    run_id = new_run(engine)
    assert executor.execute(run_id) == "scheduled"
    with engine.connect() as conn:
        assert claimable_run_ids(conn) == []  # waiting out the back-off
    hours = itertools.count(1)  # a clock that jumps an hour ahead at every look: back-off always over
    fast = RunExecutor(
        engine,
        plan_builder(source, tmp_path / "t"),
        "w1",
        backoff=Backoff(60, 60),
        clock=lambda: now_ms() + 3_600_000 * next(hours),
    )
    assert fast.execute(run_id) == "scheduled"
    assert fast.execute(run_id) == "failed"
    assert run_doc(engine, run_id)["state"] == "failed"
    assert not has_table(tmp_path / "t")


def test_skippable_mapping_errors_count_failed_records(engine: sa.Engine, tmp_path: Path) -> None:
    lake = tmp_path / "accounts"
    source = MemorySource(make_accounts(30), batch_size=10)
    seen = {"n": 0}

    def mapping(batch: pa.RecordBatch) -> pa.RecordBatch:
        seen["n"] += 1
        if seen["n"] == 2:
            raise SkippableError("to_date could not parse 'yesterday'")
        return batch

    executor = RunExecutor(engine, plan_builder(source, lake, mapping), "w1")
    run_id = new_run(engine)
    assert executor.execute(run_id) == "success"
    summary = run_doc(engine, run_id)["metrics"]["recordSummary"]
    assert summary == {"inputRecordCount": 30, "outputRecordCount": 20, "failedRecordCount": 10}
    assert read_lake(lake).num_rows == 20


def test_mapping_terminal_error_is_reported_as_mapper_error(engine: sa.Engine, tmp_path: Path) -> None:
    def mapping(_batch: pa.RecordBatch) -> pa.RecordBatch:
        raise TerminalError("Destination path person.name is not in the dataset")

    executor = RunExecutor(
        engine, plan_builder(MemorySource(make_accounts(5)), tmp_path / "t", mapping), "w1"
    )
    run_id = new_run(engine)
    assert executor.execute(run_id) == "failed"
    assert run_doc(engine, run_id)["metrics"]["statusSummary"]["errors"][0]["code"] == MAPPING_FAILED


def test_duplicate_delivery_executes_once(engine: sa.Engine, tmp_path: Path) -> None:
    lake = tmp_path / "accounts"
    source = MemorySource(make_accounts(40), batch_size=10, delay=0.05)
    run_id = new_run(engine)
    results: list[str | None] = []
    barrier = threading.Barrier(3)

    def worker(name: str) -> None:
        barrier.wait()
        results.append(RunExecutor(engine, plan_builder(source, lake), name).execute(run_id))

    threads = [threading.Thread(target=worker, args=(f"w{index}",)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, None, "success"]
    assert lake_version(lake) == 0 and read_lake(lake).num_rows == 40


def test_progress_is_visible_while_the_run_is_in_progress(engine: sa.Engine, tmp_path: Path) -> None:
    source = MemorySource(make_accounts(200), batch_size=10, delay=0.05)
    executor = RunExecutor(engine, plan_builder(source, tmp_path / "t"), "w1", heartbeat_seconds=0.1)
    run_id = new_run(engine)
    thread = threading.Thread(target=executor.execute, args=(run_id,))
    thread.start()
    try:

        def partly_read() -> bool:
            doc = run_doc(engine, run_id)
            count = doc["metrics"]["recordSummary"]["inputRecordCount"]
            return doc["state"] == "inProgress" and 0 < count < 200

        assert wait_for(partly_read, timeout=10)
    finally:
        thread.join()
    assert run_doc(engine, run_id)["metrics"]["recordSummary"]["inputRecordCount"] == 200


def test_backoff_grows_and_honours_retry_after() -> None:
    backoff = Backoff(30, 900)
    assert [backoff.delay(attempt) for attempt in (1, 2, 3, 10)] == [30, 60, 120, 900]
    assert backoff.delay(1, retry_after=300) == 300


@pytest.mark.parametrize("attempt", [1, 2])
def test_backoff_is_never_negative(attempt: int) -> None:
    assert Backoff(0, 0).delay(attempt) == 0


def test_a_read_stopped_early_succeeds_and_says_why(engine: sa.Engine, tmp_path: Path) -> None:
    class BudgetRead(MemoryRead):
        @property
        def stopped(self) -> str | None:
            return "The org's daily API budget share is used up; the rest follows in the next run."

    table = make_accounts(10)
    source = MemorySource(table)
    source.read = lambda cursor: BudgetRead(table, cursor, 5, 0.0, None)  # type: ignore[method-assign]
    run_id = new_run(engine)
    assert RunExecutor(engine, plan_builder(source, tmp_path / "t"), "w1").execute(run_id) == "success"
    copy = run_doc(engine, run_id)["activities"][0]
    assert copy["statusSummary"]["extensions"]["stoppedReason"].startswith("The org's daily API budget")
