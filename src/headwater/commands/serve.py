"""``headwater serve``: the API, the web UI, the scheduler and workers in one process (``--demo``: and a Salesforce)."""

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
@click.option(
    "--demo",
    "with_demo",
    is_flag=True,
    help="Also start the Salesforce emulator and add a 'Demo Salesforce' account that uses it.",
)
def serve(host: str | None, port: int | None, data_dir: Path | None, with_demo: bool) -> None:
    """Run the Flow Service API and the web UI."""
    import uvicorn

    settings = load_settings(host=host, port=port, data_dir=data_dir)
    emulator = None
    if with_demo:
        from headwater.demo.emulator import settings_with_emulator, start_demo_emulator

        emulator = start_demo_emulator(settings.resolved_data_dir, extra_ca=settings.ca_bundle)
        settings = settings_with_emulator(settings, emulator)
    app, credentials = prepare(settings)
    state = app.state.headwater  # type: ignore[attr-defined]
    if emulator is not None:
        from headwater.demo.account import DEMO_ACCOUNT_NAME, ensure_demo_account
        from headwater.store.resources import Scope

        scope = Scope(credentials.org_id, credentials.sandbox_name, credentials.client_id)  # type: ignore[attr-defined]
        account_id, _ = ensure_demo_account(state, scope, emulator)
        click.echo(
            f"Demo Salesforce emulator at {emulator.url}; account {DEMO_ACCOUNT_NAME!r} ({account_id})"
        )
    runtime = start_background_services(settings, state.engine)
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
        if emulator is not None:
            emulator.stop()
