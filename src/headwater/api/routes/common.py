"""Shared route plumbing: the app state, a session per request (the route owns the transaction)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from headwater.api.state import AppState


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.headwater
    return state


def session(request: Request) -> Iterator[Session]:
    with app_state(request).sessions() as db_session, db_session.begin():
        yield db_session


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())
