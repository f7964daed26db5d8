"""The composition root: the one place that puts the API, the web UI and the runtime together.

``api.create_app`` builds the HTTP API alone (it knows nothing of the UI or of workers); ``build_app``
adds the UI (``settings.ui_enabled``) and starts the embedded runtime (scheduler and workers) in the
app's lifespan, so whatever serves the app (uvicorn in ``headwater serve``, the demo's server thread)
starts and stops them with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from headwater.api.app import create_app
from headwater.core.settings import Settings
from headwater.store.bootstrap import DefaultCredentials, ensure_defaults


def build_app(settings: Settings, *, engine: Engine | None = None, runtime: bool = True) -> FastAPI:
    """The whole service: API, UI and (``runtime``) the embedded scheduler and workers."""
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime:
            holder["runtime"] = start_runtime(settings, app.state.headwater.engine)
        try:
            yield
        finally:
            started = holder.pop("runtime", None)
            if started is not None:
                started.stop(wait=False)  # runs in flight are handed back and resume at the next start

    app = create_app(settings, engine=engine, lifespan=lifespan)
    if settings.ui_enabled:
        from headwater.ui import install_ui

        install_ui(app, app.state.headwater)
    return app


def start_runtime(settings: Settings, engine: Engine) -> Any:
    """The embedded runtime with the production plan builder (``.stop(wait=False)`` at shutdown)."""
    from headwater.runtime.embedded import start_embedded_runtime
    from headwater.runtime.plans import DEFAULT_FACTORY, load_plan_builder

    return start_embedded_runtime(settings, engine, load_plan_builder(DEFAULT_FACTORY, settings, engine))


def prepare(settings: Settings, *, runtime: bool = True) -> tuple[FastAPI, DefaultCredentials]:
    """Build the app on a migrated store with its defaults (default org, sandbox, client) in place."""
    app = build_app(settings, runtime=runtime)
    state = app.state.headwater
    with state.sessions() as session, session.begin():
        credentials = ensure_defaults(
            session, state.secret_box, settings.default_org_name, settings.default_sandbox
        )
    return app, credentials


__all__ = ["build_app", "prepare", "start_runtime"]
