"""Thin CRUD routes for a ``domain.collection.Collection``: POST, list, GET, PATCH, DELETE.

Every Flow Service collection beyond ``/connections`` has the same five routes; they are declared here
once, with the service built per request by ``factory``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel

from headwater.api.auth import check_request
from headwater.api.body import json_body, model_body, openapi_body
from headwater.api.responses import JSONBody
from headwater.api.routes.common import in_transaction, list_body, list_query
from headwater.core.scope import Scope
from headwater.domain.collection import Collection, id_and_etag

Caller = Annotated[Scope, Depends(check_request)]
PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


def add_crud_routes(
    router: APIRouter,
    path: str,
    factory: Callable[[Request], Collection[Any]],
    model: type[BaseModel],
    noun: str,
) -> None:
    item = path + "/{resource_id}"

    @router.post(path, status_code=201, summary=f"Create a {noun}", openapi_extra=openapi_body(model))
    async def create(request: Request, scope: Caller) -> JSONBody:
        payload = (await model_body(request, model)).model_dump(exclude_none=True)
        service = factory(request)
        row = await in_transaction(request, lambda db: id_and_etag(service.create(db, scope, payload)))
        location = f"{request.url.path.rstrip('/')}/{row['id']}"
        return JSONBody(row, status_code=201, headers={"Location": location})

    @router.get(path, summary=f"List {noun}s")
    async def list_all(request: Request, scope: Caller) -> JSONBody:
        service, query = factory(request), list_query(request)
        listing = await in_transaction(request, lambda db: service.list(db, scope, query), read_only=True)
        return JSONBody(list_body(request, listing, query))

    @router.get(item, summary=f"Get a {noun}")
    async def get_one(request: Request, resource_id: str, scope: Caller) -> JSONBody:
        service = factory(request)
        return JSONBody(
            await in_transaction(request, lambda db: service.get(db, scope, resource_id), read_only=True)
        )

    @router.patch(item, summary=f"Update a {noun} (JSON Patch)", openapi_extra=PATCH_BODY)
    async def patch_one(
        request: Request,
        resource_id: str,
        scope: Caller,
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> dict[str, Any]:
        ops = await json_body(request)
        service = factory(request)
        return await in_transaction(
            request, lambda db: id_and_etag(service.patch(db, scope, resource_id, ops, if_match))
        )

    @router.delete(item, status_code=204, summary=f"Delete a {noun}")
    async def delete_one(request: Request, resource_id: str, scope: Caller) -> Response:
        service = factory(request)
        await in_transaction(request, lambda db: service.delete(db, scope, resource_id))
        return Response(status_code=204)
