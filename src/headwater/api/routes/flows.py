"""``/flows``: the generic CRUD routes plus ``POST /flows/{id}/action?op=enable|disable``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from headwater.api.auth import check_request
from headwater.api.routes.common import app_state, in_transaction
from headwater.api.routes.crud import add_crud_routes
from headwater.api.services.collection import id_and_etag
from headwater.api.services.flows import CreateFlow, Flows
from headwater.store.resources import Scope

router = APIRouter(tags=["Flows"])
Caller = Annotated[Scope, Depends(check_request)]


def service(request: Request) -> Flows:
    return Flows(app_state(request).specs)


@router.post("/flows/{flow_id}/action", summary="Enable or disable a flow (?op=enable|disable)")
async def flow_action(request: Request, flow_id: str, scope: Caller) -> dict[str, Any]:
    flows, op = service(request), request.query_params.get("op")
    row = await in_transaction(request, lambda db: flows.action(db, scope, flow_id, op))
    return id_and_etag(row)


add_crud_routes(router, "/flows", service, CreateFlow, "flow")
