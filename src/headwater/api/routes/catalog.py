"""Catalog ``/dataSets``: thin routes over ``catalog.datasets`` (same auth headers as Flow Service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from headwater.api.auth import check_request
from headwater.api.body import json_body, model_body, openapi_body
from headwater.api.responses import JSONBody
from headwater.api.routes.common import in_transaction
from headwater.catalog import datasets
from headwater.core.scope import Scope

router = APIRouter(tags=["Catalog datasets"])
Caller = Annotated[Scope, Depends(check_request)]


@router.post(
    "/dataSets",
    status_code=201,
    summary="Create a dataset",
    openapi_extra=openapi_body(datasets.CreateDataSet),
)
async def create_dataset(request: Request, scope: Caller) -> JSONBody:
    payload = await model_body(request, datasets.CreateDataSet)
    dataset_id = await in_transaction(request, lambda db: datasets.create(db, scope, payload).id)
    location = f"{request.url.path.rstrip('/')}/{dataset_id}"
    return JSONBody(datasets.location(dataset_id), status_code=201, headers={"Location": location})


@router.get("/dataSets", summary="List datasets (keyed by id)")
async def list_datasets(request: Request, scope: Caller) -> JSONBody:
    params = dict(request.query_params)
    return JSONBody(
        await in_transaction(request, lambda db: datasets.list_datasets(db, scope, params), read_only=True)
    )


@router.get("/dataSets/{dataset_id}", summary="Get a dataset (keyed by id)")
async def get_dataset(request: Request, dataset_id: str, scope: Caller) -> JSONBody:
    properties = request.query_params.get("properties")
    return JSONBody(
        await in_transaction(
            request, lambda db: datasets.get(db, scope, dataset_id, properties), read_only=True
        )
    )


@router.patch("/dataSets/{dataset_id}", summary="Update a dataset (JSON Patch)")
async def patch_dataset(request: Request, dataset_id: str, scope: Caller) -> list[str]:
    ops: Any = await json_body(request)
    await in_transaction(request, lambda db: datasets.patch_dataset(db, scope, dataset_id, ops))
    return datasets.location(dataset_id)


@router.delete("/dataSets/{dataset_id}", summary="Delete a dataset")
async def delete_dataset(request: Request, dataset_id: str, scope: Caller) -> list[str]:
    await in_transaction(request, lambda db: datasets.delete(db, scope, dataset_id))
    return datasets.location(dataset_id)
