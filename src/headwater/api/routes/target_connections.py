"""``/targetConnections``: the generic CRUD routes over ``connections.targets``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from headwater.api.routes.crud import add_crud_routes
from headwater.connections.targets import CreateTargetConnection, TargetConnections

router = APIRouter(tags=["Target connections"])


def service(request: Request) -> TargetConnections:
    return TargetConnections()


add_crud_routes(router, "/targetConnections", service, CreateTargetConnection, "target connection")
