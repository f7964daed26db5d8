"""Connect an account (a base connection), list, test, edit and delete accounts, and explore them.

Every action is a call into the same services as ``/connections``, ``/connections/{id}/test`` and
``/connections/{id}/explore``: ``Connections`` and ``Explorer``.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from headwater.connections.base import MASK, AuthIn, CreateConnection, SpecRef
from headwater.core.errors import HeadwaterError, Invalid
from headwater.store.listing import ListQuery
from headwater.ui import forms, web

ACCOUNTS_SHOWN = 1000  # paging arrives with the UI issue
router = APIRouter()
CurrentUser = Annotated[web.User, Depends(web.current_user)]
PREVIEW_ROWS = 100


def _source_spec(request: Request, spec_id: str) -> dict[str, Any]:
    for spec in web.state_of(request).specs.connection_specs.sources():
        if spec["id"] == spec_id:
            return spec
    raise HTTPException(404)


def _auth_spec(spec: dict[str, Any], name: str | None) -> dict[str, Any]:
    auth_specs = spec.get("authSpec", [])
    for auth in auth_specs:
        if auth["name"] == name:
            return dict(auth)
    return dict(auth_specs[0])


async def _form(request: Request) -> dict[str, Any]:
    data = await request.form()
    return {key: value for key, value in data.items() if isinstance(value, str)}


# --- connect ----------------------------------------------------------------------------------------


@router.get("/connect/{spec_id}", response_class=HTMLResponse)
async def connect_form(
    request: Request, user: CurrentUser, spec_id: str, auth: str | None = None
) -> Response:
    spec = _source_spec(request, spec_id)
    auth_spec = _auth_spec(spec, auth)
    fields = forms.fields_of(auth_spec)
    context = {
        "spec": spec,
        "auth_spec": auth_spec,
        "fields": fields,
        "values": {},
        "name": "",
        "error": None,
    }
    template = "accounts/_auth_fields.html" if web.is_htmx(request) else "accounts/connect.html"
    return web.page(request, template, context)


@router.post("/connect/{spec_id}/test", response_class=HTMLResponse)
async def connect_test(request: Request, user: CurrentUser, spec_id: str) -> Response:
    """Test the entered params for real, before anything is saved (htmx fragment)."""
    spec = _source_spec(request, spec_id)
    form = await _form(request)
    auth_spec = _auth_spec(spec, form.get("auth_spec"))
    params = forms.params_from_form(forms.fields_of(auth_spec), form)
    explorer = web.state_of(request).explorer()
    try:
        result = await to_thread.run_sync(explorer.test_unsaved, spec["id"], auth_spec["name"], params)
    except HeadwaterError as exc:
        result = {"result": False, "reason": web.error_text(exc)}
    return web.page(request, "accounts/_test_result.html", {"result": result})


@router.post("/connect/{spec_id}", response_class=HTMLResponse)
async def connect(request: Request, user: CurrentUser, spec_id: str) -> Response:
    spec = _source_spec(request, spec_id)
    form = await _form(request)
    auth_spec = _auth_spec(spec, form.get("auth_spec"))
    fields = forms.fields_of(auth_spec)
    params = forms.params_from_form(fields, form)
    name = form.get("name", "").strip()
    connections = web.state_of(request).connections()
    try:
        if not name:
            raise Invalid("connection.name_missing", "Give the account a name.")
        payload = CreateConnection(
            name=name,
            description=form.get("description", "").strip() or None,
            auth=AuthIn(specName=auth_spec["name"], params=params),
            connectionSpec=SpecRef(id=spec["id"]),
        )
        row = await web.call(request, lambda db: connections.create(db, user.scope, payload))
    except HeadwaterError as exc:
        context = {
            "spec": spec,
            "auth_spec": auth_spec,
            "fields": fields,
            "values": forms.visible_values(fields, params),
            "name": name,
            "description": form.get("description", ""),
            "error": web.error_text(exc),
        }
        return web.page(request, "accounts/connect.html", context, status_code=400)
    web.flash(request, f"Account {name!r} saved.", "ok")
    return RedirectResponse(f"/ui/accounts/{row.id}", status_code=303)


# --- accounts ---------------------------------------------------------------------------------------


@router.get("/accounts", response_class=HTMLResponse)
async def accounts(request: Request, user: CurrentUser) -> Response:
    connections = web.state_of(request).connections()
    listed = await web.call(
        request, lambda db: connections.list(db, user.scope, ListQuery(limit=ACCOUNTS_SHOWN)), read_only=True
    )
    sources = {spec["id"]: spec["name"] for spec in web.state_of(request).specs.connection_specs.sources()}
    items = [
        {**item, "specName": sources[spec_id]}
        for item in listed.items
        if (spec_id := item.get("connectionSpec", {}).get("id")) in sources
    ]
    return web.page(request, "accounts/list.html", {"items": items})


def _load(request: Request, user: web.User, account_id: str) -> Any:
    connections = web.state_of(request).connections()

    def work(db: Session) -> dict[str, Any]:
        body: dict[str, Any] = connections.get(db, user.scope, account_id)["items"][0]
        return body

    return web.call(request, work, read_only=True)


def _account_context(request: Request, account: dict[str, Any]) -> dict[str, Any]:
    specs = web.state_of(request).specs
    spec = specs.connection_specs.get(account["connectionSpec"]["id"]) or {"name": "?", "authSpec": []}
    auth = account.get("auth") or {}
    auth_spec = specs.auth_spec(spec.get("id", ""), auth.get("specName", "")) or {"spec": {}}
    fields = forms.fields_of(auth_spec)
    params = auth.get("params", {})
    stored_secrets = {f.name for f in fields if f.secret and params.get(f.name) == MASK}
    return {
        "account": account,
        "spec": spec,
        "auth_spec": auth_spec,
        "fields": fields,
        "values": forms.visible_values(fields, params),
        "stored_secrets": stored_secrets,
        "error": None,
    }


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
async def account(request: Request, user: CurrentUser, account_id: str) -> Response:
    found = await _load(request, user, account_id)
    return web.page(request, "accounts/detail.html", _account_context(request, found))


@router.post("/accounts/{account_id}", response_class=HTMLResponse)
async def edit_account(request: Request, user: CurrentUser, account_id: str) -> Response:
    """Name, description and auth params through the same JSON Patch logic as ``PATCH /connections``.

    A secret left empty keeps its stored value; the form's etag makes a concurrent edit fail (If-Match).
    """
    form = await _form(request)
    found = await _load(request, user, account_id)
    context = _account_context(request, found)
    fields: list[forms.FormField] = context["fields"]
    params = forms.params_from_form(fields, form)
    ops: list[dict[str, Any]] = [{"op": "replace", "path": "/name", "value": form.get("name", "").strip()}]
    description = form.get("description", "").strip()
    ops.append({"op": "add", "path": "/description", "value": description})
    for field in fields:
        path = f"/auth/params/{field.name}"
        if field.name in params:
            ops.append({"op": "add", "path": path, "value": params[field.name]})
        elif not field.secret and field.name in found.get("auth", {}).get("params", {}):
            ops.append({"op": "remove", "path": path})
    connections = web.state_of(request).connections()
    try:
        if not form.get("name", "").strip():
            raise Invalid("connection.name_missing", "Give the account a name.")
        await web.call(
            request, lambda db: connections.patch(db, user.scope, account_id, ops, form.get("etag"))
        )
    except HeadwaterError as exc:
        context["error"] = web.error_text(exc)
        context["values"] = forms.visible_values(fields, params)
        return web.page(request, "accounts/detail.html", context, status_code=400)
    web.flash(request, "Account saved.", "ok")
    return RedirectResponse(f"/ui/accounts/{account_id}", status_code=303)


@router.post("/accounts/{account_id}/test", response_class=HTMLResponse)
async def test_account(request: Request, user: CurrentUser, account_id: str) -> Response:
    explorer = web.state_of(request).explorer()
    try:
        ref = await web.call(request, lambda db: explorer.load(db, user.scope, account_id), read_only=True)
        result = await to_thread.run_sync(explorer.test, ref)
    except HeadwaterError as exc:
        result = {"result": False, "reason": web.error_text(exc)}
    return web.page(request, "accounts/_test_result.html", {"result": result})


@router.get("/accounts/{account_id}/delete", response_class=HTMLResponse)
async def confirm_delete(request: Request, user: CurrentUser, account_id: str) -> Response:
    found = await _load(request, user, account_id)
    return web.page(request, "accounts/delete.html", {"account": found, "error": None})


@router.post("/accounts/{account_id}/delete", response_class=HTMLResponse)
async def delete_account(request: Request, user: CurrentUser, account_id: str) -> Response:
    connections = web.state_of(request).connections()
    found = await _load(request, user, account_id)
    try:
        await web.call(request, lambda db: connections.delete(db, user.scope, account_id))
    except HeadwaterError as exc:
        context = {"account": found, "error": web.error_text(exc)}
        return web.page(request, "accounts/delete.html", context, status_code=400)
    web.flash(request, f"Account {found['name']!r} deleted.", "ok")
    return RedirectResponse("/ui/accounts", status_code=303)


# --- explore ----------------------------------------------------------------------------------------


@router.get("/accounts/{account_id}/explore", response_class=HTMLResponse)
async def explore(request: Request, user: CurrentUser, account_id: str, q: str = "") -> Response:
    found = await _load(request, user, account_id)
    error = None
    objects: list[dict[str, Any]] = []
    try:
        objects = await web.explore(request, user, account_id, {"objectType": "root"})
    except HeadwaterError as exc:
        error = web.error_text(exc)
    needle = q.strip().lower()
    shown = [o for o in objects if not needle or needle in o["name"].lower() or needle in o["path"].lower()]
    context = {"account": found, "objects": shown, "total": len(objects), "q": q, "error": error}
    template = "accounts/_objects.html" if web.is_htmx(request) else "accounts/explore.html"
    return web.page(request, template, context)


@router.get("/accounts/{account_id}/explore/{object_name}", response_class=HTMLResponse)
async def explore_object(request: Request, user: CurrentUser, account_id: str, object_name: str) -> Response:
    found = await _load(request, user, account_id)
    error = None
    table: dict[str, Any] = {"schema": {"columns": []}, "data": []}
    try:
        params = {"objectType": "table", "object": object_name, "preview": "true"}
        table = await web.explore(request, user, account_id, params)
    except HeadwaterError as exc:
        error = web.error_text(exc)
    columns = table.get("schema", {}).get("columns", [])
    rows = (table.get("data") or [])[:PREVIEW_ROWS]
    context = {"account": found, "object": object_name, "columns": columns, "rows": rows, "error": error}
    return web.page(request, "accounts/object.html", context)
