"""``/connectionSpecs`` and ``/flowSpecs``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from headwater.api.auth import check_request
from headwater.api.routes.common import app_state, query_pairs
from headwater.api.services import specs
from headwater.store.resources import Scope

router = APIRouter(tags=["Specs"])
Caller = Annotated[Scope, Depends(check_request)]


@router.get("/connectionSpecs", summary="List connection specs")
async def list_connection_specs(request: Request, _: Caller) -> dict[str, Any]:
    return specs.list_specs(
        app_state(request).specs.connection_specs, query_pairs(request), "/connectionSpecs"
    )


@router.get("/connectionSpecs/{spec_id}", summary="Get a connection spec")
async def get_connection_spec(request: Request, spec_id: str, _: Caller) -> dict[str, Any]:
    return specs.get_spec(app_state(request).specs.connection_specs, spec_id, "connectionSpecs")


@router.get("/flowSpecs", summary="List flow specs")
async def list_flow_specs(request: Request, _: Caller) -> dict[str, Any]:
    return specs.list_specs(app_state(request).specs.flow_specs, query_pairs(request), "/flowSpecs")


@router.get("/flowSpecs/{spec_id}", summary="Get a flow spec")
async def get_flow_spec(request: Request, spec_id: str, _: Caller) -> dict[str, Any]:
    return specs.get_spec(app_state(request).specs.flow_specs, spec_id, "flowSpecs")
