"""Shared route plumbing: the app state, a session per request (the route owns the transaction)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from anyio import to_thread
from fastapi import Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from headwater.api.state import AppState
from headwater.domain.collection import Listing
from headwater.store.listing import ListQuery

T = TypeVar("T")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.headwater
    return state


def session(request: Request) -> Iterator[Session]:
    with app_state(request).sessions() as db_session, db_session.begin():
        yield db_session


async def in_transaction(request: Request, work: Callable[[Session], T], *, read_only: bool = False) -> T:
    """Run ``work`` inside one transaction, in a worker thread so blocking I/O stays off the event loop.

    Exception: reads on SQLite run inline. They never wait on a lock (WAL) nor on a network, take well
    under a millisecond, and the thread hop would cost more than the read itself.
    """
    state = app_state(request)
    sessions = state.sessions

    def run() -> T:
        with sessions() as db_session, db_session.begin():
            return work(db_session)

    if read_only and state.inline_reads:
        return run()
    return await to_thread.run_sync(run, limiter=state.db_limiter)


async def in_read(request: Request, work: Callable[[Connection], T]) -> T:
    """Run a read of plain rows (``store.repository.read``) on a bare Core connection.

    No Session: its transaction bookkeeping cost more than the read on the hot GET path. On SQLite
    inline (like ``in_transaction(read_only=True)``) on the thread's long-lived read connection;
    elsewhere on a pooled connection in a worker thread.
    """
    state = app_state(request)
    if state.reader is not None:
        return state.reader.run(work)
    engine = state.engine

    def run() -> T:
        with engine.connect() as connection:
            return work(connection)

    return await to_thread.run_sync(run, limiter=state.db_limiter)


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def collection_path(request: Request) -> str:
    """The collection's path as next links show it (``/flows``): relative to its API's prefix."""
    path = request.url.path.rstrip("/")
    return "/" + path.rsplit("/", 1)[-1]


def list_query(request: Request) -> ListQuery:
    """The request's list query (a continuation token verified and opened)."""
    return app_state(request).paging.parse(query_pairs(request), collection_path(request))


def list_body(request: Request, listing: Listing, query: ListQuery) -> dict[str, Any]:
    return app_state(request).paging.body(listing, query, collection_path(request))
