"""``/sourceConnections``: the generic CRUD routes over ``connections.sources``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.api.routes.common import app_state
from headwater.api.routes.crud import add_crud_routes
from headwater.connections.sources import CreateSourceConnection, SourceConnections

router = APIRouter(tags=["Source connections"])


def service(request: Request) -> SourceConnections:
    return app_state(request).source_connections()


add_crud_routes(router, "/sourceConnections", service, CreateSourceConnection, "source connection")
