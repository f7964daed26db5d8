"""REST record writes: ``POST /sobjects/{O}`` (201 ``{"id", "success", "errors"}``), ``PATCH`` and ``DELETE``
on ``/sobjects/{O}/{id}`` (204). They go through the same org calls as the admin API, so they
advance SystemModstamp and feed the recycle bin exactly like test mutations.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from .org import RecordError
from .rest import record as read_record
from .rest import sobject_basic, sobject_of
from .service import Call
from .wire import SalesforceWireError, json_response


def _values(call: Call) -> dict[str, Any]:
    try:
        body = orjson.loads(call.body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SalesforceWireError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise SalesforceWireError(400, "JSON_PARSER_ERROR", "Expected a JSON object of field values")
    body.pop("attributes", None)
    return body


def _translate(error: RecordError) -> SalesforceWireError:
    status = 404 if error.code == "NOT_FOUND" else 400
    return SalesforceWireError(status, error.code, error.message)


def collection(call: Call) -> Response:
    if call.request.method == "GET":
        return sobject_basic(call)
    sobject = sobject_of(call)
    try:
        new_id = call.emulator.org.insert(sobject.name, _values(call))
    except RecordError as error:
        raise _translate(error) from error
    return json_response({"id": new_id, "success": True, "errors": []}, 201)


def item(call: Call) -> Response:
    if call.request.method == "GET":
        return read_record(call)
    sobject = sobject_of(call)
    record_id = call.path_param("record_id")
    try:
        if call.request.method == "PATCH":
            call.emulator.org.update(sobject.name, record_id, _values(call))
        else:
            call.emulator.org.delete(sobject.name, record_id)
    except RecordError as error:
        raise _translate(error) from error
    return Response(status_code=204)
