"""Sign in with an API client's id and secret, sign out, switch sandbox, the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from headwater.store import tenants
from headwater.ui import web

router = APIRouter()
CurrentUser = Annotated[web.User, Depends(web.current_user)]


def _safe_next(target: str | None) -> str:
    """Only a path inside the UI: never an open redirect."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return web.page(request, "login.html", {"next": _safe_next(next), "error": None, "client_id": ""})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    client_id: Annotated[str, Form()] = "",
    client_secret: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/ui/",
) -> Response:
    client_id = client_id.strip()
    state = web.state_of(request)
    user: web.User | None = None
    if client_id and client_secret:
        with state.sessions() as session:
            client = tenants.authenticate_client(session, client_id, client_secret)
            if client is not None:
                names = [sandbox.name for sandbox in tenants.list_sandboxes(session, client.org_id)]
                default = state.settings.default_sandbox
                sandbox = default if default in names or not names else names[0]
                user = web.User(client_id=client.client_id, org_id=client.org_id, sandbox=sandbox)
    if user is None:
        error = (
            "Enter the client id and the client secret."
            if not client_id or not client_secret
            else "That client id and secret do not match an API client. "
            "`headwater credentials` prints the default client's."
        )
        context = {"next": _safe_next(next), "error": error, "client_id": client_id}
        return web.page(request, "login.html", context, status_code=401)
    web.sign_in(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/ui/login", status_code=303)


@router.post("/sandbox")
async def switch_sandbox(
    request: Request,
    user: CurrentUser,
    sandbox: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    with web.state_of(request).sessions() as session:
        found = tenants.find_sandbox(session, user.org_id, sandbox.strip()) is not None
    if found:
        web.sign_in(request, web.User(client_id=user.client_id, org_id=user.org_id, sandbox=sandbox.strip()))
        web.flash(request, f"Switched to sandbox {sandbox.strip()}.")
    else:
        web.flash(request, f"There is no sandbox named {sandbox!r} in this org.", "error")
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: CurrentUser) -> Response:
    return web.page(request, "home.html")
