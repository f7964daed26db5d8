"""Engines, sessions and migrations for SQLite (WAL, foreign keys on) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from headwater.store.listing import hw_json_match

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")


def make_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``. ``schema`` (PostgreSQL only) sets the search_path, isolating tenants/tests."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # JSON-path list filters (store.listing): SQLite's JSON functions have no wildcard path match.
    dbapi_connection.create_function("hw_json_match", 4, hw_json_match, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations shipped inside this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def refresh_statistics(engine: Engine) -> None:
    """Keep the query planner's statistics current. SQLite has no autovacuum: without statistics its
    planner guesses index selectivity, and may scan a whole (org, sandbox) where an index seek would do.
    ``analysis_limit`` bounds the work (sampled statistics). PostgreSQL's autovacuum analyzes by itself."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


class ThreadReader:
    """One long-lived connection per thread for short reads: a pool checkout and return per read cost
    more than a by-id read itself. Each read ends with a rollback, so no read transaction (and no
    WAL snapshot, which would stall checkpoints) outlives it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()

    def run(self, work: Callable[[Connection], T]) -> T:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._local.connection = self._engine.connect()
        try:
            return work(connection)
        finally:
            try:
                connection.rollback()
            except Exception:
                self._local.connection = None  # a broken connection is replaced on the next read
                connection.close()
                raise
