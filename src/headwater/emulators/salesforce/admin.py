"""The admin HTTP API under ``/__emulator__``: fault knobs, record mutations, recycle-bin purge, sessions.

It needs no session (it drives tests and demos on loopback) and is never counted as API usage.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .org import RecordError
from .service import Emulator
from .wire import json_response


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return None


def _bad(message: str, code: str = "JSON_PARSER_ERROR") -> Response:
    return json_response([{"message": message, "errorCode": code}], 400)


def _record_error(error: RecordError) -> Response:
    return json_response(
        [{"message": error.message, "errorCode": error.code}], 404 if error.code == "NOT_FOUND" else 400
    )


async def faults(emulator: Emulator, request: Request) -> Response:
    if request.method == "DELETE":
        emulator.state.reset_faults()
    elif request.method in ("POST", "PATCH", "PUT"):
        body = await _json(request)
        if not isinstance(body, dict):
            return _bad("body must be a JSON object of fault knobs")
        try:
            emulator.state.set_faults(**body)
        except ValueError as exc:
            return _bad(str(exc), "INVALID_FIELD")
    return json_response({**emulator.state.faults.to_json(), "api_usage": emulator.state.api_usage})


async def expire_sessions(emulator: Emulator, request: Request) -> Response:
    emulator.state.expire_sessions()
    return Response(status_code=204)


async def records(emulator: Emulator, request: Request) -> Response:
    sobject = request.path_params["sobject"]
    record_id = request.path_params.get("record_id")
    body = await _json(request) if request.method in ("POST", "PATCH") else {}
    if not isinstance(body, dict):
        return _bad("body must be a JSON object of field values")
    org = emulator.org
    try:
        if request.method == "POST":
            new_id = await run_in_threadpool(org.insert, sobject, body)
            return json_response({"id": new_id, "success": True, "errors": []}, 201)
        if record_id is None:
            return _bad("a record id is required", "NOT_FOUND")
        if request.method == "PATCH":
            await run_in_threadpool(org.update, sobject, record_id, body)
            return Response(status_code=204)
        if request.method == "DELETE":
            await run_in_threadpool(org.delete, sobject, record_id)
            return Response(status_code=204)
        found = await run_in_threadpool(org.get, sobject, record_id)
    except RecordError as error:
        return _record_error(error)
    if found is None:
        return json_response(
            [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}], 404
        )
    return Response(orjson.dumps(found, default=str), media_type="application/json")


async def purge(emulator: Emulator, request: Request) -> Response:
    body = await _json(request)
    sobject = body.get("sobject") if isinstance(body, dict) else None
    try:
        removed = await run_in_threadpool(emulator.org.purge, sobject)
    except RecordError as error:
        return _record_error(error)
    return json_response({"purged": removed})
