"""Worker-side state changes of a run, each one conditional update: the run row is the truth.

* ``claim_run``: ``scheduled -> inProgress`` with owner and heartbeat, only if still scheduled and due;
  of two workers that got the same run id (duplicate delivery), exactly one wins.
* ``touch_run``: heartbeat + progress, only while this owner still holds the run. A worker that lost
  its claim (declared dead, run handed to someone else) learns it here and stops.
* ``requeue_stale_runs``: ``inProgress`` runs whose heartbeat is older than the timeout go back to
  ``scheduled`` (their worker died); never lost, never ``inProgress`` forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from headwater.core.ids import new_etag
from headwater.core.timeutil import now_ms
from headwater.flows.runs import FAILED, IN_PROGRESS, SCHEDULED, SUCCESS
from headwater.store.runtime_tables import DbHandle, affected, flow_runtime, runs

DEFAULT_STALE_AFTER_MS = 60_000


def _flow_is_busy(flow_id: Any) -> sa.ColumnElement[bool]:
    """True when another run of the flow is executing: runs of one flow never overlap (shared cursor)."""
    other = runs.alias("other")
    return sa.exists().where(other.c.flow_id == flow_id, other.c.status == IN_PROGRESS)


def claim_run(conn: DbHandle, run_id: str, owner: str, *, now: int | None = None) -> bool:
    """Take the run for ``owner``; ``False`` when it is not (or no longer, or not yet) claimable, or when
    another run of its flow is executing (both would read from the same cursor and write the same table).
    """
    now = now_ms() if now is None else now
    flow_id = conn.execute(sa.select(runs.c.flow_id).where(runs.c.id == run_id)).scalar_one_or_none()
    if flow_id is None:
        return False
    # Serialise claims per flow: on PostgreSQL the row lock makes the busy check below see the other
    # claimer's committed result; SQLite serialises every write transaction anyway.
    conn.execute(sa.select(flow_runtime.c.flow_id).where(flow_runtime.c.flow_id == flow_id).with_for_update())
    result = conn.execute(
        runs.update()
        .where(
            runs.c.id == run_id,
            runs.c.status == SCHEDULED,
            runs.c.not_before <= now,
            sa.not_(_flow_is_busy(flow_id)),
        )
        .values(
            status=IN_PROGRESS,
            owner=owner,
            heartbeat_at=now,
            attempt=runs.c.attempt + 1,
            started_at=sa.func.coalesce(runs.c.started_at, now),
            etag=new_etag(),
            updated_at=now,
        )
    )
    return affected(result) == 1


def claimable_run_ids(conn: DbHandle, *, limit: int = 10, now: int | None = None) -> list[str]:
    """Due scheduled runs, oldest first, skipping flows that have a run executing."""
    now = now_ms() if now is None else now
    query = (
        sa.select(runs.c.id)
        .where(runs.c.status == SCHEDULED, runs.c.not_before <= now, sa.not_(_flow_is_busy(runs.c.flow_id)))
        .order_by(runs.c.created_at, runs.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def progress_values(progress: Mapping[str, Any]) -> dict[str, Any]:
    """A run's progress JSON and the record counts it holds, which are columns (lists filter on them)."""
    return {
        "progress": dict(progress),
        "records_in": int(progress.get("inputRecordCount", 0)),
        "records_out": int(progress.get("outputRecordCount", 0)),
        "records_failed": int(progress.get("failedRecordCount", 0)),
    }


def touch_run(conn: DbHandle, run_id: str, owner: str, progress: Mapping[str, Any] | None = None) -> bool:
    """Heartbeat (and progress) while ``owner`` holds the run; ``False`` means the claim was lost."""
    now = now_ms()
    values: dict[str, Any] = {"heartbeat_at": now, "updated_at": now}
    if progress is not None:
        values |= progress_values(progress)
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.owner == owner, runs.c.status == IN_PROGRESS)
        .values(**values)
    )
    return affected(result) == 1


def complete_run(
    conn: DbHandle,
    run_id: str,
    owner: str,
    *,
    progress: Mapping[str, Any],
    cursor: Any,
) -> bool:
    """Mark success and advance the flow's cursor — one transaction, after the lake commit succeeded."""
    now = now_ms()
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.owner == owner, runs.c.status == IN_PROGRESS)
        .values(
            status=SUCCESS,
            **progress_values(progress),
            cursor_out=cursor,
            completed_at=now,
            heartbeat_at=now,
            etag=new_etag(),
            updated_at=now,
        )
    )
    if affected(result) != 1:
        return False
    flow_id = conn.execute(sa.select(runs.c.flow_id).where(runs.c.id == run_id)).scalar_one()
    conn.execute(
        flow_runtime.update()
        .where(flow_runtime.c.flow_id == flow_id)
        .values(cursor=cursor, cursor_run_id=run_id, last_run_id=run_id, updated_at=now)
    )
    return True


def fail_run(
    conn: DbHandle,
    run_id: str,
    owner: str,
    *,
    errors: list[dict[str, Any]],
    progress: Mapping[str, Any] | None,
    retry_at: int | None,
) -> str | None:
    """Record a failed attempt: back to ``scheduled`` at ``retry_at`` when given, else ``failed``.

    Returns the new status, or ``None`` when this owner no longer held the run.
    """
    now = now_ms()
    status = SCHEDULED if retry_at is not None else FAILED
    values: dict[str, Any] = {
        "status": status,
        "errors": errors,
        "etag": new_etag(),
        "updated_at": now,
        "owner": None if status == SCHEDULED else owner,
        "heartbeat_at": now,
    }
    if progress is not None:
        values |= progress_values(progress)
    if retry_at is not None:
        values["not_before"] = retry_at
    else:
        values["completed_at"] = now
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.owner == owner, runs.c.status == IN_PROGRESS)
        .values(**values)
    )
    if affected(result) != 1:
        return None
    if status == FAILED:
        flow_id = conn.execute(sa.select(runs.c.flow_id).where(runs.c.id == run_id)).scalar_one()
        conn.execute(
            flow_runtime.update().where(flow_runtime.c.flow_id == flow_id).values(last_run_id=run_id)
        )
    return status


def release_run(conn: DbHandle, run_id: str, owner: str) -> bool:
    """Hand a run back untouched (the process is shutting down): ``scheduled`` again, the attempt not counted."""
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.owner == owner, runs.c.status == IN_PROGRESS)
        .values(
            status=SCHEDULED,
            owner=None,
            not_before=0,
            attempt=runs.c.attempt - 1,
            etag=new_etag(),
            updated_at=now_ms(),
        )
    )
    return affected(result) == 1


def requeue_stale_runs(
    conn: DbHandle, *, stale_after_ms: int = DEFAULT_STALE_AFTER_MS, now: int | None = None
) -> list[str]:
    """Put runs whose worker stopped heart-beating back in the queue; return their ids.

    A run that already used all its attempts this way is marked failed instead, so a run that kills
    its worker every time (out of memory, say) cannot loop forever.
    """
    now = now_ms() if now is None else now
    cutoff = now - stale_after_ms
    stale = conn.execute(
        sa.select(runs.c.id, runs.c.attempt, runs.c.max_attempts).where(
            runs.c.status == IN_PROGRESS, runs.c.heartbeat_at < cutoff
        )
    ).all()
    requeued = []
    for run_id, attempt, max_attempts in stale:
        exhausted = attempt >= max_attempts
        values: dict[str, Any] = {
            "status": FAILED if exhausted else SCHEDULED,
            "owner": None,
            "etag": new_etag(),
            "updated_at": now,
            "not_before": 0,
        }
        if exhausted:
            values["completed_at"] = now
            values["errors"] = [
                {
                    "code": "CONNECTOR-2003-500",
                    "message": f"The worker executing this run stopped responding {attempt} times; the run was abandoned.",
                }
            ]
        result = conn.execute(
            runs.update()
            .where(runs.c.id == run_id, runs.c.status == IN_PROGRESS, runs.c.heartbeat_at < cutoff)
            .values(**values)
        )
        if affected(result) == 1 and not exhausted:
            requeued.append(run_id)
    return requeued


def requeue_runs_of_owners(conn: DbHandle, owners: list[str]) -> list[str]:
    """Put the ``inProgress`` runs of owners known to be dead back in the queue at once (no timeout wait)."""
    if not owners:
        return []
    ids = list(
        conn.execute(
            sa.select(runs.c.id).where(runs.c.status == IN_PROGRESS, runs.c.owner.in_(owners))
        ).scalars()
    )
    if ids:
        conn.execute(
            runs.update()
            .where(runs.c.id.in_(ids), runs.c.status == IN_PROGRESS, runs.c.owner.in_(owners))
            .values(status=SCHEDULED, owner=None, not_before=0, etag=new_etag(), updated_at=now_ms())
        )
    return ids


def in_progress_owners(conn: DbHandle, prefix: str) -> list[str]:
    query = (
        sa.select(runs.c.owner)
        .where(runs.c.status == IN_PROGRESS, runs.c.owner.startswith(prefix))
        .distinct()
    )
    return [owner for owner in conn.execute(query).scalars() if owner]


__all__ = [
    "DEFAULT_STALE_AFTER_MS",
    "claim_run",
    "claimable_run_ids",
    "complete_run",
    "fail_run",
    "in_progress_owners",
    "release_run",
    "requeue_runs_of_owners",
    "requeue_stale_runs",
    "touch_run",
]
