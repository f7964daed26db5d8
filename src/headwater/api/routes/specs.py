"""``/connectionSpecs`` and ``/flowSpecs``. The header checks run before routing (``auth.HeaderChecks``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.api import spec_lists as specs
from headwater.api.responses import JSONBody
from headwater.api.routes.common import app_state, list_body, list_query

router = APIRouter(tags=["Specs"])


@router.get("/connectionSpecs", summary="List connection specs")
async def list_connection_specs(request: Request) -> JSONBody:
    catalog, query = app_state(request).specs.connection_specs, list_query(request)
    return JSONBody(list_body(request, specs.list_specs(catalog, query), query))


@router.get("/connectionSpecs/{spec_id}", summary="Get a connection spec")
async def get_connection_spec(request: Request, spec_id: str) -> JSONBody:
    return JSONBody(specs.get_spec(app_state(request).specs.connection_specs, spec_id, "connectionSpecs"))


@router.get("/flowSpecs", summary="List flow specs")
async def list_flow_specs(request: Request) -> JSONBody:
    catalog, query = app_state(request).specs.flow_specs, list_query(request)
    return JSONBody(list_body(request, specs.list_specs(catalog, query), query))


@router.get("/flowSpecs/{spec_id}", summary="Get a flow spec")
async def get_flow_spec(request: Request, spec_id: str) -> JSONBody:
    return JSONBody(specs.get_spec(app_state(request).specs.flow_specs, spec_id, "flowSpecs"))
