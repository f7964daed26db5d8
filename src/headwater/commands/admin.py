"""Admin commands acting on the configured database: credentials, orgs, sandboxes, clients, db."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from headwater.core import jsonutil
from headwater.core.errors import HeadwaterError
from headwater.core.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(func: F) -> F:
    option = click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Data directory.")
    return option(func)  # type: ignore[return-value]


@contextmanager
def _session(data_dir: Path | None) -> Iterator[tuple[Any, Settings]]:
    from headwater.store import db

    settings = load_settings(data_dir=data_dir)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    try:
        with db.session_factory(engine)() as session, session.begin():
            yield session, settings
    except HeadwaterError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


@click.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def credentials(data_dir: Path | None, as_json: bool) -> None:
    """Print the default API client's credentials and a fresh access token."""
    from headwater.api.tokens import TokenService
    from headwater.store.bootstrap import ensure_defaults
    from headwater.store.crypto import SecretBox, derive_key, load_secret_key

    with _session(data_dir) as (session, settings):
        key = load_secret_key(settings)
        creds = ensure_defaults(session, SecretBox(key), settings.default_org_name, settings.default_sandbox)
    tokens = TokenService(derive_key(key, "headwater/token-signing/v1"), settings.token_ttl_seconds)
    out = {
        "imsOrgId": creds.org_id,
        "sandboxName": creds.sandbox_name,
        "clientId": creds.client_id,
        "clientSecret": creds.client_secret,
        "accessToken": tokens.issue(creds.org_id, creds.client_id),
    }
    if as_json:
        click.echo(jsonutil.dumps_str(out))
    else:
        for key_name, value in out.items():
            click.echo(f"{key_name}: {value}")


@click.group()
def orgs() -> None:
    """Create and list orgs."""


@orgs.command("create")
@data_dir_option
@click.argument("name")
def orgs_create(data_dir: Path | None, name: str) -> None:
    from headwater.store import tenants

    with _session(data_dir) as (session, settings):
        org = tenants.create_org(session, name, sandbox=settings.default_sandbox)
        click.echo(
            jsonutil.dumps_str({"id": org.id, "name": org.name, "sandboxes": [settings.default_sandbox]})
        )


@orgs.command("list")
@data_dir_option
def orgs_list(data_dir: Path | None) -> None:
    from headwater.store import tenants

    with _session(data_dir) as (session, _):
        for org in tenants.list_orgs(session):
            click.echo(jsonutil.dumps_str({"id": org.id, "name": org.name, "default": org.is_default}))


@click.group()
def sandboxes() -> None:
    """Create and list sandboxes of an org."""


@sandboxes.command("create")
@data_dir_option
@click.option("--org", "org_id", required=True)
@click.argument("name")
def sandboxes_create(data_dir: Path | None, org_id: str, name: str) -> None:
    from headwater.store import tenants

    with _session(data_dir) as (session, _):
        sandbox = tenants.create_sandbox(session, org_id, name)
        click.echo(jsonutil.dumps_str({"id": sandbox.id, "name": sandbox.name, "imsOrgId": org_id}))


@sandboxes.command("list")
@data_dir_option
@click.option("--org", "org_id", required=True)
def sandboxes_list(data_dir: Path | None, org_id: str) -> None:
    from headwater.store import tenants

    with _session(data_dir) as (session, _):
        for sandbox in tenants.list_sandboxes(session, org_id):
            click.echo(jsonutil.dumps_str({"id": sandbox.id, "name": sandbox.name}))


@click.group()
def clients() -> None:
    """Create and list API clients of an org."""


@clients.command("create")
@data_dir_option
@click.option("--org", "org_id", required=True)
@click.option("--name", default="API client")
def clients_create(data_dir: Path | None, org_id: str, name: str) -> None:
    """Create a client; its secret is shown only now."""
    from headwater.store import tenants

    with _session(data_dir) as (session, _):
        issued = tenants.create_client(session, org_id, name)
    click.echo(
        jsonutil.dumps_str(
            {"clientId": issued.client_id, "clientSecret": issued.client_secret, "imsOrgId": issued.org_id}
        )
    )


@clients.command("list")
@data_dir_option
@click.option("--org", "org_id", required=True)
def clients_list(data_dir: Path | None, org_id: str) -> None:
    from headwater.store import tenants

    with _session(data_dir) as (session, _):
        for client in tenants.list_clients(session, org_id):
            click.echo(jsonutil.dumps_str({"clientId": client.client_id, "name": client.name}))


@click.group()
def db() -> None:
    """Migrate the metadata database."""


@db.command("upgrade")
@data_dir_option
def db_upgrade(data_dir: Path | None) -> None:
    """Apply all migrations."""
    from headwater.store import db as store_db

    settings = load_settings(data_dir=data_dir)
    engine = store_db.make_engine(settings.resolved_database_url)
    store_db.upgrade(engine)
    engine.dispose()
    click.echo("database is up to date")
