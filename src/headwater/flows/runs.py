"""Runs and the scheduling state of flows: what ``/runs`` and the flow routes do to them.

Every function takes an open connection or session inside the caller's transaction (the route owns it)
and returns plain dicts in Adobe's shapes. Errors are domain errors; the API's table gives their codes.

Lists compile to SQL over ``hw_runs`` (``RUN_FIELDS``): ``flowId``, ``state``, the metrics' times and
record counts are indexed or real columns; a run's document is rendered from its row
(``run_document``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError

from headwater.core.errors import Conflict, Invalid, NotFound
from headwater.core.ids import new_etag, new_id
from headwater.core.scope import Scope
from headwater.core.timeutil import now_ms
from headwater.domain.collection import DEFAULT_LIMIT, Listing
from headwater.flows.run_document import run_document
from headwater.flows.schedule import Frequency, parse_schedule
from headwater.store import listing
from headwater.store.listing import Column, FieldMap, ListQuery
from headwater.store.runtime_tables import DbHandle, affected, flow_runtime, runs

SCHEDULED, IN_PROGRESS, SUCCESS, FAILED = "scheduled", "inProgress", "success", "failed"
FINISHED = (SUCCESS, FAILED)
DEFAULT_MAX_ATTEMPTS = 3

RUN_FIELDS = FieldMap(
    {
        "id": Column(runs.c.id, sortable=True),
        "flowId": Column(runs.c.flow_id, sortable=True),
        "state": Column(runs.c.status, sortable=True),
        "createdAt": Column(runs.c.created_at, int, sortable=True),
        "updatedAt": Column(runs.c.updated_at, int, sortable=True),
        "createdBy": Column(runs.c.created_by),
        "createdClient": Column(runs.c.created_client),
        "sandboxName": Column(runs.c.sandbox_name),
        "imsOrgId": Column(runs.c.org_id),
        "etag": Column(runs.c.etag),
        "flowSpec.id": Column(runs.c.flow_spec_id, nullable=True),
        "windowStartTime": Column(runs.c.window_start, int, sortable=True),
        "windowEndTime": Column(runs.c.window_end, int, sortable=True),
        "metrics.durationSummary.startedAtUTC": Column(runs.c.started_at, int, nullable=True),
        "metrics.durationSummary.completedAtUTC": Column(runs.c.completed_at, int, nullable=True),
        "metrics.statusSummary.status": Column(runs.c.status),
        "metrics.recordSummary.inputRecordCount": Column(runs.c.records_in, int),
        "metrics.recordSummary.outputRecordCount": Column(runs.c.records_out, int),
        "metrics.recordSummary.failedRecordCount": Column(runs.c.records_failed, int),
    },
    id_column=runs.c.id,
    default_order="createdAt",
    default_descending=True,
)


# --- flows' runtime state (written with the flow, in the route's transaction) ---------------------------


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


_LAST = runs.alias("last_run")


def last_run_query(flow_id: Any, column: Any = None) -> sa.Select[Any]:
    """The newest finished run of a flow (``lastRunDetails``), on the ``ix_hw_runs_flow_completed`` index.
    ``flow_id`` may be a value or a column of an outer query (then ``column`` picks one column of the
    run for a correlated scalar subquery)."""
    picked = (
        [_LAST.c.id, _LAST.c.status, _LAST.c.started_at, _LAST.c.completed_at] if column is None else [column]
    )
    return (
        sa.select(*picked)
        .where(_LAST.c.flow_id == flow_id, _LAST.c.status.in_(FINISHED))
        .order_by(_LAST.c.completed_at.desc())
        .limit(1)
    )


def last_run_column(flow_id: Any, name: str) -> sa.ColumnElement[Any]:
    """One column of a flow's newest finished run, as a scalar subquery correlated on ``flow_id``."""
    return last_run_query(flow_id, _LAST.c[name]).scalar_subquery()


def _details(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.status,
        "startedAtUTC": row.started_at,
        "completedAtUTC": row.completed_at,
    }


def last_run_details(conn: DbHandle, flow_id: str) -> dict[str, Any] | None:
    """``lastRunDetails`` of a flow: its newest finished run."""
    row = conn.execute(last_run_query(flow_id)).first()
    return _details(row) if row is not None else None


def last_run_details_many(conn: DbHandle, flow_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``lastRunDetails`` of several flows (a page of ``GET /flows``): the newest finished run's id per
    flow (one indexed lookup each, in one query), then those runs by primary key."""
    from headwater.store.models import Flow

    ids = sorted(set(flow_ids))
    if not ids:
        return {}
    newest = conn.execute(sa.select(Flow.id, last_run_column(Flow.id, "id")).where(Flow.id.in_(ids))).all()
    by_run = {run_id: flow_id for flow_id, run_id in newest if run_id is not None}
    if not by_run:
        return {}
    query = sa.select(runs.c.id, runs.c.status, runs.c.started_at, runs.c.completed_at).where(
        runs.c.id.in_(by_run)
    )
    return {by_run[row.id]: _details(row) for row in conn.execute(query)}


# --- retention --------------------------------------------------------------------------------------------


def prune_runs(conn: DbHandle, *, older_than_ms: int, keep_per_flow: int, budget: int = 10_000) -> int:
    """Delete finished runs created before ``older_than_ms``, keeping each flow's newest ``keep_per_flow``
    runs whatever their age. At most ``budget`` rows per call (call again until it returns 0). Runs of
    deleted flows age out the same way. Returns how many runs were deleted."""
    deleted = 0
    candidates = (
        sa.select(runs.c.flow_id)
        .where(runs.c.created_at < older_than_ms, runs.c.status.in_(FINISHED))
        .group_by(runs.c.flow_id)
    )
    for flow_id in conn.execute(candidates).scalars().all():
        if deleted >= budget:
            break
        kept_from = conn.execute(
            sa.select(runs.c.created_at)
            .where(runs.c.flow_id == flow_id)
            .order_by(runs.c.created_at.desc(), runs.c.id.desc())
            .offset(max(keep_per_flow - 1, 0))
            .limit(1)
        ).scalar_one_or_none()
        if kept_from is None and keep_per_flow > 0:
            continue  # fewer runs than the minimum kept
        cutoff = older_than_ms if kept_from is None else min(older_than_ms, kept_from)
        doomed = (
            sa.select(runs.c.id)
            .where(runs.c.flow_id == flow_id, runs.c.created_at < cutoff, runs.c.status.in_(FINISHED))
            .limit(budget - deleted)
        )
        ids = list(conn.execute(doomed).scalars())
        if ids:
            deleted += affected(conn.execute(runs.delete().where(runs.c.id.in_(ids))))
    return deleted


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
    from headwater.store.models import Flow

    run_id, now = new_id(), now_ms()
    spec_id = conn.execute(
        sa.select(Flow.flow_spec_id).where(Flow.id == flow["flow_id"])
    ).scalar_one_or_none()
    try:
        with conn.begin_nested():
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    flow_id=flow["flow_id"],
                    org_id=flow["org_id"],
                    sandbox_name=flow["sandbox_name"],
                    flow_spec_id=spec_id,
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
        raise Invalid("run.flow_unknown", f"Flow not found with id {flow_id}.", id=flow_id, type="flows")
    return flow


def _epoch_param(params: Mapping[str, Any], name: str, default: int) -> int:
    """Run window params are documented as epoch seconds; values past year 33658 are taken as ms."""
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise Invalid(
            "schedule.time_format",
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
        raise Invalid(
            "run.frequency_not_once",
            f"The flowId={flow_id} with scheduleParams frequency={schedule.frequency.value} is not supported for "
            "creating flow runs. Please provide a valid frequency and try again.",
        )
    params = dict(params or {})
    start = _epoch_param(params, "windowStartTime", 0)
    end = _epoch_param(params, "windowEndTime", now_ms())
    if end < start:
        raise Invalid(
            "run.window_end_before_start",
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
        raise Conflict(
            "run.flow_not_enabled",
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
            records_in=0,
            records_out=0,
            records_failed=0,
            started_at=None,
            completed_at=None,
            etag=new_etag(),
            updated_at=now_ms(),
        )
    )
    if affected(updated) != 1:
        raise Conflict(
            "run.not_failed",
            f"The flowRunId={run_id} is in an invalid state={row['status']} for re-triggering. "
            "Please try again after some time and contact customer support if the problem persists.",
        )
    return _id_and_etag(conn, run_id)


# --- the /runs service (routes and the UI) -----------------------------------------------------------------


class CreateRun(BaseModel):
    """``POST /runs``; aepp also sends ``status`` (ignored: a new run is always scheduled)."""

    model_config = ConfigDict(extra="allow")
    flowId: str | None = None
    params: dict[str, Any] | None = None


def _connection(db: DbHandle) -> sa.Connection:
    return db if isinstance(db, sa.Connection) else db.connection()


def create(db: DbHandle, scope: Scope, request: CreateRun) -> dict[str, Any]:
    if not request.flowId:
        raise Invalid(
            "run.flow_id_missing",
            "The flow ID cannot be null or empty. Please update the flow ID and try again.",
        )
    return {"items": [_on_demand(db, scope, request.flowId, request.params)]}


def run_now(db: DbHandle, scope: Scope, flow_id: str) -> dict[str, str]:
    """The UI's "Run now": an on-demand run of any flow (``POST /runs`` keeps Adobe's once-only rule)."""
    return _on_demand(db, scope, flow_id, None, any_schedule=True)


def _on_demand(
    db: DbHandle, scope: Scope, flow_id: str, params: dict[str, Any] | None, *, any_schedule: bool = False
) -> dict[str, str]:
    return create_run_for_flow(
        _connection(db),
        flow_id=flow_id,
        org_id=scope.org_id,
        sandbox_name=scope.sandbox_name,
        params=params,
        created_by=scope.user,
        created_client=scope.client_id,
        any_schedule=any_schedule,
    )


def get(db: DbHandle, scope: Scope, run_id: str) -> dict[str, Any]:
    return {
        "items": [
            get_run(_connection(db), run_id=run_id, org_id=scope.org_id, sandbox_name=scope.sandbox_name)
        ]
    }


def page(db: DbHandle, scope: Scope, query: ListQuery) -> Listing:
    """``GET /runs``: filters, order and keyset pages in SQL; newest first by default."""
    base = sa.select(runs).where(runs.c.org_id == scope.org_id, runs.c.sandbox_name == scope.sandbox_name)
    if query.count:
        return Listing([], count=listing.count_rows(db, base, query, RUN_FIELDS))
    found = listing.fetch_page(db, base, query, RUN_FIELDS, default_limit=DEFAULT_LIMIT, entity=False)
    return Listing([run_document(row._mapping) for row in found.rows], found.after)


def retrigger(db: DbHandle, scope: Scope, run_id: str, op: str | None) -> dict[str, Any]:
    if (op or "").strip().lower() != "re_trigger":
        raise Invalid(
            "action.unsupported",
            f"Unsupported sub action '{op}' received. Please use one of the supported sub action types and try again.",
        )
    return retrigger_run(_connection(db), run_id=run_id, org_id=scope.org_id, sandbox_name=scope.sandbox_name)


# --- reading runs -------------------------------------------------------------------------------------------


def _run_row(conn: DbHandle, run_id: str, org_id: str, sandbox_name: str) -> dict[str, Any]:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None or row["org_id"] != org_id or row["sandbox_name"] != sandbox_name:
        raise NotFound("runs", run_id)
    return dict(row)


def _id_and_etag(conn: DbHandle, run_id: str) -> dict[str, str]:
    etag = conn.execute(sa.select(runs.c.etag).where(runs.c.id == run_id)).scalar_one()
    return {"id": run_id, "etag": etag}


def get_run(conn: DbHandle, *, run_id: str, org_id: str, sandbox_name: str) -> dict[str, Any]:
    """``GET /runs/{id}``: the run in Adobe's shape (wrap in ``{"items": [...]}`` at the route)."""
    return run_document(_run_row(conn, run_id, org_id, sandbox_name))


def list_runs(
    conn: DbHandle,
    *,
    org_id: str,
    sandbox_name: str,
    flow_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest runs of a scope (of one flow, in one state) as documents: for the runtime and tests."""
    query = sa.select(runs).where(runs.c.org_id == org_id, runs.c.sandbox_name == sandbox_name)
    if flow_id is not None:
        query = query.where(runs.c.flow_id == flow_id)
    if status is not None:
        query = query.where(runs.c.status == status)
    query = query.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
    return [run_document(dict(row)) for row in conn.execute(query).mappings()]


def render_run(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run row as Adobe's ``FlowRunItemDTO`` (MON example): metrics, activities, errors."""
    return run_document(row)


# --- a run document read back (the UI's monitor, the demo's progress) ----------------------------------


@dataclass(frozen=True)
class RunRow:
    id: str
    state: str
    trigger: str
    records_in: int
    records_out: int
    records_failed: int
    started: int | None
    completed: int | None
    created: int
    errors: list[dict[str, str]]

    @property
    def duration_ms(self) -> int | None:
        if self.started is None or self.completed is None:
            return None
        return max(0, int(self.completed) - int(self.started))

    @property
    def active(self) -> bool:
        return self.state in ("scheduled", "inProgress", "pending", "queued")


def run_rows(documents: Sequence[Mapping[str, Any]]) -> list[RunRow]:
    """Runs as the API renders them (``run_document``) -> the monitor's rows, newest first."""
    rows = []
    for doc in documents:
        metrics = doc.get("metrics") or {}
        records = metrics.get("recordSummary") or {}
        duration = metrics.get("durationSummary") or {}
        status = metrics.get("statusSummary") or {}
        trigger = next(
            (
                str(((a.get("statusSummary") or {}).get("extensions") or {}).get("type", ""))
                for a in doc.get("activities") or []
                if a.get("id") == "copyActivity"
            ),
            "",
        )
        rows.append(
            RunRow(
                id=str(doc["id"]),
                state=str(doc.get("state", "")),
                trigger=trigger,
                records_in=int(records.get("inputRecordCount", 0)),
                records_out=int(records.get("outputRecordCount", 0)),
                records_failed=int(records.get("failedRecordCount", 0)),
                started=duration.get("startedAtUTC"),
                completed=duration.get("completedAtUTC"),
                created=int(doc.get("createdAt") or 0),
                errors=[
                    {"code": str(e.get("code", "")), "message": str(e.get("message", ""))}
                    for e in status.get("errors") or []
                    if isinstance(e, Mapping)
                ],
            )
        )
    return rows


__all__ = [
    "FAILED",
    "FINISHED",
    "IN_PROGRESS",
    "RUN_FIELDS",
    "SCHEDULED",
    "SUCCESS",
    "CreateRun",
    "RunRow",
    "create",
    "create_run_for_flow",
    "flow_state",
    "forget_flow",
    "get",
    "get_run",
    "insert_run",
    "last_run_details",
    "last_run_details_many",
    "list_runs",
    "page",
    "prune_runs",
    "register_flow",
    "render_run",
    "retrigger",
    "retrigger_run",
    "run_now",
    "run_rows",
    "set_flow_enabled",
]
