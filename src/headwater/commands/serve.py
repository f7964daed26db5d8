"""``headwater serve``: the API, the web UI, the scheduler and workers in one process (``--demo``: and a Salesforce)."""

from __future__ import annotations

from pathlib import Path

import click

from headwater.core.settings import load_settings


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
    from headwater.app import prepare

    app, credentials = prepare(settings)
    state = app.state.headwater
    if emulator is not None:
        from headwater.core.scope import Scope
        from headwater.demo.account import DEMO_ACCOUNT_NAME, ensure_demo_account

        scope = Scope(credentials.org_id, credentials.sandbox_name, credentials.client_id)
        account_id, _ = ensure_demo_account(state, scope, emulator)
        click.echo(
            f"Demo Salesforce emulator at {emulator.url}; account {DEMO_ACCOUNT_NAME!r} ({account_id})"
        )
    base = settings.base_url
    click.echo(f"Headwater Flow Service at {base}/data/foundation/flowservice")
    click.echo(f"  org {credentials.org_id}  sandbox {credentials.sandbox_name}")
    click.echo(f"  token endpoint {base}/ims/token/v3")
    click.echo(
        f"  credentials + a fresh token: headwater credentials --data-dir {settings.resolved_data_dir} --json"
    )
    try:
        # The app's lifespan starts the scheduler and workers with the server and stops them with it.
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    finally:
        if emulator is not None:
            emulator.stop()
