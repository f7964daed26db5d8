"""What every typed resource table shares: scoped reads, stamped writes, If-Match, scoped lists.

A resource lives in exactly one (org, sandbox); every read and write is scoped by both, so a resource of
another org or sandbox is indistinguishable from a missing one (``NotFound``). Functions take a session
and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from headwater.core.errors import Invalid, NotFound, PreconditionFailed
from headwater.core.ids import new_etag, new_id, unquote_etag
from headwater.core.scope import Scope
from headwater.core.timeutil import now_ms
from headwater.store import listing
from headwater.store.models import Scoped

M = TypeVar("M", bound=Scoped)


def new(
    model: type[M], scope: Scope, *, resource_id: str | None = None, state: str = "enabled", **values: Any
) -> M:
    """A new row of ``model`` in ``scope``: id, etag, times and authors stamped."""
    now = now_ms()
    return model(  # type: ignore[call-arg]  # the declarative constructor takes the mapped columns
        id=resource_id or new_id(),
        org_id=scope.org_id,
        sandbox_name=scope.sandbox_name,
        state=state,
        etag=new_etag(),
        created_at=now,
        updated_at=now,
        created_by=scope.user,
        updated_by=scope.user,
        created_client=scope.client_id,
        updated_client=scope.client_id,
        **values,
    )


def add(session: Session, row: M) -> M:
    session.add(row)
    session.flush()
    return row


def _scoped(model: type[Scoped], scope: Scope) -> list[sa.ColumnElement[bool]]:
    return [model.org_id == scope.org_id, model.sandbox_name == scope.sandbox_name]


def find(
    session: Session, model: type[M], scope: Scope, resource_id: str, *, for_update: bool = False
) -> M | None:
    query = sa.select(model).where(model.id == resource_id, *_scoped(model, scope))
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def get(session: Session, model: type[M], scope: Scope, resource_id: str, *, for_update: bool = False) -> M:
    row = find(session, model, scope, resource_id, for_update=for_update)
    if row is None:
        raise NotFound(model.kind, resource_id)
    return row


@functools.lru_cache(maxsize=32)
def _read_one(model: type[Scoped]) -> sa.Select[Any]:
    table = model.__table__  # type: ignore[attr-defined]
    return sa.select(*table.columns).where(
        table.c.id == sa.bindparam("id"),
        table.c.org_id == sa.bindparam("org"),
        table.c.sandbox_name == sa.bindparam("sandbox"),
    )


def read(db: Session | sa.Connection, model: type[M], scope: Scope, resource_id: str) -> M:
    """``get`` for read-only use: a plain row with the model's attributes, skipping ORM identity tracking
    (several times cheaper: the hot path of every GET by id). ``db`` may be a bare Core connection."""
    params = {"id": resource_id, "org": scope.org_id, "sandbox": scope.sandbox_name}
    connection = db if isinstance(db, sa.Connection) else db.connection()
    row = connection.execute(_read_one(model), params).first()  # type: ignore[arg-type]
    if row is None:
        raise NotFound(model.kind, resource_id)
    return row  # type: ignore[return-value]  # a Row exposing the same column attributes, read-only


def get_many(session: Session, model: type[M], scope: Scope, ids: set[str]) -> dict[str, M]:
    """The rows of ``ids`` that exist in ``scope``, by id (one query: rendering a page of flows)."""
    if not ids:
        return {}
    # By primary key, scope checked here: with the scope in SQL a planner without statistics may prefer
    # the scope index over the primary key and scan the whole scope.
    rows = session.scalars(sa.select(model).where(model.id.in_(ids)))
    return {
        row.id: row for row in rows if row.org_id == scope.org_id and row.sandbox_name == scope.sandbox_name
    }


def touch(row: Scoped, scope: Scope, *, state: str | None = None) -> None:
    """A write to ``row``: new etag, updated time and author."""
    if state is not None:
        row.state = state
    row.etag = new_etag()
    row.updated_at = now_ms()
    row.updated_by = scope.user
    row.updated_client = scope.client_id


def delete(session: Session, row: Scoped) -> None:
    session.delete(row)
    session.flush()


def check_etag(row: Scoped, if_match: str | None) -> None:
    """If-Match is required on updates and must name the current version (quoted or not)."""
    if if_match is None or not if_match.strip():
        raise Invalid(
            "etag.missing",
            "The header 'If-Match' is missing in the request. Please provide the header and try again.",
        )
    if unquote_etag(if_match) != unquote_etag(row.etag):
        raise PreconditionFailed(
            "etag.mismatch",
            f"The supplied version '{if_match.strip()}' does not match the current version on entity "
            f"'{unquote_etag(row.etag)}'. Please ensure that the supplied version matches the current "
            "version on entity and try again.",
        )


def page(
    session: Session,
    model: type[M],
    scope: Scope,
    query: listing.ListQuery,
    fields: listing.FieldMap,
    *,
    default_limit: int,
) -> listing.Page:
    """One page of ``model`` rows of the scope under ``query`` (filters, order, keyset)."""
    base = sa.select(model).where(*_scoped(model, scope))
    return listing.fetch_page(session, base, query, fields, default_limit=default_limit, entity=True)


def count(
    session: Session, model: type[Scoped], scope: Scope, query: listing.ListQuery, fields: listing.FieldMap
) -> int:
    base = sa.select(model.id).where(*_scoped(model, scope))
    return listing.count_rows(session, base, query, fields)


__all__ = [
    "add",
    "check_etag",
    "count",
    "delete",
    "find",
    "get",
    "get_many",
    "new",
    "page",
    "read",
    "touch",
]
