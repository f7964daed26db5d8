"""``/connectionSpecs`` and ``/flowSpecs``. The header checks run before routing (``auth.HeaderChecks``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.api.responses import JSONBody
from headwater.api.routes.common import app_state, query_pairs
from headwater.api.services import specs

router = APIRouter(tags=["Specs"])


@router.get("/connectionSpecs", summary="List connection specs")
async def list_connection_specs(request: Request) -> JSONBody:
    catalog = app_state(request).specs.connection_specs
    return JSONBody(specs.list_specs(catalog, query_pairs(request), "/connectionSpecs"))


@router.get("/connectionSpecs/{spec_id}", summary="Get a connection spec")
async def get_connection_spec(request: Request, spec_id: str) -> JSONBody:
    return JSONBody(specs.get_spec(app_state(request).specs.connection_specs, spec_id, "connectionSpecs"))


@router.get("/flowSpecs", summary="List flow specs")
async def list_flow_specs(request: Request) -> JSONBody:
    return JSONBody(specs.list_specs(app_state(request).specs.flow_specs, query_pairs(request), "/flowSpecs"))


@router.get("/flowSpecs/{spec_id}", summary="Get a flow spec")
async def get_flow_spec(request: Request, spec_id: str) -> JSONBody:
    return JSONBody(specs.get_spec(app_state(request).specs.flow_specs, spec_id, "flowSpecs"))
