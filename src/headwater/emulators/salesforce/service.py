"""The emulator's service object and the request pipeline every authenticated API call goes through.

Pipeline for ``/services/data/vXX.X/...`` (see ``api``): session check (401 INVALID_SESSION_ID) ->
per-session expiry knob -> API usage count and REQUEST_LIMIT_EXCEEDED -> slow-response knob ->
transient-503 knob -> the handler in a worker thread. ``Sforce-Limit-Info`` is added to every answer
given after the session check.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .org import Org
from .state import RuntimeState
from .wire import SalesforceWireError, not_found

VERSIONS = {"v": re.compile(r"^v(\d{2}\.\d)$"), "": re.compile(r"^(\d{2}\.\d)$")}
INVALID_SESSION = SalesforceWireError(401, "INVALID_SESSION_ID", "Session expired or invalid")
UNAVAILABLE = SalesforceWireError(
    503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."
)
UNAVAILABLE = SalesforceWireError(
    503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."
)


@dataclass
class Emulator:
    org: Org
    data_dir: Path
    state: RuntimeState = field(default_factory=RuntimeState)
    cursors: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Any] = field(default_factory=dict)  # Bulk 2.0 query jobs
    bulk_v1_jobs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    """One API call as handlers see it."""

    request: Request
    body: bytes
    version: str
    emulator: Emulator

    @property
    def params(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])


Handler = Callable[[Call], Response]


def _session_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token:
        return token.strip()
    return request.headers.get("x-sfdc-session")


def _check_session(emulator: Emulator, request: Request) -> None:
    state = emulator.state
    token = _session_token(request)
    with state.lock:
        session = state.sessions.get(token or "")
        if session is None or session.expires_at < time.monotonic():
            raise INVALID_SESSION
        session.calls += 1
        limit = state.faults.session_expiry_calls
        if limit is not None and session.calls > limit:
            del state.sessions[session.token]
            raise INVALID_SESSION
        session.expires_at = time.monotonic() + 7200
        state.api_usage += 1
        request_limit = state.faults.request_limit
        if request_limit is not None and state.api_usage > request_limit:
            raise SalesforceWireError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def api(
    emulator: Emulator, handler: Handler, version_prefix: str = "v"
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler in the pipeline; Bulk API 1.0 paths carry the version without the ``v``."""
    version_pattern = VERSIONS[version_prefix]

    async def endpoint(request: Request) -> Response:
        version_match = version_pattern.match(str(request.path_params.get("version", "")))
        if version_match is None or not 20.0 <= float(version_match.group(1)) <= 66.0:
            return not_found().response()
        try:
            _check_session(emulator, request)
        except SalesforceWireError as error:
            headers = {} if error.status == 401 else {"Sforce-Limit-Info": emulator.state.limit_info()}
            return error.response(headers)
        limit_header = {"Sforce-Limit-Info": emulator.state.limit_info()}
        delay = emulator.state.faults.delay_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        if emulator.state.take("unavailable_calls"):
            return UNAVAILABLE.response(limit_header)
        call = Call(request, await request.body(), version_match.group(1), emulator)
        try:
            response = await run_in_threadpool(handler, call)
        except SalesforceWireError as failure:
            return failure.response(limit_header)
        response.headers.update(limit_header)
        return response

    return endpoint
