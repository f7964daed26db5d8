"""Service functions over flows' runtime state and runs, for the API routes and the monitor.

Every function takes an open ``sa.Connection`` inside the caller's transaction (the route owns it) and
returns plain dicts in Adobe's shapes. Errors are ``FlowError`` / ``NotFoundError`` from core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from headwater.core.errors import FlowError, NotFoundError
from headwater.core.ids import new_etag, new_id
from headwater.core.timeutil import now_ms
from headwater.runtime.run_document import run_document
from headwater.runtime.schedule import Frequency, parse_schedule
from headwater.store.runtime_tables import DbHandle, affected, flow_runtime, runs

SCHEDULED, IN_PROGRESS, SUCCESS, FAILED = "scheduled", "inProgress", "success", "failed"
DEFAULT_MAX_ATTEMPTS = 3


# --- flows' runtime state (called by the flow routes on create / patch / enable / delete) ---------------


def register_flow(
    conn: DbHandle,
    *,
    flow_id: str,
    org_id: str,
    sandbox_name: str,
    schedule_params: Mapping[str, Any],
    enabled: bool = True,
) -> None:
    """Create or update the scheduling state of a flow. A changed schedule starts a new slot generation."""
    parse_schedule(schedule_params)
    row = conn.execute(sa.select(flow_runtime).where(flow_runtime.c.flow_id == flow_id)).mappings().first()
    now = now_ms()
    if row is None:
        conn.execute(
            flow_runtime.insert().values(
                flow_id=flow_id,
                org_id=org_id,
                sandbox_name=sandbox_name,
                schedule_params=dict(schedule_params),
                enabled=enabled,
                generation=0,
                version=0,
                updated_at=now,
            )
        )
        return
    values: dict[str, Any] = {"enabled": enabled, "updated_at": now, "version": row["version"] + 1}
    if dict(row["schedule_params"]) != dict(schedule_params):
        values |= {
            "schedule_params": dict(schedule_params),
            "generation": row["generation"] + 1,
            "next_slot": None,
        }
    conn.execute(flow_runtime.update().where(flow_runtime.c.flow_id == flow_id).values(**values))


def set_flow_enabled(conn: DbHandle, flow_id: str, enabled: bool) -> None:
    conn.execute(
        flow_runtime.update()
        .where(flow_runtime.c.flow_id == flow_id)
        .values(enabled=enabled, updated_at=now_ms(), version=flow_runtime.c.version + 1)
    )


def forget_flow(conn: DbHandle, flow_id: str) -> None:
    """Drop a deleted flow's scheduling state; its runs stay readable (Adobe keeps run history)."""
    conn.execute(flow_runtime.delete().where(flow_runtime.c.flow_id == flow_id))


def flow_state(conn: DbHandle, flow_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(flow_runtime).where(flow_runtime.c.flow_id == flow_id)).mappings().first()
    return dict(row) if row else None


def last_run_details(conn: DbHandle, flow_id: str) -> dict[str, Any] | None:
    """``lastRunDetails`` of a flow: its newest finished run."""
    row = (
        conn.execute(
            sa.select(runs.c.id, runs.c.status, runs.c.started_at, runs.c.completed_at)
            .where(runs.c.flow_id == flow_id, runs.c.status.in_((SUCCESS, FAILED)))
            .order_by(runs.c.completed_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return {
        "id": row["id"],
        "state": row["status"],
        "startedAtUTC": row["started_at"],
        "completedAtUTC": row["completed_at"],
    }


# --- creating runs ------------------------------------------------------------------------------------------


def insert_run(
    conn: DbHandle,
    *,
    flow: Mapping[str, Any],
    slot_key: str,
    trigger: str,
    window_start_ms: int,
    window_end_ms: int,
    params: Mapping[str, Any] | None = None,
    created_by: str = "headwater",
    created_client: str = "headwater",
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str | None:
    """Insert a scheduled run; ``None`` when the slot already has one (the unique key said so)."""
    run_id, now = new_id(), now_ms()
    try:
        with conn.begin_nested():
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    flow_id=flow["flow_id"],
                    org_id=flow["org_id"],
                    sandbox_name=flow["sandbox_name"],
                    slot_key=slot_key,
                    trigger=trigger,
                    status=SCHEDULED,
                    window_start=window_start_ms,
                    window_end=window_end_ms,
                    params=dict(params) if params else None,
                    attempt=0,
                    max_attempts=max_attempts,
                    not_before=0,
                    etag=new_etag(),
                    created_at=now,
                    updated_at=now,
                    created_by=created_by,
                    created_client=created_client,
                )
            )
    except IntegrityError:
        return None
    return run_id


def _flow_in_scope(conn: DbHandle, flow_id: str, org_id: str, sandbox_name: str) -> dict[str, Any]:
    flow = flow_state(conn, flow_id)
    if flow is None or flow["org_id"] != org_id or flow["sandbox_name"] != sandbox_name:
        raise FlowError(
            "1430-400", "Invalid request", f"Flow not found with id {flow_id}.", id=flow_id, type="flows"
        )
    return flow


def _epoch_param(params: Mapping[str, Any], name: str, default: int) -> int:
    """Run window params are documented as epoch seconds; values past year 33658 are taken as ms."""
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise FlowError(
            "1340-400",
            "Bad Request",
            f"An error occurred while parsing {value}. Please check the time format provided in the request and try again.",
        ) from None
    return number if number > 10**12 else number * 1000


def create_run_for_flow(
    conn: DbHandle,
    *,
    flow_id: str,
    org_id: str,
    sandbox_name: str,
    params: Mapping[str, Any] | None = None,
    created_by: str = "headwater",
    created_client: str = "headwater",
    any_schedule: bool = False,
) -> dict[str, str]:
    """``POST /runs``: an on-demand run of a ``once`` flow (Adobe's rule, ERR-SRC 1386) → ``{id, etag}``.

    ``any_schedule`` lifts Adobe's rule for the UI's "Run now": a periodic flow then gets an extra
    run beside its slots. That is safe: runs of one flow never overlap (``claims``) and every run
    reads from the flow's committed cursor, so it lands what changed since the last run.
    """
    flow = _flow_in_scope(conn, flow_id, org_id, sandbox_name)
    schedule = parse_schedule(flow["schedule_params"])
    if schedule.frequency is not Frequency.ONCE and not any_schedule:
        raise FlowError(
            "1386-400",
            "Bad Request",
            f"The flowId={flow_id} with scheduleParams frequency={schedule.frequency.value} is not supported for "
            "creating flow runs. Please provide a valid frequency and try again.",
        )
    params = dict(params or {})
    now = now_ms()
    start = _epoch_param(params, "windowStartTime", 0)
    end = _epoch_param(params, "windowEndTime", now)
    if end < start:
        raise FlowError(
            "1381-400",
            "Bad Request",
            f"WindowEndTime={params.get('windowEndTime')} cannot be before Window StartTime={params.get('windowStartTime')}. "
            "Please provide a valid end time and try again.",
        )
    run_id = new_id()
    inserted = insert_run(
        conn,
        flow=flow,
        slot_key=f"ondemand:{run_id}",
        trigger="onDemand",
        window_start_ms=start,
        window_end_ms=end,
        params=params,
        created_by=created_by,
        created_client=created_client,
    )
    assert inserted is not None  # a fresh random slot key cannot collide
    return _id_and_etag(conn, inserted)


def retrigger_run(conn: DbHandle, *, run_id: str, org_id: str, sandbox_name: str) -> dict[str, str]:
    """``POST /runs/{id}/action?op=re_trigger``: a failed run of an enabled flow is scheduled again."""
    row = _run_row(conn, run_id, org_id, sandbox_name)
    flow = flow_state(conn, row["flow_id"])
    if flow is None or not flow["enabled"]:
        state = "disabled" if flow is not None else "deleted"
        raise FlowError(
            "1388-400",
            "Bad Request",
            f"The flow={row['flow_id']} is in state={state} and cannot be re-triggered. "
            "The flow must be in enabled state for re-triggering.",
        )
    updated = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.status == FAILED)
        .values(
            status=SCHEDULED,
            attempt=0,
            not_before=0,
            owner=None,
            heartbeat_at=None,
            errors=None,
            progress=None,
            started_at=None,
            completed_at=None,
            etag=new_etag(),
            updated_at=now_ms(),
        )
    )
    if affected(updated) != 1:
        raise FlowError(
            "1387-400",
            "Bad Request",
            f"The flowRunId={run_id} is in an invalid state={row['status']} for re-triggering. "
            "Please try again after some time and contact customer support if the problem persists.",
        )
    return _id_and_etag(conn, run_id)


# --- reading runs -------------------------------------------------------------------------------------------


def _run_row(conn: DbHandle, run_id: str, org_id: str, sandbox_name: str) -> dict[str, Any]:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None or row["org_id"] != org_id or row["sandbox_name"] != sandbox_name:
        raise NotFoundError("runs", run_id)
    return dict(row)


def _id_and_etag(conn: DbHandle, run_id: str) -> dict[str, str]:
    etag = conn.execute(sa.select(runs.c.etag).where(runs.c.id == run_id)).scalar_one()
    return {"id": run_id, "etag": etag}


def get_run(conn: DbHandle, *, run_id: str, org_id: str, sandbox_name: str) -> dict[str, Any]:
    """``GET /runs/{id}``: the run in Adobe's shape (wrap in ``{"items": [...]}`` at the route)."""
    return render_run(_run_row(conn, run_id, org_id, sandbox_name))


def list_runs(
    conn: DbHandle,
    *,
    org_id: str,
    sandbox_name: str,
    flow_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
    start: int = 0,
) -> list[dict[str, Any]]:
    """``GET /runs?property=flowId==X``: newest first, scoped to org and sandbox."""
    query = sa.select(runs).where(runs.c.org_id == org_id, runs.c.sandbox_name == sandbox_name)
    if flow_id is not None:
        query = query.where(runs.c.flow_id == flow_id)
    if status is not None:
        query = query.where(runs.c.status == status)
    query = query.order_by(runs.c.created_at.desc(), runs.c.id).limit(limit).offset(start)
    return [render_run(dict(row)) for row in conn.execute(query).mappings()]


def render_run(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run row as Adobe's ``FlowRunItemDTO`` (MON example): metrics, activities, errors."""
    return run_document(row)


__all__ = [
    "FAILED",
    "IN_PROGRESS",
    "SCHEDULED",
    "SUCCESS",
    "create_run_for_flow",
    "flow_state",
    "forget_flow",
    "get_run",
    "insert_run",
    "last_run_details",
    "list_runs",
    "register_flow",
    "render_run",
    "retrigger_run",
    "set_flow_enabled",
]
