"""The Starlette application: the route table of the emulated Salesforce endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import admin, auth, bulk, bulk_v1, records, rest
from .headers import SalesforceHeaderCase
from .service import Call, Emulator, Handler, api
from .wire import json_response

DATA = "/services/data/{version}"


def _by_method(**handlers: Handler) -> Handler:
    def dispatch(call: Call) -> Response:
        return handlers[call.request.method](call)

    return dispatch


def build_app(emulator: Emulator) -> SalesforceHeaderCase:
    """The emulator's ASGI app; response header names are spelled as Salesforce spells them."""
    return SalesforceHeaderCase(build_routes(emulator))


def build_routes(emulator: Emulator) -> Starlette:
    routes: list[Route] = []

    def add(path: str, endpoint: Callable[[Request], Awaitable[Response]], methods: list[str]) -> None:
        routes.append(Route(path, endpoint, methods=methods))
        routes.append(Route(path + "/", endpoint, methods=methods))

    def add_api(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> None:
        add(DATA + path, api(emulator, handler), list(methods))

    async def versions(request: Request) -> Response:
        return rest.versions()

    def bind(
        function: Callable[[Emulator, Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        return partial(function, emulator)

    add("/services/data", versions, ["GET"])
    add("/services/Soap/u/{version}", bind(auth.soap_login), ["POST"])
    add("/services/oauth2/token", bind(auth.oauth_token), ["POST"])
    add_api("", rest.resources)
    add_api("/sobjects", rest.sobjects)
    add_api("/sobjects/{sobject}", records.collection, ("GET", "POST"))
    add_api("/sobjects/{sobject}/describe", rest.describe)
    add_api("/sobjects/{sobject}/deleted", rest.deleted)
    add_api("/sobjects/{sobject}/updated", rest.updated)
    add_api("/sobjects/{sobject}/{record_id}", records.item, ("GET", "PATCH", "DELETE"))
    add_api("/limits", rest.limits)
    add_api("/query", partial(rest.query, include_deleted=False))
    add_api("/queryAll", partial(rest.query, include_deleted=True))
    add_api("/query/{locator}", rest.query_more)
    add_api("/queryAll/{locator}", rest.query_more)
    add_api("/jobs/query", _by_method(GET=bulk.list_jobs, POST=bulk.create), ("GET", "POST"))
    add_api(
        "/jobs/query/{job_id}",
        _by_method(GET=bulk.info, PATCH=bulk.abort, DELETE=bulk.delete),
        ("GET", "PATCH", "DELETE"),
    )
    add_api("/jobs/query/{job_id}/results", bulk.results)

    def add_async(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> None:
        add("/services/async/{version}" + path, api(emulator, handler, version_prefix=""), list(methods))

    add_async("/job", bulk_v1.create_job, ("POST",))
    add_async("/job/{job_id}", bulk_v1.job, ("GET", "POST"))
    add_async("/job/{job_id}/batch", bulk_v1.batch_or_list, ("GET", "POST"))
    add_async("/job/{job_id}/batch/{batch_id}", bulk_v1.batch_info)
    add_async("/job/{job_id}/batch/{batch_id}/result", bulk_v1.result_list)
    add_async("/job/{job_id}/batch/{batch_id}/result/{result_id}", bulk_v1.result)
    add("/__emulator__/faults", bind(admin.faults), ["GET", "POST", "PATCH", "DELETE"])
    add("/__emulator__/sessions/expire", bind(admin.expire_sessions), ["POST"])
    add("/__emulator__/records/{sobject}", bind(admin.records), ["POST"])
    add("/__emulator__/records/{sobject}/{record_id}", bind(admin.records), ["GET", "PATCH", "DELETE"])
    add("/__emulator__/purge", bind(admin.purge), ["POST"])

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "UNKNOWN_EXCEPTION")
        message = (
            "The requested resource does not exist"
            if status == 404
            else "HTTP Method not allowed for this resource"
        )
        if status not in (404, 405):
            message = "An unexpected error occurred. Please include this ErrorId if you contact support."
        return json_response([{"message": message, "errorCode": code}], status)

    return Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: http_error})
