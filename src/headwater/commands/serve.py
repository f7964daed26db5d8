"""``headwater serve``: the API (later also the UI, scheduler and workers) in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from headwater.core.settings import Settings, load_settings


def prepare(settings: Settings) -> tuple[object, object]:
    """Migrate the store and create the defaults; returns (app, default credentials)."""
    from headwater.api.app import create_app
    from headwater.store.bootstrap import ensure_defaults

    app = create_app(settings)
    state = app.state.headwater
    with state.sessions() as session, session.begin():
        credentials = ensure_defaults(
            session, state.secret_box, settings.default_org_name, settings.default_sandbox
        )
    return app, credentials


def start_background_services(settings: Settings, engine: Engine | None = None) -> Any:
    """Hook: the scheduler, embedded workers (settings.embedded_workers) and the UI start here.

    Returns the embedded runtime (``.stop(wait=False)`` at shutdown), or ``None`` without an engine.
    """
    if engine is None:
        return None
    from headwater.runtime.embedded import start_embedded_runtime
    from headwater.runtime.plans import DEFAULT_FACTORY, load_plan_builder

    return start_embedded_runtime(settings, engine, load_plan_builder(DEFAULT_FACTORY, settings, engine))


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080).")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Data directory (default ./.headwater)."
)
def serve(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run the Flow Service API."""
    import uvicorn

    settings = load_settings(host=host, port=port, data_dir=data_dir)
    app, credentials = prepare(settings)
    runtime = start_background_services(settings, app.state.headwater.engine)  # type: ignore[attr-defined]
    base = settings.base_url
    click.echo(f"Headwater Flow Service at {base}/data/foundation/flowservice")
    click.echo(f"  org {credentials.org_id}  sandbox {credentials.sandbox_name}")  # type: ignore[attr-defined]
    click.echo(f"  token endpoint {base}/ims/token/v3")
    click.echo(
        f"  credentials + a fresh token: headwater credentials --data-dir {settings.resolved_data_dir} --json"
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())  # type: ignore[arg-type]
    finally:
        if runtime is not None:
            runtime.stop(wait=False)  # runs in flight are handed back and resume at the next start
