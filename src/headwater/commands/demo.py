"""``headwater demo``: the emulator, the service and two dataflows, run end to end with progress.

1. start the Salesforce emulator (HTTPS, its org kept in the data dir) and ``headwater serve`` in this
   process (API, UI, scheduler and workers);
2. add the "Demo Salesforce" account and, over the REST API, the source connections, datasets, target
   connections, mapping sets and flows for Account and Contact (re-runs reuse them);
3. wait for each flow's run (the first slot of a new flow, an on-demand run otherwise) with a progress bar;
4. read the landed rows back with DuckDB, print counts and a sample query, and keep serving.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

from headwater.commands.emulator import _parse_rows
from headwater.core.settings import Settings, load_settings

RUN_TIMEOUT_SECONDS = 1800


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port of the service (default 8080; 0 = any free port).")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Data directory (default ./.headwater)."
)
@click.option(
    "--rows",
    "rows",
    multiple=True,
    metavar="OBJECT=N[,OBJECT=N]",
    help="Size of the demo org, e.g. Account=5000.",
)
@click.option(
    "--emulator-port", type=int, default=8443, show_default=True, help="Port of the Salesforce emulator."
)
@click.option("--exit-after-run", is_flag=True, help="Stop once the runs are done instead of serving on.")
def demo(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    rows: tuple[str, ...],
    emulator_port: int,
    exit_after_run: bool,
) -> None:
    """Bring up Headwater with a demo Salesforce and land Account and Contact in the lake."""
    from rich.console import Console

    from headwater.core.errors import HeadwaterError
    from headwater.demo.provision import DemoError

    console = Console()
    sizes = _parse_rows(tuple(part for value in rows for part in value.split(",") if part.strip()))
    try:
        _demo(
            console,
            load_settings(host=host, port=port, data_dir=data_dir),
            sizes,
            emulator_port,
            exit_after_run,
        )
    except (DemoError, HeadwaterError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _demo(
    console: Any, settings: Settings, sizes: dict[str, int], emulator_port: int, exit_after_run: bool
) -> None:
    from headwater.app import prepare
    from headwater.core.scope import Scope
    from headwater.demo.account import DEMO_ACCOUNT_NAME, ensure_demo_account
    from headwater.demo.emulator import settings_with_emulator, start_demo_emulator
    from headwater.demo.provision import Api, provision

    with console.status("Starting the Salesforce emulator (the first start generates its org) ..."):
        emulator = start_demo_emulator(
            settings.resolved_data_dir, sizes, port=emulator_port, extra_ca=settings.ca_bundle
        )
    console.print(f"[green]✓[/] Salesforce emulator at {emulator.url}")
    listener = _listen(settings.host, settings.port)
    actual_port = listener.getsockname()[1]
    settings = settings_with_emulator(settings, emulator, port=actual_port)
    app, credentials = prepare(settings)  # its lifespan starts the scheduler and workers with the server
    state = app.state.headwater
    server = _start_server(app, listener, settings)
    base = settings.base_url
    try:
        console.print(f"[green]✓[/] Headwater at {base} (API under /data/foundation/flowservice, UI at /)")
        scope = Scope(credentials.org_id, credentials.sandbox_name, credentials.client_id)
        account_id, created = ensure_demo_account(state, scope, emulator)
        console.print(
            f"[green]✓[/] Account {DEMO_ACCOUNT_NAME!r} {'created' if created else 'found'}: {account_id}"
        )
        api = Api(
            base,
            credentials.client_id,
            credentials.client_secret,
            credentials.org_id,
            credentials.sandbox_name,
        )
        try:
            flows = provision(api, account_id)
            for flow in flows:
                verb = "created" if flow.created else "found"
                console.print(f"[green]✓[/] Dataflow {flow.object.flow_name!r} {verb}: {flow.flow_id}")
            _run_with_progress(console, api, flows, emulator, partial(_run_now, state, scope))
        finally:
            api.close()
        _report(console, settings, credentials, flows, emulator)
        if exit_after_run:
            return
        console.print(f"\nServing on {base} — open {base}/ in a browser. Ctrl-C stops.")
        while server.is_alive():
            server.join(timeout=0.5)
    except KeyboardInterrupt:
        console.print("Stopping.")
    finally:
        server.stop()
        # The runtime's pooled HTTPS connections to the emulator are still open: uvicorn would log
        # their cancellation as an error at shutdown, which is not one.
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        emulator.stop()


def _run_now(state: Any, scope: Any, flow_id: str) -> str:
    """An on-demand run of an existing flow, through the same service as the UI's Run now."""
    from headwater.flows import runs

    with state.sessions() as session, session.begin():
        return runs.run_now(session, scope, flow_id)["id"]


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass --port to choose another"
        ) from None
    sock.listen(2048)
    return sock


class _ServerThread(threading.Thread):
    def __init__(self, app: Any, listener: socket.socket, settings: Settings) -> None:
        import uvicorn

        super().__init__(daemon=True)
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.listener = listener

    def run(self) -> None:
        self.server.run(sockets=[self.listener])

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)
        self.listener.close()


def _start_server(app: Any, listener: socket.socket, settings: Settings) -> _ServerThread:
    thread = _ServerThread(app, listener, settings)
    thread.start()
    deadline = time.monotonic() + 30
    while not thread.server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise OSError("the Headwater server did not start")
        time.sleep(0.02)
    return thread


def _run_with_progress(
    console: Any, api: Any, flows: list[Any], emulator: Any, start_run: Callable[[str], str]
) -> None:
    """One run per flow, followed to the end; a failed run stops the demo with its error."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from headwater.demo.provision import DemoError, flow_runs, get_run
    from headwater.flows.runs import run_rows

    # A new flow's first slot is due at once: the scheduler creates its run within a tick (a full load).
    # An existing flow gets a run now, as the UI's "Run now" makes it: it reads what changed since.
    run_ids = {flow.flow_id: start_run(flow.flow_id) for flow in flows if not flow.created}
    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks = {
            flow.flow_id: progress.add_task(
                flow.object.name, total=emulator.count(flow.object.name), status="waiting"
            )
            for flow in flows
        }
        pending = {flow.flow_id: flow for flow in flows}
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while pending:
            if time.monotonic() > deadline:
                raise DemoError(f"the runs did not finish within {RUN_TIMEOUT_SECONDS} s")
            for flow_id, flow in list(pending.items()):
                if flow_id not in run_ids:
                    runs = flow_runs(api, flow_id)
                    if not runs:
                        continue
                    run_ids[flow_id] = runs[0]["id"]
                run = run_rows([get_run(api, run_ids[flow_id])])[0]
                status, read, written, failed = run.state, run.records_in, run.records_out, run.records_failed
                task = tasks[flow_id]
                if not flow.created:  # an incremental run reads only what changed
                    progress.update(task, total=max(read, 1))
                progress.update(task, completed=read, status=status)
                if status == "failed":
                    reasons = (
                        "; ".join(f"{e['code']}: {e['message']}" for e in run.errors) or "no error reported"
                    )
                    raise DemoError(f"the {flow.object.name} run {run.id} failed: {reasons}")
                if status == "success":
                    progress.update(task, status=f"success: {written:,} records written, {failed:,} failed")
                    del pending[flow_id]
            time.sleep(0.25)


def _report(console: Any, settings: Settings, credentials: Any, flows: list[Any], emulator: Any) -> None:
    """Counts and a sample query, read back from the lake with DuckDB."""
    import duckdb
    from rich.table import Table

    from headwater.demo.provision import DemoError
    from headwater.lake import Lake
    from headwater.lake.query import register_views

    lake = Lake.from_settings(settings)
    con = duckdb.connect()
    views = {
        f.dataset_id: lake.dataset(credentials.org_id, credentials.sandbox_name, f.dataset_id).uri
        for f in flows
    }
    register_views(con, views, lake.storage_options)
    counts = Table(title="Landed in the lake (Delta tables)")
    for name in ("object", "dataset", "rows in dataset", "live rows in Salesforce"):
        counts.add_column(name)
    mismatched = []
    for flow in flows:
        row = con.execute(f'SELECT count(*) FROM "{flow.dataset_id}"').fetchone()
        landed = int(row[0]) if row else 0
        expected = emulator.count(flow.object.name)
        counts.add_row(flow.object.name, flow.dataset_id, f"{landed:,}", f"{expected:,}")
        if landed != expected:
            mismatched.append(f"{flow.object.name}: {landed} landed, {expected} in Salesforce")
    console.print(counts)
    if mismatched:
        raise DemoError("the lake does not match the source: " + "; ".join(mismatched))
    account = flows[0]
    sql = (
        f'SELECT name, industry, address.cityCountry FROM "{account.dataset_id}" '
        "WHERE industry IS NOT NULL ORDER BY name LIMIT 5"
    )
    console.print("\nA sample query (DuckDB over the Delta table):")
    console.print(f"  headwater query --data-dir {settings.resolved_data_dir} '{sql}'", soft_wrap=True)
    result = con.execute(sql)
    sample = Table()
    for column in result.description:
        sample.add_column(column[0])
    for values in result.fetchall():
        sample.add_row(*("" if v is None else str(v) for v in values))
    console.print(sample)
    base = settings.base_url
    console.print(
        "\nNext:\n"
        f"  • the web UI:        {base}/\n"
        f"  • the API:           {base}/data/foundation/flowservice/flows\n"
        f"  • credentials:       headwater credentials --data-dir {settings.resolved_data_dir} --json\n"
        "  • reading the lake:  docs/reading-the-lake.md (DuckDB, Polars, Spark)"
    )
