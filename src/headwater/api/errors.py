"""The ONE place that turns errors into HTTP bodies (FLOW envelope, gateway body, content-type body).

Domain errors (``core.errors``) get their Adobe code from ``error_codes``; the gateway's own errors
(``GatewayError``: tokens, API key, org) and Adobe's content-type body are defined here, because only
the HTTP layer raises them.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.api.error_codes import CODES, code_of
from headwater.api.responses import JSONBody
from headwater.core.errors import DomainError, HeadwaterError, Invalid, StoreBusy, TransientError
from headwater.core.ids import new_id

log = logging.getLogger("headwater.api")
FLOW_TYPE_PREFIX = "https://ns.adobe.com/aep/errors/FLOW-"


class GatewayError(HeadwaterError):
    """An error of the gateway layer (auth headers, tokens), rendered as ``{"error_code", "message"}``."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class ContentTypeError(HeadwaterError):
    """A body-carrying request without ``Content-Type: application/json`` (Adobe's BadRequestError body)."""

    status = 400
    message = "A valid content-type must be specified"

    def __init__(self) -> None:
        super().__init__(self.message)


def request_id(request: Request) -> str:
    return request.headers.get("x-request-id") or new_id()


def envelope(
    code: str, title: str, message: str, req_id: str, report: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Flow Service's error body (contract §3.4)."""
    return {
        "type": f"{FLOW_TYPE_PREFIX}{code}",
        "title": title,
        "status": int(code.rsplit("-", 1)[1]),
        "report": {"detailed-message": message, "request-id": req_id, **(report or {})},
        "errorMessage": message,
        "errorDetails": message,
    }


def flow_body(error: DomainError, req_id: str) -> dict[str, Any]:
    code, title = code_of(error)
    return envelope(code, title, error.message, req_id, error.details)


def _reason_body(reason: str, message: str, req_id: str) -> tuple[dict[str, Any], int]:
    code, title = CODES[reason]
    return envelope(code, title, message, req_id), int(code.rsplit("-", 1)[1])


def render(error: Exception, request: Request) -> JSONBody:
    if isinstance(error, DomainError):
        body = flow_body(error, request_id(request))
        return JSONBody(body, status_code=body["status"])
    if isinstance(error, GatewayError):
        return JSONBody({"error_code": error.error_code, "message": error.message}, status_code=error.status)
    if isinstance(error, ContentTypeError):
        body = {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": error.message,
        }
        return JSONBody(body, status_code=400)
    if isinstance(error, TransientError) or _is_busy(error):
        message = (
            "The service is temporarily unavailable. Please try again. If the problem persists, "
            "please contact customer support."
        )
        body, status = _reason_body("busy", message, request_id(request))
        return JSONBody(body, status_code=status, headers={"Retry-After": "1"})
    # Never log the exception text: it may carry a secret. Type, route and stack frames only.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(error).__name__, request.method, request.url.path, frames)
    message = "An internal error has occurred. Please try again. If the problem persists, please contact customer support."
    body, status = _reason_body("internal", message, request_id(request))
    return JSONBody(body, status_code=status)


def _is_busy(error: Exception) -> bool:
    """The store could not take the work now: SQLite's writer lock timed out (``OperationalError``: SQLite
    reports lock timeouts only through that class), or PostgreSQL reported a serialization failure or
    a deadlock."""
    if isinstance(error, StoreBusy):
        return True
    if not isinstance(error, sqlalchemy.exc.DBAPIError):
        return False
    try:
        from psycopg import errors as pg_errors
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    if isinstance(error.orig, pg_errors.TransactionRollback | pg_errors.LockNotAvailable):
        return True
    return isinstance(error, sqlalchemy.exc.OperationalError) and _is_sqlite(error)


def _is_sqlite(error: sqlalchemy.exc.DBAPIError) -> bool:
    import sqlite3

    # SQLITE_BUSY / SQLITE_LOCKED: sqlite3 exposes the primary result code on the exception.
    code = getattr(error.orig, "sqlite_errorcode", None)
    return isinstance(error.orig, sqlite3.OperationalError) and code in (5, 6, 261, 262, 517, 518, 773)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "Invalid request: " + "; ".join(parts)


def _http_error(status: int, path: str, method: str) -> DomainError:
    if status == 405:
        return Invalid("http.method_not_allowed", f"The method {method} is not allowed on {path}.")
    return Invalid("http.not_found", f"The requested resource {path} is not found.")


class CatchAll:
    """Pure ASGI middleware: an unexpected exception becomes the FLOW-1400-500 envelope.

    Starlette's own handler for ``Exception`` re-raises after answering, so the server would log the
    exception text (which may carry a secret); this one answers and logs through ``render`` only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await render(exc, Request(scope))(scope, receive, send)


def install(app: FastAPI) -> None:
    async def on_headwater(request: Request, exc: Exception) -> JSONBody:
        return render(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, RequestValidationError)
        return render(Invalid("invalid", _validation_message(exc)), request)

    async def on_http(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        return render(_http_error(exc.status_code, request.url.path, request.method), request)

    app.add_exception_handler(HeadwaterError, on_headwater)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(CatchAll)
