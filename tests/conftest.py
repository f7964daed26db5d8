"""Shared fixtures. Real services only: SQLite files, PostgreSQL, the lake on disk, HTTPS emulators.

PostgreSQL tests use ``HEADWATER_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Where it is unreachable they skip and say why — unless ``HEADWATER_TEST_REQUIRE_SERVICES=1`` (set by CI),
where they fail.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from headwater.store.db import make_engine, upgrade
from headwater.store.runtime_tables import runtime_metadata

POSTGRES_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVICES = os.environ.get("HEADWATER_TEST_REQUIRE_SERVICES") == "1"


def _reachable(url: str) -> bool:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL server; skip (or fail in CI) when there is none."""
    if not _reachable(POSTGRES_URL):
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (HEADWATER_TEST_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def salesforce_emulator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A fresh Salesforce emulator over HTTPS (small default org); see headwater/emulators/salesforce/README.md."""
    from headwater.emulators.salesforce.testing import running_emulator

    with running_emulator(tmp_path_factory.mktemp("salesforce")) as emulator:
        yield emulator


@pytest.fixture
def make_connector(salesforce_emulator):  # type: ignore[no-untyped-def]
    """``make(spec="basic"|"oauth", ca=True, tuning={...}, **auth_params)`` -> a SalesforceConnector
    on the emulator over HTTPS with short back-offs (helpers in tests/connectors/connector_helpers.py)."""
    from connector_helpers import connector_factory

    yield from connector_factory(salesforce_emulator)


# --- runtime fixtures (tests/runtime): a real SQLite file and a PostgreSQL schema of its own per session.
# They live here, not in tests/runtime/conftest.py: a second ``conftest`` module would shadow the one
# tests/api imports by name.


@pytest.fixture(scope="session")
def pg_schema_url(postgres_url: str) -> Iterator[tuple[str, str]]:
    """(url, schema): a fresh schema for this session on the shared PostgreSQL, dropped afterwards."""
    schema = f"hw_runtime_{secrets.token_hex(4)}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield postgres_url, schema
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _reset(engine: sa.Engine) -> None:
    """Migrate (a no-op when done) and empty the runtime's tables."""
    upgrade(engine)
    with engine.begin() as conn:
        for table in reversed(runtime_metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The runtime tables on SQLite and on PostgreSQL: every test using it runs on both."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'runtime.db'}")
    else:
        url, schema = request.getfixturevalue("pg_schema_url")
        eng = make_engine(url, schema=schema)
    _reset(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine(pg_schema_url: tuple[str, str]) -> Iterator[sa.Engine]:
    url, schema = pg_schema_url
    eng = make_engine(url, schema=schema)
    _reset(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def queue_schema(postgres_url: str) -> Iterator[str]:
    """A schema of its own for procrastinate's tables."""
    schema = f"hw_queue_{secrets.token_hex(4)}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
