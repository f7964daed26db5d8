"""``/sourceConnections``: the generic CRUD routes over ``services.source_connections``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.api.routes.common import app_state
from headwater.api.routes.crud import add_crud_routes
from headwater.api.services.source_connections import CreateSourceConnection, SourceConnections

router = APIRouter(tags=["Source connections"])


def service(request: Request) -> SourceConnections:
    state = app_state(request)
    return SourceConnections(state.specs, state.explorer())


add_crud_routes(router, "/sourceConnections", service, CreateSourceConnection, "source connection")
