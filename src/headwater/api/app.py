"""The FastAPI app factory: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from headwater.api import errors
from headwater.api.auth import HeaderChecks
from headwater.api.responses import JSONBody
from headwater.api.routes import (
    catalog,
    connections,
    flows,
    ims,
    mapping_sets,
    runs,
    source_connections,
    specs,
    target_connections,
)
from headwater.api.state import build_state
from headwater.core.settings import Settings

FLOW_SERVICE_PREFIX = "/data/foundation/flowservice"
CATALOG_PREFIX = "/data/foundation/catalog"
CONVERSION_PREFIX = "/data/foundation/conversion"


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
) -> FastAPI:
    """The HTTP API alone (``headwater.app.build_app`` adds the UI and the runtime). ``engine`` lets tests
    and embedders pass a prepared engine (e.g. a PG schema)."""
    app = FastAPI(
        lifespan=lifespan,
        title="Headwater Flow Service API",
        version="1.0",
        description="Adobe Experience Platform Flow Service API (sources), self-hosted.",
        default_response_class=JSONBody,
    )
    state = app.state.headwater = build_state(settings, engine)
    # Added before errors.install so it runs inside CatchAll: a failing sandbox lookup still answers
    # the 500/503 envelope.
    # Every Platform API we serve (Flow Service, Catalog, Data Prep) takes the same headers.
    app.add_middleware(
        HeaderChecks, state=state, prefixes=(FLOW_SERVICE_PREFIX, CATALOG_PREFIX, CONVERSION_PREFIX)
    )
    errors.install(app)
    # One level of routers: each nesting level costs a matching pass on every request.
    app.include_router(connections.router, prefix=FLOW_SERVICE_PREFIX)
    app.include_router(specs.router, prefix=FLOW_SERVICE_PREFIX)
    app.include_router(source_connections.router, prefix=FLOW_SERVICE_PREFIX)
    app.include_router(target_connections.router, prefix=FLOW_SERVICE_PREFIX)
    app.include_router(flows.router, prefix=FLOW_SERVICE_PREFIX)
    app.include_router(runs.router, prefix=FLOW_SERVICE_PREFIX)
    app.include_router(catalog.router, prefix=CATALOG_PREFIX)
    app.include_router(mapping_sets.router, prefix=CONVERSION_PREFIX)
    app.include_router(ims.router)

    @app.get("/health", tags=["Health"], summary="Liveness (no auth)")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
