"""The UI's plumbing: session, sign-in guard, CSRF, templates and calls into the service layer.

Pages are server-rendered Jinja2 templates; htmx swaps fragments for live refresh and
validate-as-you-go. Every page calls the same service classes as the REST API
(the domain packages: ``connections``, ``flows``, ...) inside ``call`` — one transaction, in a worker thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from anyio import to_thread
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from headwater.api.error_codes import code_of
from headwater.api.routes.common import app_state, in_transaction
from headwater.api.state import AppState
from headwater.core.errors import DomainError, HeadwaterError
from headwater.core.scope import Scope
from headwater.store import tenants
from headwater.ui.flowparts import duration_text, utc_text

T = TypeVar("T")

SESSION_COOKIE = "headwater_ui"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

templates = Jinja2Templates(directory=str(resources.files("headwater.ui").joinpath("templates")))
templates.env.filters["utc"] = utc_text  # epoch ms -> "YYYY-MM-DD HH:MM:SS UTC"
templates.env.filters["duration"] = duration_text


class LoginRequired(Exception):
    """No signed-in user: pages answer a redirect to the sign-in page (htmx: an HX-Redirect)."""


class CsrfRejected(Exception):
    """An unsafe request without the session's CSRF token."""


@dataclass(frozen=True)
class User:
    """The signed-in API client: the same org and sandbox scoping as the API's headers."""

    client_id: str
    org_id: str
    sandbox: str

    @property
    def scope(self) -> Scope:
        return Scope(org_id=self.org_id, sandbox_name=self.sandbox, client_id=self.client_id)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the sign-in form has one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Every unsafe request carries the token: a form field, or the header htmx sends."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # cached by Starlette: the route reads the same form
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or sent is None or not secrets.compare_digest(expected, sent):
        raise CsrfRejected()


def current_user(request: Request) -> User:
    """The signed-in user (a FastAPI dependency): redirects to sign-in when there is none."""
    data = request.session.get("user")
    if not isinstance(data, dict):
        raise LoginRequired()
    try:
        return User(client_id=data["client_id"], org_id=data["org_id"], sandbox=data["sandbox"])
    except KeyError:
        raise LoginRequired() from None


def sign_in(request: Request, user: User) -> None:
    """A fresh session (new CSRF token) for the user: no token from before sign-in stays valid."""
    request.session.clear()
    request.session["user"] = {"client_id": user.client_id, "org_id": user.org_id, "sandbox": user.sandbox}
    csrf_token(request)


def state_of(request: Request) -> AppState:
    return app_state(request)


async def call(request: Request, work: Callable[[Session], T], *, read_only: bool = False) -> T:
    """Run service-layer work in one transaction off the event loop (as the API routes do)."""
    return await in_transaction(request, work, read_only=read_only)


async def explore(request: Request, user: User, account_id: str, params: dict[str, str]) -> Any:
    """``GET /connections/{id}/explore``'s work: load the account (DB), then ask its connector (thread)."""
    explorer = state_of(request).explorer()
    ref = await call(request, lambda db: explorer.load(db, user.scope, account_id), read_only=True)
    return await to_thread.run_sync(explorer.explore, ref, params)


def error_text(exc: BaseException) -> str:
    """A readable message for a service error (never the text of an unexpected exception)."""
    if isinstance(exc, DomainError):
        return f"{exc.message} ({code_of(exc)[0]})"
    if isinstance(exc, HeadwaterError) and exc.message:
        return exc.message
    return "Something went wrong. Please try again."


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page (after a redirect)."""
    messages = request.session.setdefault("flash", [])
    messages.append({"kind": kind, "text": message})
    request.session["flash"] = messages


def _take_flash(request: Request) -> list[dict[str, str]]:
    messages = request.session.pop("flash", None)
    return messages if isinstance(messages, list) else []


def _sandboxes(request: Request, user: User | None) -> list[str]:
    if user is None:
        return []
    with state_of(request).sessions() as session:
        return [sandbox.name for sandbox in tenants.list_sandboxes(session, user.org_id)]


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a template with what every page needs: the user, CSRF token, sandboxes, flash messages."""
    data = request.session.get("user")
    user = current_user(request) if isinstance(data, dict) else None
    values: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token(request),
        "sandboxes": _sandboxes(request, user) if not is_htmx(request) else [],
        "flash": _take_flash(request) if not is_htmx(request) else [],
        "nav": template.split("/", 1)[0].split(".", 1)[0],
    }
    values.update(context or {})
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=dict(headers or {})
    )
