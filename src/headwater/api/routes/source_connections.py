"""``/sourceConnections``: the generic CRUD routes over ``services.source_connections``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.api.routes.common import app_state
from headwater.api.routes.crud import add_crud_routes
from headwater.api.services.connections import Connections
from headwater.api.services.explore import Explorer
from headwater.api.services.source_connections import CreateSourceConnection, SourceConnections

router = APIRouter(tags=["Source connections"])


def service(request: Request) -> SourceConnections:
    state = app_state(request)
    explorer = Explorer(Connections(state.specs, state.secret_box), state.settings)
    return SourceConnections(state.specs, explorer)


add_crud_routes(router, "/sourceConnections", service, CreateSourceConnection, "source connection")
