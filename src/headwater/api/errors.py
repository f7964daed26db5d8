"""The ONE place that turns errors into HTTP bodies (FLOW envelope, gateway body, content-type body)."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.api.responses import JSONBody
from headwater.core.errors import (
    FLOW_TYPE_PREFIX,
    ContentTypeError,
    FlowError,
    GatewayError,
    HeadwaterError,
    TransientError,
    ValidationFailed,
)
from headwater.core.ids import new_id

log = logging.getLogger("headwater.api")


def request_id(request: Request) -> str:
    return request.headers.get("x-request-id") or new_id()


def flow_body(error: FlowError, req_id: str) -> dict[str, Any]:
    report: dict[str, Any] = {"detailed-message": error.message, "request-id": req_id, **error.report}
    return {
        "type": f"{FLOW_TYPE_PREFIX}{error.code}",
        "title": error.title,
        "status": error.status,
        "report": report,
        "errorMessage": error.message,
        "errorDetails": error.message,
    }


def render(error: Exception, request: Request) -> JSONBody:
    if isinstance(error, FlowError):
        return JSONBody(flow_body(error, request_id(request)), status_code=error.status)
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
        busy = FlowError(
            "1103-503",
            "Service Unavailable",
            "The service is temporarily unavailable. Please try again. If the problem persists, "
            "please contact customer support.",
        )
        return JSONBody(flow_body(busy, request_id(request)), status_code=503, headers={"Retry-After": "1"})
    # Never log the exception text: it may carry a secret. Type, route and stack frames only.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(error).__name__, request.method, request.url.path, frames)
    internal = FlowError(
        "1400-500",
        "Internal Error",
        "An internal error has occurred. Please try again. If the problem persists, please contact customer support.",
    )
    return JSONBody(flow_body(internal, request_id(request)), status_code=500)


def _is_busy(error: Exception) -> bool:
    """SQLite's writer lock timed out, or PostgreSQL reported a serialization/deadlock failure."""
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "Invalid request: " + "; ".join(parts)


def _http_error(status: int, path: str, method: str) -> FlowError:
    if status == 404:
        return FlowError("1101-404", "Resource not found", f"The requested resource {path} is not found.")
    if status == 405:
        return FlowError("1100-405", "Method not allowed", f"The method {method} is not allowed on {path}.")
    return FlowError(f"1100-{status}", "Invalid request", f"The request to {path} could not be processed.")


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
        return render(ValidationFailed(_validation_message(exc)), request)

    async def on_http(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        return render(_http_error(exc.status_code, request.url.path, request.method), request)

    app.add_exception_handler(HeadwaterError, on_headwater)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(CatchAll)
