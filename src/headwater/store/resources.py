"""The generic resource repository: one table serves every API resource kind.

A resource lives in exactly one (org, sandbox); every read and write is scoped by both, so a
resource of another org or sandbox is indistinguishable from a missing one (NotFoundError).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from headwater.core.errors import FlowError, NotFoundError
from headwater.core.ids import new_etag, new_id, unquote_etag
from headwater.core.timeutil import utcnow
from headwater.store.models import Resource


@dataclass(frozen=True)
class Scope:
    """Who acts where: the org and sandbox of the request, and the caller for createdBy/createdClient."""

    org_id: str
    sandbox_name: str
    client_id: str

    @property
    def user(self) -> str:
        # Service tokens have no user; Adobe then reports the client as createdBy.
        return f"{self.client_id}@AdobeID"


def create(
    session: Session,
    scope: Scope,
    kind: str,
    document: dict[str, Any],
    *,
    state: str = "enabled",
    secrets: bytes | None = None,
    resource_id: str | None = None,
) -> Resource:
    now = utcnow()
    row = Resource(
        kind=kind,
        id=resource_id or new_id(),
        org_id=scope.org_id,
        sandbox_name=scope.sandbox_name,
        etag=new_etag(),
        created_at=now,
        updated_at=now,
        created_by=scope.user,
        updated_by=scope.user,
        created_client=scope.client_id,
        updated_client=scope.client_id,
        state=state,
        document=document,
        secrets=secrets,
    )
    session.add(row)
    session.flush()
    return row


_READ_ONE = select(*Resource.__table__.columns).where(
    Resource.kind == bindparam("kind"),
    Resource.id == bindparam("id"),
    Resource.org_id == bindparam("org"),
    Resource.sandbox_name == bindparam("sandbox"),
)


def read(db: Session | Connection, scope: Scope, kind: str, resource_id: str) -> Resource:
    """``get`` for read-only use: a plain row with Resource's attributes, skipping ORM identity tracking
    (about four times cheaper; this is the hot path of every GET by id). ``db`` may be a bare Core
    connection, which spares the Session's transaction bookkeeping."""
    params = {"kind": kind, "id": resource_id, "org": scope.org_id, "sandbox": scope.sandbox_name}
    connection = db if isinstance(db, Connection) else db.connection()
    row = connection.execute(_READ_ONE, params).first()
    if row is None:
        raise NotFoundError(kind, resource_id)
    return row  # type: ignore[return-value]  # a Row exposing the same column attributes, read-only


# Built once: composing the expression costs more than running it.
_GET_ONE = select(Resource).where(
    Resource.kind == bindparam("kind"),
    Resource.id == bindparam("id"),
    Resource.org_id == bindparam("org"),
    Resource.sandbox_name == bindparam("sandbox"),
)
_GET_ONE_FOR_UPDATE = _GET_ONE.with_for_update()


def get(session: Session, scope: Scope, kind: str, resource_id: str, *, for_update: bool = False) -> Resource:
    query = _GET_ONE_FOR_UPDATE if for_update else _GET_ONE
    params = {"kind": kind, "id": resource_id, "org": scope.org_id, "sandbox": scope.sandbox_name}
    row = session.scalars(query, params).first()
    if row is None:
        raise NotFoundError(kind, resource_id)
    return row


def iter_scope(session: Session, scope: Scope, kind: str) -> Iterator[Resource]:
    """Every resource of ``kind`` in the scope, oldest first (list filtering happens above this)."""
    query = (
        select(Resource)
        .where(
            Resource.kind == kind,
            Resource.org_id == scope.org_id,
            Resource.sandbox_name == scope.sandbox_name,
        )
        .order_by(Resource.created_at, Resource.id)
    )
    yield from session.scalars(query)


def count_scope(session: Session, scope: Scope, kind: str) -> int:
    query = select(func.count()).where(
        Resource.kind == kind, Resource.org_id == scope.org_id, Resource.sandbox_name == scope.sandbox_name
    )
    return int(session.scalar(query) or 0)


def check_etag(row: Resource, if_match: str | None) -> None:
    """If-Match is required on updates and must name the current version (quoted or not)."""
    if if_match is None or not if_match.strip():
        raise FlowError(
            "1403-400",
            "Header is missing",
            "The header 'If-Match' is missing in the request. Please provide the header and try again.",
        )
    if unquote_etag(if_match) != unquote_etag(row.etag):
        raise FlowError(
            "1404-412",
            "Version not matching",
            f"The supplied version '{if_match.strip()}' does not match the current version on entity "
            f"'{unquote_etag(row.etag)}'. Please ensure that the supplied version matches the current "
            "version on entity and try again.",
        )


def update(
    session: Session,
    scope: Scope,
    row: Resource,
    document: dict[str, Any],
    *,
    secrets: bytes | None,
    state: str | None = None,
) -> Resource:
    row.document = document
    row.secrets = secrets
    if state is not None:
        row.state = state
    row.etag = new_etag()
    row.updated_at = utcnow()
    row.updated_by = scope.user
    row.updated_client = scope.client_id
    session.flush()
    return row


def delete(session: Session, row: Resource) -> None:
    session.delete(row)
    session.flush()
