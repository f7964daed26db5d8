"""Dataflows: the builder (``/ui/flows/new``), the monitor list and a flow's runs with its chart.

Everything goes through the services the API uses: the builder's mapping check is
``dataprep.mapping_sets.check_entries`` (the Data Prep engine, as ``POST /mappingSets`` and the flow's
Mapping check), creation is ``SourceConnections``/``datasets``/``TargetConnections``/``mapping_sets``/
``Flows`` in one transaction (nothing is left half-made), "Run now" is ``flows.runs.run_now``
(``POST /runs`` without Adobe's once-only rule), enable/disable is ``Flows.action`` and re-trigger is
``flows.runs.retrigger``.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from headwater.catalog import datasets
from headwater.connections.sources import CreateSourceConnection, SourceConnections
from headwater.connections.targets import CreateTargetConnection, TargetConnections
from headwater.core.errors import DomainError, HeadwaterError, Invalid
from headwater.dataprep import mapping_sets
from headwater.domain.wire import SpecRef
from headwater.flows import runs
from headwater.flows.flows import CreateFlow, Flows
from headwater.specs import DATA_LAKE_SPEC_ID
from headwater.store.listing import ListQuery
from headwater.ui import web
from headwater.ui.flowparts import (
    FREQUENCIES,
    SOURCE_TYPES,
    Draft,
    MappingRow,
    date_columns,
    default_start,
    run_chart,
)

router = APIRouter()
CurrentUser = Annotated[web.User, Depends(web.current_user)]
ACTIVE_POLL, IDLE_POLL = "2s", "15s"
SHOWN = 1000  # rows per list page (paging arrives with the UI issue)
RUNS_SHOWN = 100


def _flows(request: Request) -> Flows:
    return Flows(web.state_of(request).specs)


# --- the builder: source, columns, dataset, mapping, schedule, review, create ---------------------------


async def _accounts(request: Request, user: web.User) -> list[dict[str, Any]]:
    state = web.state_of(request)
    connections = state.connections()
    listed = await web.call(
        request, lambda db: connections.list(db, user.scope, ListQuery(limit=SHOWN)), read_only=True
    )
    sources = {spec["id"] for spec in state.specs.connection_specs.sources()}
    return [item for item in listed.items if (item.get("connectionSpec") or {}).get("id") in sources]


async def _objects(request: Request, user: web.User, account: str) -> tuple[list[dict[str, Any]], str]:
    if not account:
        return [], ""
    try:
        found = await web.explore(request, user, account, {"objectType": "root"})
    except HeadwaterError as exc:
        return [], web.error_text(exc)
    return [item for item in found if item.get("type") == "table"], ""


async def _columns(
    request: Request, user: web.User, account: str, table: str
) -> tuple[list[dict[str, Any]], str]:
    try:
        found = await web.explore(request, user, account, {"objectType": "table", "object": table})
    except HeadwaterError as exc:
        return [], web.error_text(exc)
    return list((found.get("schema") or {}).get("columns") or []), ""


async def _datasets(request: Request, user: web.User) -> list[dict[str, Any]]:
    listed = await web.call(
        request,
        lambda db: datasets.list_datasets(db, user.scope, {"limit": str(datasets.MAX_LIMIT)}),
        read_only=True,
    )
    return [{"id": key, "name": body.get("name", key)} for key, body in listed.items()]


def _entry_errors(draft: Draft) -> tuple[dict[int, str], str]:
    """Per-row messages (keyed by the row's position in the editor) and a whole-set message."""
    filled = draft.filled_rows()
    if not filled:
        return {}, "Add at least one mapping: a source field, expression or constant and a dataset column."
    problems = mapping_sets.check_entries([row.entry() for _, row in filled], draft.selected_columns())
    by_row: dict[int, str] = {}
    overall = ""
    for problem in problems:
        if problem.index is None:
            overall = problem.message
        else:
            by_row[filled[problem.index][0]] = f"{problem.message} ({problem.reason})"
    return by_row, overall


def _check_draft(draft: Draft, known_datasets: list[dict[str, Any]]) -> dict[str, str]:
    """What the builder can say before creating anything (the services check it all again)."""
    errors: dict[str, str] = {}
    if not draft.name:
        errors["name"] = "Give the dataflow a name."
    if not draft.columns:
        errors["columns"] = "Choose at least one column."
    if draft.dataset_choice == "existing":
        if draft.dataset_id not in {d["id"] for d in known_datasets}:
            errors["dataset"] = "Choose one of the datasets, or create a new one."
    elif not draft.dataset_name:
        errors["dataset"] = "Name the new dataset."
    row_errors, overall = _entry_errors(draft)
    if row_errors or overall:
        errors["mapping"] = overall or "Fix the mapping rows marked below."
    if draft.frequency not in FREQUENCIES:
        errors["schedule"] = "Choose how often the dataflow runs."
    elif draft.start_epoch() is None:
        errors["schedule"] = "Enter the start time as a date and time (UTC)."
    else:
        try:
            if draft.frequency != "once" and not draft.delta_column:
                errors["schedule"] = "A repeating dataflow needs a delta column (a last-modified date-time)."
            else:
                Flows.check_new_schedule(draft.schedule_params(), draft.transformations(None))
        except DomainError as exc:
            errors["schedule"] = web.error_text(exc)
    return errors


async def _builder(
    request: Request,
    user: web.User,
    draft: Draft,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    status_code: int = 200,
    fresh: bool = False,
) -> Response:
    accounts = await _accounts(request, user)
    objects, objects_error = await _objects(request, user, draft.account)
    columns: list[dict[str, Any]] = []
    columns_error = ""
    if draft.account and draft.object:
        columns, columns_error = await _columns(request, user, draft.account, draft.object)
    if fresh and columns:
        draft.columns = [str(c["name"]) for c in columns]
        draft.column_types = {str(c["name"]): str(c.get("type", "string")) for c in columns}
        account_name = next((a.get("name", "") for a in accounts if a["id"] == draft.account), "")
        draft.name = draft.name or f"{draft.object} from {account_name}".strip()
        draft.dataset_name = draft.dataset_name or f"{draft.object} ({account_name})"
        names = [str(c["name"]) for c in columns]
        first = next((n for n in ("Name", *names) if n in names and n != "Id"), "")
        draft.rows = draft.rows or [MappingRow("ATTRIBUTE", first, first[:1].lower() + first[1:])]
        dated = date_columns(columns)
        draft.delta_column = draft.delta_column or (dated[0] if dated else "")
        draft.start_time = draft.start_time or default_start()
    elif columns:
        draft.column_types = draft.column_types or {
            str(c["name"]): str(c.get("type", "string")) for c in columns
        }
    if not draft.rows:
        draft.rows = [MappingRow()]
    row_errors, overall = _entry_errors(draft) if columns else ({}, "")
    context = {
        "draft": draft,
        "accounts": accounts,
        "objects": objects,
        "objects_error": objects_error,
        "columns": columns,
        "columns_error": columns_error,
        "date_columns": date_columns(columns) or [str(c["name"]) for c in columns],
        "datasets": await _datasets(request, user),
        "errors": errors or {},
        "row_errors": row_errors,
        "overall": overall,
        "message": message,
        "frequencies": FREQUENCIES,
        "source_types": SOURCE_TYPES,
    }
    return web.page(request, "flows/new.html", context, status_code=status_code)


@router.get("/flows/new", response_class=HTMLResponse)
async def new_flow(request: Request, user: CurrentUser, account: str = "", object: str = "") -> Response:
    draft = Draft(account=account.strip(), object=object.strip())
    return await _builder(request, user, draft, fresh=True)


@router.get("/flows/new/objects", response_class=HTMLResponse)
async def object_choices(request: Request, user: CurrentUser, account: str = "") -> Response:
    """The object picker for the chosen account (htmx swaps it in when the account changes)."""
    objects, error = await _objects(request, user, account.strip())
    context = {"objects": objects, "objects_error": error, "draft": Draft(account=account.strip())}
    return web.page(request, "flows/_objects.html", context)


@router.post("/flows/new/mapping", response_class=HTMLResponse)
async def mapping_rows(request: Request, user: CurrentUser, op: str = "") -> Response:
    """Add or remove a mapping row (htmx re-renders the editor with each row's check)."""
    draft = Draft.from_form(await request.form())
    if op == "add":
        draft.rows.append(MappingRow())
    elif op.startswith("remove-") and op[7:].isdigit() and int(op[7:]) < len(draft.rows):
        del draft.rows[int(op[7:])]
    if not draft.rows:
        draft.rows.append(MappingRow())
    row_errors, overall = _entry_errors(draft)
    context = {"draft": draft, "row_errors": row_errors, "overall": overall, "source_types": SOURCE_TYPES}
    return web.page(request, "flows/_mapping.html", context)


@router.post("/flows/new/validate", response_class=HTMLResponse)
async def validate_mapping(request: Request, user: CurrentUser) -> Response:
    """Check the mapping rows as the user types: a summary plus each row's message (out of band)."""
    draft = Draft.from_form(await request.form())
    row_errors, overall = _entry_errors(draft)
    context = {"draft": draft, "row_errors": row_errors, "overall": overall, "oob": True}
    return web.page(request, "flows/_mapping_status.html", context)


@router.post("/flows/new/review", response_class=HTMLResponse)
async def review_flow(request: Request, user: CurrentUser) -> Response:
    draft = Draft.from_form(await request.form())
    known = await _datasets(request, user)
    errors = _check_draft(draft, known)
    if errors:
        message = "The dataflow is not ready yet: " + " ".join(errors.values())
        return await _builder(request, user, draft, errors=errors, message=message, status_code=400)
    accounts = await _accounts(request, user)
    context = {
        "draft": draft,
        "account_name": next(
            (a.get("name", "") for a in accounts if a["id"] == draft.account), draft.account
        ),
        "dataset_label": next((d["name"] for d in known if d["id"] == draft.dataset_id), draft.dataset_id),
        "schedule": draft.schedule_params(),
        "source_types": dict(SOURCE_TYPES),
    }
    return web.page(request, "flows/review.html", context)


@router.post("/flows/new/edit", response_class=HTMLResponse)
async def edit_flow(request: Request, user: CurrentUser) -> Response:
    """Back from the review to the builder, with everything as it was."""
    return await _builder(request, user, Draft.from_form(await request.form()))


def _create_all(request: Request, user: web.User, draft: Draft, explored: list[dict[str, Any]]) -> Any:
    state = web.state_of(request)
    scope = user.scope
    flows = _flows(request)
    sources = SourceConnections(state.specs, web.state_of(request).explorer())

    def work(db: Session) -> str:
        base = state.connections().get(db, scope, draft.account)["items"][0]
        spec_id = str((base.get("connectionSpec") or {}).get("id", ""))
        flow_spec = next(
            (s for s in state.specs.flow_specs.all() if spec_id in s.get("sourceConnectionSpecIds", [])), None
        )
        if flow_spec is None:
            raise Invalid("spec.unknown", "No dataflow spec reads from this kind of account.")
        known = {str(c["name"]): c for c in explored}
        columns = [known.get(name, {"name": name}) for name in draft.columns]
        source = sources.create(
            db,
            scope,
            CreateSourceConnection(
                name=f"{draft.name}: {draft.object}",
                baseConnectionId=draft.account,
                data={"format": "tabular"},
                params={"tableName": draft.object, "columns": columns},
                connectionSpec=SpecRef(id=spec_id),
            ).model_dump(exclude_none=True),
        )
        if draft.dataset_choice == "new":
            dataset_id = datasets.create(db, scope, datasets.CreateDataSet(name=draft.dataset_name)).id
        else:
            dataset_id = draft.dataset_id
        target = TargetConnections().create(
            db,
            scope,
            CreateTargetConnection(
                name=f"{draft.name}: dataset",
                params={"dataSetId": dataset_id},
                connectionSpec=SpecRef(id=DATA_LAKE_SPEC_ID),
            ).model_dump(exclude_none=True),
        )
        mapping = mapping_sets.create(
            db,
            scope,
            mapping_sets.MappingSetIn(
                mappings=[row.entry() for _, row in draft.filled_rows()],
                outputSchema={"schemaRef": {"id": f"headwater:dataset:{dataset_id}"}},
            ),
        )
        flow = flows.create(
            db,
            scope,
            CreateFlow(
                name=draft.name,
                flowSpec=SpecRef(id=str(flow_spec["id"])),
                sourceConnectionIds=[source.id],
                targetConnectionIds=[target.id],
                transformations=draft.transformations(str(mapping["id"])),
                scheduleParams=draft.schedule_params(),
            ).model_dump(exclude_none=True),
        )
        return str(flow.id)

    return work


@router.post("/flows/new", response_class=HTMLResponse)
async def create_flow(request: Request, user: CurrentUser) -> Response:
    draft = Draft.from_form(await request.form())
    explored, _ = await _columns(request, user, draft.account, draft.object)
    if explored:  # the types the source reports, not the ones the form carried
        draft.column_types = {str(c["name"]): str(c.get("type", "string")) for c in explored}
    errors = _check_draft(draft, await _datasets(request, user))
    if errors:
        message = "The dataflow is not ready yet: " + " ".join(errors.values())
        return await _builder(request, user, draft, errors=errors, message=message, status_code=400)
    try:
        flow_id = await web.call(request, _create_all(request, user, draft, explored))
    except HeadwaterError as exc:
        message = f"The dataflow was not created: {web.error_text(exc)}"
        return await _builder(
            request, user, draft, errors={"create": message}, message=message, status_code=400
        )
    web.flash(request, f"Dataflow {draft.name} created.", "ok")
    return RedirectResponse(f"/ui/flows/{flow_id}", status_code=303)


# --- the monitor ----------------------------------------------------------------------------------------


class _Ends:
    """A flow's ends as ``GET /sourceConnections/{id}`` and ``GET /targetConnections/{id}`` show them."""

    def __init__(self, request: Request) -> None:
        self.sources = SourceConnections(web.state_of(request).specs, web.state_of(request).explorer())
        self.targets = TargetConnections()

    @staticmethod
    def _param(db: Session, user: web.User, service: Any, ids: Any, name: str) -> str:
        for connection_id in ids or []:
            try:
                found = service.get(db, user.scope, str(connection_id))["items"][0]
            except DomainError:
                continue
            return str((found.get("params") or {}).get(name, ""))
        return ""

    def table(self, db: Session, user: web.User, flow: dict[str, Any]) -> str:
        return self._param(db, user, self.sources, flow.get("sourceConnectionIds"), "tableName")

    def dataset(self, db: Session, user: web.User, flow: dict[str, Any]) -> str:
        return self._param(db, user, self.targets, flow.get("targetConnectionIds"), "dataSetId")


def _runs_of(db: Session, user: web.User, flow_id: str, limit: int) -> list[dict[str, Any]]:
    scope = user.scope
    return runs.list_runs(
        db.connection(), org_id=scope.org_id, sandbox_name=scope.sandbox_name, flow_id=flow_id, limit=limit
    )


@router.get("/flows", response_class=HTMLResponse)
async def flow_list(request: Request, user: CurrentUser) -> Response:
    flows, ends = _flows(request), _Ends(request)

    def read(db: Session) -> list[dict[str, Any]]:
        listed = []
        for flow in flows.list(db, user.scope, ListQuery(limit=SHOWN)).items:
            latest = _runs_of(db, user, str(flow["id"]), 1)
            listed.append(
                {
                    "flow": flow,
                    "object": ends.table(db, user, flow),
                    "last_run": next(iter(runs.run_rows(latest)), None),
                    "next_run": flows.next_run_at(db, str(flow["id"])),
                }
            )
        return listed

    items = await web.call(request, read, read_only=True)
    active = any(item["last_run"] is not None and item["last_run"].active for item in items)
    template = "flows/_table.html" if web.is_htmx(request) else "flows/list.html"
    return web.page(request, template, {"items": items, "poll": ACTIVE_POLL if active else IDLE_POLL})


async def _flow_view(request: Request, user: web.User, flow_id: str) -> dict[str, Any]:
    flows, ends = _flows(request), _Ends(request)

    def read(db: Session) -> dict[str, Any]:
        flow = flows.get(db, user.scope, flow_id)["items"][0]
        return {
            "flow": flow,
            "object": ends.table(db, user, flow),
            "dataset_id": ends.dataset(db, user, flow),
            "runs": runs.run_rows(_runs_of(db, user, flow_id, RUNS_SHOWN)),
            "next_run": flows.next_run_at(db, flow_id),
        }

    view = await web.call(request, read, read_only=True)
    view["chart"] = run_chart(view["runs"])
    view["active"] = any(run.active for run in view["runs"])
    view["poll"] = ACTIVE_POLL if view["active"] else IDLE_POLL
    view["once"] = str((view["flow"].get("scheduleParams") or {}).get("frequency", "")).lower() == "once"
    return view


@router.get("/flows/{flow_id}", response_class=HTMLResponse)
async def flow_detail(request: Request, user: CurrentUser, flow_id: str) -> Response:
    try:
        view = await _flow_view(request, user, flow_id)
    except DomainError as exc:
        return web.page(
            request,
            "error.html",
            {"title": "Dataflow not found", "message": web.error_text(exc)},
            status_code=404,
        )
    return web.page(request, "flows/detail.html", view)


@router.get("/flows/{flow_id}/runs", response_class=HTMLResponse)
async def flow_runs(request: Request, user: CurrentUser, flow_id: str) -> Response:
    """The runs fragment the detail page polls (every 2 s while a run is pending or running)."""
    try:
        view = await _flow_view(request, user, flow_id)
    except DomainError as exc:
        alert = f'<p class="flash error" role="alert">{escape(web.error_text(exc))}</p>'
        return HTMLResponse(alert, status_code=404)
    return web.page(request, "flows/_runs.html", view)


def _back(flow_id: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/flows/{flow_id}", status_code=303)


@router.post("/flows/{flow_id}/run")
async def run_now(request: Request, user: CurrentUser, flow_id: str) -> Response:
    try:
        created = await web.call(request, lambda db: runs.run_now(db, user.scope, flow_id))
        web.flash(request, f"Run {created['id']} scheduled.", "ok")
    except DomainError as exc:
        web.flash(request, f"The run was not started: {web.error_text(exc)}", "error")
    return _back(flow_id)


@router.post("/flows/{flow_id}/action")
async def flow_action(
    request: Request, user: CurrentUser, flow_id: str, op: Annotated[str, Form()] = ""
) -> Response:
    flows = _flows(request)
    try:
        await web.call(request, lambda db: flows.action(db, user.scope, flow_id, op))
        web.flash(request, f"Dataflow {'enabled' if op == 'enable' else 'disabled'}.", "ok")
    except DomainError as exc:
        web.flash(request, f"The dataflow was not changed: {web.error_text(exc)}", "error")
    return _back(flow_id)


@router.post("/flows/{flow_id}/runs/{run_id}/retrigger")
async def retrigger(request: Request, user: CurrentUser, flow_id: str, run_id: str) -> Response:
    try:
        await web.call(request, lambda db: runs.retrigger(db, user.scope, run_id, "re_trigger"))
        web.flash(request, f"Run {run_id} scheduled again.", "ok")
    except DomainError as exc:
        web.flash(request, f"The run was not re-triggered: {web.error_text(exc)}", "error")
    return _back(flow_id)
