"""``/connections``: thin routes over ``api.services.connections``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy.orm import Session

from headwater.api.auth import check_request
from headwater.api.body import json_body, model_body, openapi_body
from headwater.api.responses import JSONBody
from headwater.api.routes.common import app_state, query_pairs, session
from headwater.api.services.connections import Connections, CreateConnection
from headwater.store.resources import Scope

router = APIRouter(tags=["Connections"])
Caller = Annotated[Scope, Depends(check_request)]
Db = Annotated[Session, Depends(session)]
PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


def service(request: Request) -> Connections:
    state = app_state(request)
    return Connections(state.specs, state.secret_box)


@router.post(
    "/connections",
    status_code=201,
    summary="Create a base connection",
    openapi_extra=openapi_body(CreateConnection),
)
async def create_connection(request: Request, scope: Caller, db: Db) -> JSONBody:
    payload = await model_body(request, CreateConnection)
    row = service(request).create(db, scope, payload)
    location = f"{request.url.path.rstrip('/')}/{row.id}"
    return JSONBody({"id": row.id, "etag": row.etag}, status_code=201, headers={"Location": location})


@router.get("/connections", summary="List base connections")
def list_connections(request: Request, scope: Caller, db: Db) -> dict[str, Any]:
    return service(request).list(db, scope, query_pairs(request))


@router.get("/connections/{connection_id}", summary="Get a base connection")
def get_connection(request: Request, connection_id: str, scope: Caller, db: Db) -> dict[str, Any]:
    return service(request).get(db, scope, connection_id)


@router.patch(
    "/connections/{connection_id}", summary="Update a base connection (JSON Patch)", openapi_extra=PATCH_BODY
)
async def patch_connection(
    request: Request,
    connection_id: str,
    scope: Caller,
    db: Db,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> dict[str, Any]:
    ops = await json_body(request)
    row = service(request).patch(db, scope, connection_id, ops, if_match)
    return {"id": row.id, "etag": row.etag}


@router.delete("/connections/{connection_id}", status_code=204, summary="Delete a base connection")
def delete_connection(request: Request, connection_id: str, scope: Caller, db: Db) -> Response:
    service(request).delete(db, scope, connection_id)
    return Response(status_code=204)
