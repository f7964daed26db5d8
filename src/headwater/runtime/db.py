"""Engines for the runtime: SQLite (WAL, busy timeout) or PostgreSQL, the few dialect details in one place.

Used by the runtime on its own and by tests; the server's store hands its engine to the runtime instead
when both run in one process.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event


def make_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``. ``schema`` (PostgreSQL only) sets the search path, isolating test sessions."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a worker writes; the busy timeout makes writers queue, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


__all__ = ["make_engine"]
