"""``/connections``: thin routes over ``connections.base`` and ``connections.explore``."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Request, Response

from headwater.api.auth import caller, check_request
from headwater.api.body import json_body, model_body, openapi_body
from headwater.api.responses import JSONBody
from headwater.api.routes.common import app_state, in_read, in_transaction, list_body, list_query
from headwater.connections.base import Connections, CreateConnection
from headwater.connections.explore import Explorer
from headwater.core.scope import Scope
from headwater.domain.collection import id_and_etag

router = APIRouter(tags=["Connections"])
# Typed query parameters are validated before the route body runs: a Depends keeps auth errors first.
Caller = Annotated[Scope, Depends(check_request)]
PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


def service(request: Request) -> Connections:
    return app_state(request).connections()


@router.post(
    "/connections",
    status_code=201,
    summary="Create a base connection",
    openapi_extra=openapi_body(CreateConnection),
)
async def create_connection(request: Request) -> JSONBody:
    scope = caller(request)
    payload = await model_body(request, CreateConnection)
    connections = service(request)
    row = await in_transaction(request, lambda db: id_and_etag(connections.create(db, scope, payload)))
    location = f"{request.url.path.rstrip('/')}/{row['id']}"
    return JSONBody(row, status_code=201, headers={"Location": location})


@router.get("/connections", summary="List base connections")
async def list_connections(request: Request) -> JSONBody:
    scope = caller(request)
    connections, query = service(request), list_query(request)
    listing = await in_transaction(request, lambda db: connections.list(db, scope, query), read_only=True)
    return JSONBody(list_body(request, listing, query))


# The hottest route reads its path parameter itself: FastAPI's per-request parameter validation was
# a tenth of its cost, and a str path segment cannot fail it. OpenAPI still documents the parameter.
CONNECTION_ID_PARAM = {
    "parameters": [
        {
            "name": "connection_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "title": "Connection Id"},
        }
    ]
}


@router.get(
    "/connections/{connection_id}", summary="Get a base connection", openapi_extra=CONNECTION_ID_PARAM
)
async def get_connection(request: Request) -> JSONBody:
    scope = caller(request)
    connection_id: str = request.path_params["connection_id"]
    connections = service(request)
    return JSONBody(await in_read(request, lambda db: connections.get(db, scope, connection_id)))


@router.patch(
    "/connections/{connection_id}", summary="Update a base connection (JSON Patch)", openapi_extra=PATCH_BODY
)
async def patch_connection(
    request: Request,
    connection_id: str,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> dict[str, Any]:
    scope = caller(request)
    ops = await json_body(request)
    connections = service(request)
    return await in_transaction(
        request, lambda db: id_and_etag(connections.patch(db, scope, connection_id, ops, if_match))
    )


@router.delete("/connections/{connection_id}", status_code=204, summary="Delete a base connection")
async def delete_connection(request: Request, connection_id: str) -> Response:
    scope = caller(request)
    connections = service(request)
    await in_transaction(request, lambda db: connections.delete(db, scope, connection_id))
    return Response(status_code=204)


def explorer(request: Request) -> Explorer:
    return app_state(request).explorer()


@router.get("/connections/{connection_id}/test", summary="Test a base connection")
async def test_connection(request: Request, connection_id: str, scope: Caller) -> JSONBody:
    explore = explorer(request)
    ref = await in_transaction(request, lambda db: explore.load(db, scope, connection_id), read_only=True)
    return JSONBody(await to_thread.run_sync(explore.test, ref))


@router.get("/connections/{connection_id}/explore", summary="Explore a base connection")
async def explore_connection(request: Request, connection_id: str, scope: Caller) -> JSONBody:
    explore, params = explorer(request), dict(request.query_params)
    explore.check_params(params)
    ref = await in_transaction(request, lambda db: explore.load(db, scope, connection_id), read_only=True)
    return JSONBody(await to_thread.run_sync(explore.explore, ref, params))
