"""Run creation, claims, heartbeats, stale recovery and the monitor — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from headwater.api.error_codes import code_of
from headwater.core.errors import DomainError, NotFound
from headwater.flows.runs import (
    create_run_for_flow,
    flow_state,
    get_run,
    last_run_details,
    list_runs,
    retrigger_run,
    set_flow_enabled,
)
from headwater.flows.testing import registered_flow
from headwater.runtime.claims import (
    claim_run,
    claimable_run_ids,
    complete_run,
    fail_run,
    requeue_stale_runs,
    touch_run,
)
from headwater.runtime.monitor import create_due_runs
from headwater.store.runtime_tables import runs

ORG, SANDBOX = "ORG@AdobeOrg", "prod"
START = 1_700_000_000


def add_flow(engine: sa.Engine, flow_id: str = "flow-1", **schedule: object) -> None:
    params = schedule or {"startTime": str(START), "frequency": "hour", "interval": "1"}
    with engine.begin() as conn:
        registered_flow(conn, flow_id=flow_id, org_id=ORG, sandbox_name=SANDBOX, schedule_params=params)


def run_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()


def test_monitor_creates_one_run_per_due_slot(engine: sa.Engine) -> None:
    add_flow(engine)
    assert create_due_runs(engine, now_seconds=START - 1) == []
    first = create_due_runs(engine, now_seconds=START + 5)
    assert len(first) == 1
    assert create_due_runs(engine, now_seconds=START + 6) == []  # same slot: nothing new
    second = create_due_runs(engine, now_seconds=START + 3600)
    assert len(second) == 1 and run_count(engine) == 2
    with engine.connect() as conn:
        doc = get_run(conn, run_id=second[0], org_id=ORG, sandbox_name=SANDBOX)
    assert doc["state"] == "scheduled" and doc["flowId"] == "flow-1"
    assert (doc["windowStartTime"], doc["windowEndTime"]) == (START * 1000, (START + 3600) * 1000)


def test_monitor_catches_up_after_downtime_with_one_run(engine: sa.Engine) -> None:
    add_flow(engine)
    create_due_runs(engine, now_seconds=START + 1)
    created = create_due_runs(engine, now_seconds=START + 10 * 3600 + 1)  # nine hours down
    assert len(created) == 1
    with engine.connect() as conn:
        doc = get_run(conn, run_id=created[0], org_id=ORG, sandbox_name=SANDBOX)
        state = flow_state(conn, "flow-1")
    assert doc["windowStartTime"] == START * 1000 and doc["windowEndTime"] == (START + 10 * 3600) * 1000
    assert state is not None and state["next_slot"] == 11


def test_disabled_flow_gets_no_runs_and_cannot_be_retriggered(engine: sa.Engine) -> None:
    add_flow(engine)
    with engine.begin() as conn:
        set_flow_enabled(conn, "flow-1", False)
    assert create_due_runs(engine, now_seconds=START + 1) == []


def test_changed_schedule_starts_a_new_slot_generation(engine: sa.Engine) -> None:
    add_flow(engine)
    create_due_runs(engine, now_seconds=START + 1)
    add_flow(engine, startTime=str(START), frequency="day", interval="1")
    created = create_due_runs(engine, now_seconds=START + 2)
    assert len(created) == 1  # slot 0 of the new schedule, not refused as a duplicate of the old slot 0


def test_racing_monitors_create_one_run_per_slot(engine: sa.Engine) -> None:
    for index in range(5):
        add_flow(engine, f"flow-{index}")
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def monitor() -> None:
        barrier.wait()
        for step in range(3):
            results.append(create_due_runs(engine, now_seconds=START + step * 3600 + 1))

    threads = [threading.Thread(target=monitor) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [run_id for batch in results for run_id in batch]
    assert len(created) == len(set(created)) == run_count(engine) == 15
    with engine.connect() as conn:
        keys = conn.execute(sa.select(runs.c.flow_id, runs.c.slot_key)).all()
    assert len(keys) == len(set(keys)) == 15


def test_exactly_one_of_many_claimers_wins(engine: sa.Engine) -> None:
    add_flow(engine)
    (run_id,) = create_due_runs(engine, now_seconds=START + 1)
    barrier = threading.Barrier(6)
    wins: list[str] = []

    def claimer(name: str) -> None:
        barrier.wait()
        with engine.begin() as conn:
            if claim_run(conn, run_id, name):
                wins.append(name)

    threads = [threading.Thread(target=claimer, args=(f"w{index}",)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().one()
    assert row["status"] == "inProgress" and row["owner"] == wins[0] and row["attempt"] == 1


def test_success_advances_the_cursor_and_last_run_details(engine: sa.Engine) -> None:
    add_flow(engine)
    (run_id,) = create_due_runs(engine, now_seconds=START + 1)
    with engine.begin() as conn:
        assert claim_run(conn, run_id, "w1")
        assert touch_run(conn, run_id, "w1", {"inputRecordCount": 5})
        assert not touch_run(conn, run_id, "intruder")
        assert complete_run(
            conn, run_id, "w1", progress={"inputRecordCount": 10, "outputRecordCount": 10}, cursor={"t": 1}
        )
        assert not complete_run(conn, run_id, "w1", progress={}, cursor={"t": 2})  # not twice
    with engine.connect() as conn:
        state = flow_state(conn, "flow-1")
        doc = get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)
        details = last_run_details(conn, "flow-1")
    assert state is not None and state["cursor"] == {"t": 1} and state["cursor_run_id"] == run_id
    assert doc["metrics"]["recordSummary"] == {
        "inputRecordCount": 10,
        "outputRecordCount": 10,
        "failedRecordCount": 0,
    }
    assert doc["metrics"]["statusSummary"]["status"] == "success"
    assert details is not None and details["id"] == run_id and details["state"] == "success"


def test_failure_with_retry_waits_for_back_off(engine: sa.Engine) -> None:
    add_flow(engine)
    (run_id,) = create_due_runs(engine, now_seconds=START + 1)
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        claim_run(conn, run_id, "w1")
        error = [{"code": "CONNECTOR-2002-503", "message": "Salesforce was unavailable."}]
        assert fail_run(conn, run_id, "w1", errors=error, progress=None, retry_at=now + 60_000) == "scheduled"
        assert claimable_run_ids(conn, now=now) == []
        assert not claim_run(conn, run_id, "w2", now=now)
        assert claimable_run_ids(conn, now=now + 60_000) == [run_id]
        assert claim_run(conn, run_id, "w2", now=now + 60_000)
        assert fail_run(conn, run_id, "w2", errors=error, progress=None, retry_at=None) == "failed"
    with engine.connect() as conn:
        doc = get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)
        details = last_run_details(conn, "flow-1")
    assert doc["state"] == "failed" and doc["metrics"]["statusSummary"]["errors"] == error
    assert details is not None and details["state"] == "failed"


def test_stale_in_progress_run_is_requeued_then_abandoned(engine: sa.Engine) -> None:
    add_flow(engine)
    (run_id,) = create_due_runs(engine, now_seconds=START + 1)
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(max_attempts=2))
        claim_run(conn, run_id, "dead-worker", now=now)
        assert requeue_stale_runs(conn, stale_after_ms=30_000, now=now + 10_000) == []
        assert requeue_stale_runs(conn, stale_after_ms=30_000, now=now + 31_000) == [run_id]
        assert not touch_run(conn, run_id, "dead-worker")  # the old owner lost it
        assert claim_run(conn, run_id, "w2", now=now + 31_000)
        assert requeue_stale_runs(conn, stale_after_ms=30_000, now=now + 70_000) == []
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().one()
    assert row["status"] == "failed" and row["errors"][0]["code"] == "CONNECTOR-2003-500"


def test_on_demand_runs_need_a_once_flow(engine: sa.Engine) -> None:
    add_flow(engine, "hourly")
    add_flow(engine, "once", startTime=str(START), frequency="once")
    with engine.begin() as conn:
        with pytest.raises(DomainError) as info:
            create_run_for_flow(conn, flow_id="hourly", org_id=ORG, sandbox_name=SANDBOX)
        assert code_of(info.value)[0] == "1386-400"
        with pytest.raises(DomainError) as info:
            create_run_for_flow(conn, flow_id="missing", org_id=ORG, sandbox_name=SANDBOX)
        assert code_of(info.value)[0] == "1430-400"
        with pytest.raises(DomainError) as info:
            create_run_for_flow(conn, flow_id="once", org_id=ORG, sandbox_name="dev")
        assert code_of(info.value)[0] == "1430-400"
        with pytest.raises(DomainError) as info:
            create_run_for_flow(
                conn,
                flow_id="once",
                org_id=ORG,
                sandbox_name=SANDBOX,
                params={"windowStartTime": "1651584991", "windowEndTime": "1651584000"},
            )
        assert code_of(info.value)[0] == "1381-400"
        created = create_run_for_flow(
            conn,
            flow_id="once",
            org_id=ORG,
            sandbox_name=SANDBOX,
            params={
                "startTime": "1663735590",
                "windowStartTime": "1651584991",
                "windowEndTime": "1651585956",
            },
        )
        assert created["etag"].startswith('"')
        doc = get_run(conn, run_id=created["id"], org_id=ORG, sandbox_name=SANDBOX)
    assert doc["metrics"]["statusSummary"]["status"] == "scheduled" and doc["activities"] == []
    assert doc["windowStartTime"] == 1651584991000
    with engine.begin() as conn:  # the UI's Run now lifts the once-only rule
        extra = create_run_for_flow(
            conn, flow_id="hourly", org_id=ORG, sandbox_name=SANDBOX, any_schedule=True
        )
        doc = get_run(conn, run_id=extra["id"], org_id=ORG, sandbox_name=SANDBOX)
    assert doc["flowId"] == "hourly" and doc["metrics"]["statusSummary"]["status"] == "scheduled"


def test_retrigger_only_failed_runs_of_enabled_flows(engine: sa.Engine) -> None:
    add_flow(engine)
    (run_id,) = create_due_runs(engine, now_seconds=START + 1)
    with engine.begin() as conn:
        with pytest.raises(DomainError) as info:
            retrigger_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)
        assert code_of(info.value)[0] == "1387-400"
        claim_run(conn, run_id, "w1")
        fail_run(
            conn,
            run_id,
            "w1",
            errors=[{"code": "CONNECTOR-2001-500", "message": "x"}],
            progress=None,
            retry_at=None,
        )
        set_flow_enabled(conn, "flow-1", False)
        with pytest.raises(DomainError) as info:
            retrigger_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)
        assert code_of(info.value)[0] == "1388-400"
        set_flow_enabled(conn, "flow-1", True)
        before = get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)["etag"]
        answer = retrigger_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)
        assert answer["id"] == run_id and answer["etag"] != before
        doc = get_run(conn, run_id=run_id, org_id=ORG, sandbox_name=SANDBOX)
    assert doc["state"] == "scheduled" and doc["metrics"]["statusSummary"]["errors"] == []


def test_runs_are_scoped_by_org_and_sandbox(engine: sa.Engine) -> None:
    add_flow(engine)
    (run_id,) = create_due_runs(engine, now_seconds=START + 1)
    with engine.connect() as conn:
        with pytest.raises(NotFound):
            get_run(conn, run_id=run_id, org_id="OTHER@AdobeOrg", sandbox_name=SANDBOX)
        assert list_runs(conn, org_id=ORG, sandbox_name="dev") == []
        listed = list_runs(conn, org_id=ORG, sandbox_name=SANDBOX, flow_id="flow-1")
        assert [item["id"] for item in listed] == [run_id]
        assert list_runs(conn, org_id=ORG, sandbox_name=SANDBOX, flow_id="flow-1", status="success") == []


def test_runs_of_one_flow_never_execute_at_the_same_time(engine: sa.Engine) -> None:
    add_flow(engine, "once", startTime=str(START), frequency="once")
    with engine.begin() as conn:
        first = create_run_for_flow(conn, flow_id="once", org_id=ORG, sandbox_name=SANDBOX)["id"]
        second = create_run_for_flow(conn, flow_id="once", org_id=ORG, sandbox_name=SANDBOX)["id"]
    barrier = threading.Barrier(2)
    wins: list[str] = []

    def claimer(run_id: str) -> None:
        barrier.wait()
        with engine.begin() as conn:
            if claim_run(conn, run_id, f"owner-of-{run_id}"):
                wins.append(run_id)

    threads = [threading.Thread(target=claimer, args=(run_id,)) for run_id in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    (loser,) = {first, second} - set(wins)
    with engine.begin() as conn:
        assert claimable_run_ids(conn) == []  # the flow is busy
        complete_run(conn, wins[0], f"owner-of-{wins[0]}", progress={}, cursor=None)
        assert claimable_run_ids(conn) == [loser]
        assert claim_run(conn, loser, "next")


def test_migration_matches_the_runtime_tables(engine: sa.Engine) -> None:
    from headwater.store.runtime_tables import runtime_metadata

    inspector = sa.inspect(engine)
    for table in runtime_metadata.sorted_tables:
        migrated = {column["name"]: column for column in inspector.get_columns(table.name)}
        assert set(migrated) == set(table.columns.keys()), table.name
        for column in table.columns:
            assert migrated[column.name]["nullable"] == column.nullable, (table.name, column.name)
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        assert {index.name for index in table.indexes} <= indexes
    uniques = {constraint["name"] for constraint in inspector.get_unique_constraints("hw_runs")}
    assert "uq_hw_runs_flow_slot" in uniques


def test_service_functions_work_inside_an_orm_session(engine: sa.Engine) -> None:
    """Routes hold a SQLAlchemy ``Session``; the service functions accept it like a connection."""
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        registered_flow(
            session,
            flow_id="s",
            org_id=ORG,
            sandbox_name=SANDBOX,
            schedule_params={"startTime": START, "frequency": "once"},
        )
        created = create_run_for_flow(session, flow_id="s", org_id=ORG, sandbox_name=SANDBOX)
        assert (
            get_run(session, run_id=created["id"], org_id=ORG, sandbox_name=SANDBOX)["state"] == "scheduled"
        )
        assert claim_run(session, created["id"], "w")
        fail_run(session, created["id"], "w", errors=[], progress=None, retry_at=None)
        assert (
            retrigger_run(session, run_id=created["id"], org_id=ORG, sandbox_name=SANDBOX)["id"]
            == created["id"]
        )
        assert [run["id"] for run in list_runs(session, org_id=ORG, sandbox_name=SANDBOX, flow_id="s")] == [
            created["id"]
        ]
