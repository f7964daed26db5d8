"""Run history retention: old finished runs go, each flow keeps its newest, unfinished runs stay."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from headwater.runtime.retention import DAY_MS, RunRetention
from headwater.store.runtime_tables import runs
from headwater.store.testing import bare_flow, run_values

ORG, SANDBOX = "ORG@AdobeOrg", "prod"
NOW = 1_800_000_000_000
_IDS = itertools.count()


def insert_runs(
    engine: sa.Engine, flow_id: str, ages_days: list[float], status: str = "success"
) -> list[str]:
    rows = [
        run_values(
            f"{flow_id}-{next(_IDS)}",
            flow_id,
            ORG,
            SANDBOX,
            created_at=int(NOW - age * DAY_MS),
            status=status,
        )
        for age in ages_days
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(runs), rows)
    return [row["id"] for row in rows]


def remaining(engine: sa.Engine, flow_id: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(runs.c.id).where(runs.c.flow_id == flow_id)).scalars())


def test_retention_keeps_the_period_and_each_flows_newest_runs(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        bare_flow(conn, "busy", ORG, SANDBOX)
        bare_flow(conn, "quiet", ORG, SANDBOX)
    recent = insert_runs(engine, "busy", [i / 10 for i in range(20)])  # the last two days
    old = insert_runs(engine, "busy", [100 + i for i in range(130)])  # older than 90 days, newest first
    quiet = insert_runs(engine, "quiet", [200 + i for i in range(50)])
    gone = insert_runs(engine, "deleted-flow", [300 + i for i in range(10)])  # the flow is gone, runs remain
    stuck = insert_runs(engine, "busy", [400], status="scheduled")  # never finished: never pruned

    pruned = RunRetention(days=90, min_runs=100, batch=7).prune(engine, now=NOW)

    assert pruned == 50
    assert remaining(engine, "busy") == set(recent) | set(old[:80]) | set(stuck)
    assert remaining(engine, "quiet") == set(quiet)  # fewer than the minimum: all kept
    assert remaining(engine, "deleted-flow") == set(gone)
    assert RunRetention(days=90, min_runs=100).prune(engine, now=NOW) == 0  # idempotent


def test_without_a_minimum_everything_past_the_period_goes(engine: sa.Engine) -> None:
    recent = insert_runs(engine, "f", [1, 2])
    insert_runs(engine, "f", [91, 95, 120])
    assert RunRetention(days=90, min_runs=0).prune(engine, now=NOW) == 3
    assert remaining(engine, "f") == set(recent)
