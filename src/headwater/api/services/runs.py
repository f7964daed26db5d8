"""``/runs`` over the runtime's run service functions (contract §5.7, §7.9).

The runtime owns the run rows and their rendering; this module only adapts the query grammar:
``property=flowId==X`` is pushed down to the runtime, any other condition filters the rendered runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from headwater.api.listing import Condition, ListQuery, list_body, parse_query, run_query
from headwater.core.errors import FlowError
from headwater.runtime import runs as runtime
from headwater.store.resources import Scope

MAX_RUNS_SCANNED = 10_000


class CreateRun(BaseModel):
    """``POST /runs``; aepp also sends ``status`` (ignored: a new run is always scheduled)."""

    model_config = ConfigDict(extra="allow")
    flowId: str | None = None
    params: dict[str, Any] | None = None


def create(session: Session, scope: Scope, request: CreateRun) -> dict[str, Any]:
    if not request.flowId:
        raise FlowError(
            "1446-400",
            "Invalid request",
            "The flow ID cannot be null or empty. Please update the flow ID and try again.",
        )
    return {"items": [_on_demand(session, scope, request.flowId, request.params)]}


def run_now(session: Session, scope: Scope, flow_id: str) -> dict[str, str]:
    """The UI's "Run now": an on-demand run of any flow (``POST /runs`` keeps Adobe's once-only rule)."""
    return _on_demand(session, scope, flow_id, None, any_schedule=True)


def _on_demand(
    session: Session,
    scope: Scope,
    flow_id: str,
    params: dict[str, Any] | None,
    *,
    any_schedule: bool = False,
) -> dict[str, str]:
    return runtime.create_run_for_flow(
        session.connection(),
        flow_id=flow_id,
        org_id=scope.org_id,
        sandbox_name=scope.sandbox_name,
        params=params,
        created_by=scope.user,
        created_client=scope.client_id,
        any_schedule=any_schedule,
    )


def get(session: Session, scope: Scope, run_id: str) -> dict[str, Any]:
    run = runtime.get_run(
        session.connection(), run_id=run_id, org_id=scope.org_id, sandbox_name=scope.sandbox_name
    )
    return {"items": [run]}


def list_all(session: Session, scope: Scope, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    query = parse_query(params)
    flow_id, rest = _pushed_down(query)
    documents = runtime.list_runs(
        session.connection(),
        org_id=scope.org_id,
        sandbox_name=scope.sandbox_name,
        flow_id=flow_id,
        limit=MAX_RUNS_SCANNED,
    )
    remaining = ListQuery(
        rest,
        query.order,
        query.descending,
        query.limit,
        query.offset,
        query.count,
        query.raw_properties,
        query.raw_orderby,
    )
    return list_body(run_query(remaining, documents, "/runs"))


def retrigger(session: Session, scope: Scope, run_id: str, op: str | None) -> dict[str, Any]:
    if (op or "").strip().lower() != "re_trigger":
        raise FlowError(
            "1435-400",
            "Invalid request",
            f"Unsupported sub action '{op}' received. Please use one of the supported sub action types and try again.",
        )
    return runtime.retrigger_run(
        session.connection(), run_id=run_id, org_id=scope.org_id, sandbox_name=scope.sandbox_name
    )


def _pushed_down(query: ListQuery) -> tuple[str | None, tuple[Condition, ...]]:
    for condition in query.conditions:
        if condition.path == ("flowId",) and condition.op == "==" and len(condition.values) == 1:
            return condition.values[0], tuple(c for c in query.conditions if c is not condition)
    return None, query.conditions


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
    """Runs as the API renders them (``runtime.run_document``) -> the monitor's rows, newest first."""
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
