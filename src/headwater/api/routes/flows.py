"""``/flows``: the generic CRUD routes plus ``POST /flows/{id}/action?op=enable|disable``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from headwater.api.auth import check_request
from headwater.api.routes.common import app_state, in_transaction
from headwater.api.routes.crud import add_crud_routes
from headwater.core.scope import Scope
from headwater.domain.collection import id_and_etag
from headwater.flows.flows import CreateFlow, Flows

router = APIRouter(tags=["Flows"])
Caller = Annotated[Scope, Depends(check_request)]


def service(request: Request) -> Flows:
    return app_state(request).flows()


@router.post("/flows/{flow_id}/action", summary="Enable or disable a flow (?op=enable|disable)")
async def flow_action(request: Request, flow_id: str, scope: Caller) -> dict[str, Any]:
    flows, op = service(request), request.query_params.get("op")
    return await in_transaction(request, lambda db: id_and_etag(flows.action(db, scope, flow_id, op)))


add_crud_routes(router, "/flows", service, CreateFlow, "flow")
