"""``headwater worker``: execute dataflow runs from the shared procrastinate queue (PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging

import click

from headwater.core.errors import ConfigurationError
from headwater.core.settings import load_settings
from headwater.runtime.embedded import owner_id
from headwater.runtime.plans import DEFAULT_FACTORY, load_plan_builder
from headwater.runtime.queue_procrastinate import ProcrastinateRuntime, apply_queue_schema, build_app
from headwater.runtime.retention import RunRetention
from headwater.store.db import make_engine, upgrade


@click.command(name="worker")
@click.option("--database-url", envvar="HEADWATER_DATABASE_URL", help="PostgreSQL URL of the metadata store.")
@click.option("--concurrency", default=2, show_default=True, help="Runs executed at once by this worker.")
@click.option(
    "--tick", "tick_seconds", default=5.0, show_default=True, help="Seconds between scheduling passes."
)
@click.option(
    "--stale-after",
    "stale_after",
    default=60.0,
    show_default=True,
    help="Seconds without heartbeat before a run is taken over.",
)
@click.option(
    "--plans", default=DEFAULT_FACTORY, show_default=True, help="module:factory building run plans."
)
def worker(
    database_url: str | None, concurrency: int, tick_seconds: float, stale_after: float, plans: str
) -> None:
    """Execute dataflow runs from the shared job queue; run as many as you like, on any machines."""
    settings = load_settings(database_url=database_url)
    url = settings.resolved_database_url
    if not url.startswith("postgresql"):
        raise click.ClickException(
            "headwater worker needs a PostgreSQL metadata store (HEADWATER_DATABASE_URL=postgresql+psycopg://...). "
            "With the embedded SQLite store, runs execute inside `headwater serve`."
        )
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(url)
    try:
        upgrade(engine)
        app = build_app(url)
        apply_queue_schema(app)
        runtime = ProcrastinateRuntime(
            engine,
            app,
            load_plan_builder(plans, settings, engine),
            owner=owner_id("worker"),
            concurrency=concurrency,
            tick_seconds=tick_seconds,
            stale_after_ms=int(stale_after * 1000),
            retention=RunRetention.from_settings(settings),
        )
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    asyncio.run(runtime.run_async())
