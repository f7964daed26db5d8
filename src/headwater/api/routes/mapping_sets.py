"""Data Prep ``/mappingSets``: thin routes over ``dataprep.mapping_sets`` (same auth headers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from headwater.api.auth import check_request
from headwater.api.body import model_body, openapi_body
from headwater.api.routes.common import in_transaction
from headwater.core.scope import Scope
from headwater.dataprep import mapping_sets

router = APIRouter(tags=["Mapping sets"])
Caller = Annotated[Scope, Depends(check_request)]
BODY = openapi_body(mapping_sets.MappingSetIn)


@router.post("/mappingSets", summary="Create a mapping set (version 0)", openapi_extra=BODY)
async def create_mapping_set(request: Request, scope: Caller) -> dict[str, Any]:
    payload = await model_body(request, mapping_sets.MappingSetIn)
    return await in_transaction(request, lambda db: mapping_sets.create(db, scope, payload))


@router.put("/mappingSets/{mapping_id}", summary="Store a new version of a mapping set", openapi_extra=BODY)
async def put_mapping_set(request: Request, mapping_id: str, scope: Caller) -> dict[str, Any]:
    payload = await model_body(request, mapping_sets.MappingSetIn)
    return await in_transaction(request, lambda db: mapping_sets.put(db, scope, mapping_id, payload))


@router.get("/mappingSets/{mapping_id}", summary="Get a mapping set (latest, or ?version=N)")
async def get_mapping_set(request: Request, mapping_id: str, scope: Caller) -> dict[str, Any]:
    version = request.query_params.get("version")
    return await in_transaction(
        request, lambda db: mapping_sets.get(db, scope, mapping_id, version), read_only=True
    )


@router.get("/mappingSets/{mapping_id}/versions/{version}", summary="Get one version of a mapping set")
async def get_mapping_set_version(
    request: Request, mapping_id: str, version: str, scope: Caller
) -> dict[str, Any]:
    return await in_transaction(
        request, lambda db: mapping_sets.get(db, scope, mapping_id, version), read_only=True
    )


@router.delete("/mappingSets/{mapping_id}", status_code=204, summary="Delete a mapping set")
async def delete_mapping_set(request: Request, mapping_id: str, scope: Caller) -> Response:
    await in_transaction(request, lambda db: mapping_sets.delete(db, scope, mapping_id))
    return Response(status_code=204)
