"""Header checks of every API request, in the order Adobe's layers apply them (contract §2.2).

Gateway first: Authorization (403010 missing, 401013 invalid), x-api-key (403000 missing, 403003 not
the token's client), x-gw-ims-org-id (400003 missing, 403025 not the token's org); then the
content type of body-carrying requests; then Flow Service's sandbox check (FLOW-2100-404).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from headwater.api import errors
from headwater.api.errors import ContentTypeError, GatewayError
from headwater.core.errors import HeadwaterError, Invalid, NotFound
from headwater.core.scope import Scope
from headwater.store import tenants

if TYPE_CHECKING:  # state.py builds the caches defined here
    from headwater.api.state import AppState

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SANDBOX_TTL_SECONDS = 5.0  # sandboxes are created by admin commands in other processes


class SandboxCache:
    """(org, sandbox name) -> exists, remembered briefly so authenticated reads skip the database."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = SANDBOX_TTL_SECONDS) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._known: dict[tuple[str, str], tuple[bool, float]] = {}

    def cached(self, org_id: str, name: str) -> bool | None:
        hit = self._known.get((org_id, name))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    def exists(self, org_id: str, name: str) -> bool:
        key = (org_id, name)
        hit = self._known.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._sessions() as session:
            found = tenants.find_sandbox(session, org_id, name) is not None
        self._known[key] = (found, now + self._ttl)
        return found

    def invalidate(self) -> None:
        self._known.clear()


@dataclass(frozen=True)
class HeaderPolicy:
    missing_sandbox: str  # "default" or "error"
    default_sandbox: str


CALLER_KEY = "headwater.caller"  # where the checked Scope lives in the ASGI scope's "state"
_WANTED = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"x-gw-ims-org-id",
        b"content-type",
        b"x-sandbox-name",
        b"content-length",
        b"transfer-encoding",
    }
)


class HeaderChecks:
    """Pure ASGI middleware: the header checks of every request under ``prefixes``, before routing.

    On success the caller's Scope goes into ``scope["state"]``, so routes read it with
    ``caller(request)`` instead of solving a dependency per request. On failure the error answers
    only if a route matches path and method; otherwise routing answers its 404/405 as before, so
    the order of errors is the one a per-route dependency gave.
    """

    def __init__(self, app: ASGIApp, *, state: AppState, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.state = state
        self.prefixes = prefixes

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            try:
                checked = await check_headers(self.state, scope["method"], scope["headers"])
            except HeadwaterError as exc:
                if _routed(scope):
                    await errors.render(exc, Request(scope))(scope, receive, send)
                    return
                scope.get("state", {}).pop(CALLER_KEY, None)  # never a scope another request left
            else:
                scope.setdefault("state", {})[CALLER_KEY] = checked
        await self.app(scope, receive, send)


def _routed(scope: AsgiScope) -> bool:
    """Whether a route of the app takes this path and method (the rare failure path only)."""
    probe = dict(scope)  # matching records its choice in the scope; keep the real one untouched
    return any(route.matches(probe)[0] is Match.FULL for route in scope["app"].router.routes)


def caller(request: Request) -> Scope:
    """The caller's org, sandbox and client, checked by ``HeaderChecks`` before routing."""
    try:
        checked: Scope = request.scope["state"][CALLER_KEY]
    except KeyError:
        raise RuntimeError(f"{request.url.path} is outside the header-checked prefix") from None
    return checked


async def check_request(request: Request) -> Scope:
    """``caller`` as a FastAPI dependency (``Depends(check_request)``); prefer ``caller(request)``."""
    return caller(request)


async def check_headers(state: AppState, method: str, raw: Iterable[tuple[bytes, bytes]]) -> Scope:
    """The caller's scope, or the documented error for the first failing header.

    Cache-backed: on the hot path it costs no thread hop and no database round trip.
    """
    headers: dict[bytes, str] = {}
    for name, value in raw:
        if name in _WANTED and name not in headers:  # the first occurrence wins, as in Starlette
            headers[name] = value.decode("latin-1")
    authorization = headers.get(b"authorization", "").strip()
    if not authorization:
        raise GatewayError(403, "403010", "Oauth token is missing.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GatewayError(401, "401013", "Oauth token is not valid")
    claims = state.tokens.verify(token.strip())
    api_key = headers.get(b"x-api-key", "").strip()
    if not api_key:
        raise GatewayError(403, "403000", "Api Key is required")
    if api_key != claims.client_id:
        raise GatewayError(403, "403003", "Api Key is invalid")
    org_id = headers.get(b"x-gw-ims-org-id", "").strip()
    if not org_id:
        raise GatewayError(400, "400003", "Missing header")
    if org_id != claims.org_id:
        raise GatewayError(403, "403025", "Profile is not valid")
    if method in BODY_METHODS and _has_body(headers) and not _is_json(headers.get(b"content-type", "")):
        raise ContentTypeError()
    sandbox = _sandbox_name(headers.get(b"x-sandbox-name"), state.policy)
    known = state.sandboxes.cached(org_id, sandbox)
    if known is None:
        known = await run_in_threadpool(state.sandboxes.exists, org_id, sandbox)
    if not known:
        raise NotFound(
            "sandboxes",
            sandbox,
            reason="header.sandbox_unknown",
            message=f"The sandbox with the name '{sandbox}' could not be found. "
            "Please check the sandbox name and try again.",
        )
    return Scope(org_id=org_id, sandbox_name=sandbox, client_id=claims.client_id)


def _has_body(headers: dict[bytes, str]) -> bool:
    """Body-less POSTs (``/flows/{id}/action?op=enable``: aepp drops the Content-Type) need no type."""
    length = headers.get(b"content-length")
    return headers.get(b"transfer-encoding") is not None or (length is not None and length.strip() != "0")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _sandbox_name(header: str | None, policy: HeaderPolicy) -> str:
    if header is not None and header.strip():
        return header.strip()
    if policy.missing_sandbox == "error":
        raise Invalid(
            "header.sandbox_missing",
            "The header x-sandbox-name is missing in the request. Please add the header in the request and try again.",
        )
    return policy.default_sandbox
