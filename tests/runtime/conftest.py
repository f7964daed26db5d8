"""Runtime fixtures: a real SQLite file and a real PostgreSQL schema of its own per test session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from headwater.runtime.tables import runtime_metadata
from headwater.store.db import make_engine, upgrade


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
