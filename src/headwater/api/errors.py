"""The ONE place that turns errors into HTTP bodies (FLOW envelope, gateway body, content-type body)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater.api.responses import JSONBody
from headwater.core.errors import (
    FLOW_TYPE_PREFIX,
    ContentTypeError,
    FlowError,
    GatewayError,
    HeadwaterError,
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
    # Never echo the exception text: it may carry a secret. Log the type and where only.
    log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url.path, exc_info=error)
    internal = FlowError(
        "1400-500",
        "Internal Error",
        "An internal error has occurred. Please try again. If the problem persists, please contact customer support.",
    )
    return JSONBody(flow_body(internal, request_id(request)), status_code=500)


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


def install(app: FastAPI) -> None:
    async def on_headwater(request: Request, exc: Exception) -> JSONBody:
        return render(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, RequestValidationError)
        return render(ValidationFailed(_validation_message(exc)), request)

    async def on_http(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        return render(_http_error(exc.status_code, request.url.path, request.method), request)

    async def on_anything(request: Request, exc: Exception) -> JSONBody:
        return render(exc, request)

    app.add_exception_handler(HeadwaterError, on_headwater)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
