"""``headwater emulator salesforce``: run the local Salesforce emulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import click

from headwater.emulators.salesforce.state import DEFAULT_MEMORY_LIMIT, Credentials, check_memory_limit

DEFAULTS = Credentials()


@click.group()
def emulator() -> None:
    """Run a local emulator of a source system."""


def _parse_rows(values: tuple[str, ...]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not count.strip().isdigit():
            raise click.BadParameter(f"expected OBJECT=N, got {value!r}", param_hint="--rows")
        rows[name.strip()] = int(count)
    return rows


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True, type=int)
@click.option(
    "--data-dir", default=".headwater/salesforce-emulator", show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--rows", "rows", multiple=True, metavar="OBJECT=N", help="Row count of an object (repeatable)."
)
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of the generated data.")
@click.option("--http", "plain_http", is_flag=True, help="Serve plain HTTP instead of HTTPS.")
@click.option(
    "--memory-limit",
    default=DEFAULT_MEMORY_LIMIT,
    show_default=True,
    help="DuckDB buffer pool while serving (e.g. 512MB, 2GB); larger sorts spill to disk.",
)
@click.option(
    "--tls-name",
    "tls_names",
    multiple=True,
    metavar="HOST",
    help="Extra DNS name in the server certificate, e.g. login.salesforce.com (repeatable).",
)
@click.option("--username", default=DEFAULTS.username, show_default=True)
@click.option("--password", default=DEFAULTS.password, show_default=True)
@click.option("--security-token", default=DEFAULTS.security_token, show_default=True)
@click.option("--client-id", default=DEFAULTS.client_id, show_default=True)
@click.option("--client-secret", default=DEFAULTS.client_secret, show_default=True)
def salesforce(
    host: str,
    port: int,
    data_dir: Path,
    rows: tuple[str, ...],
    seed: int,
    plain_http: bool,
    memory_limit: str,
    tls_names: tuple[str, ...],
    username: str,
    password: str,
    security_token: str,
    client_id: str,
    client_secret: str,
) -> None:
    """A local Salesforce (SOAP/OAuth login, REST, SOQL, Bulk API 2.0) with a synthetic org."""
    from headwater.emulators.salesforce.catalog import find_object
    from headwater.emulators.salesforce.server import EmulatorServer, ServerConfig

    row_counts = _parse_rows(rows)
    for name in row_counts:
        if find_object(name) is None:
            raise click.BadParameter(f"unknown object {name!r}", param_hint="--rows")
    credentials = Credentials(username, password, security_token, client_id, client_secret)
    click.echo(f"Generating the org in {data_dir} (seed {seed}) ...")
    try:
        check_memory_limit(memory_limit)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--memory-limit") from exc
    config = ServerConfig(
        data_dir,
        host,
        port,
        not plain_http,
        seed,
        row_counts,
        credentials,
        memory_limit=memory_limit,
        tls_names=tls_names,
    )
    server = EmulatorServer(config)
    click.echo(f"Salesforce emulator listening on {server.url}")
    if server.tls:
        click.echo(f"  CA certificate:  {server.tls.ca_file}")
    click.echo(f"  username:        {username}")
    click.echo(f"  password:        {password}")
    click.echo(f"  security token:  {security_token}")
    click.echo(f"  client id:       {client_id}")
    click.echo(f"  client secret:   {client_secret}")
    click.echo(f"  refresh token:   {credentials.refresh_token}")
    click.echo(f"  admin API:       {server.url}/__emulator__/faults")
    server.serve_forever()
