"""Who uses a resource: deleting what a flow depends on is refused (one indexed query each)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from headwater.core.errors import Conflict
from headwater.core.scope import Scope
from headwater.store.models import Flow, SourceConnection


def _in_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    return [Flow.org_id == scope.org_id, Flow.sandbox_name == scope.sandbox_name]


def flows_using_base(session: Session, scope: Scope, connection_id: str) -> list[str]:
    sources = sa.select(SourceConnection.id).where(SourceConnection.base_connection_id == connection_id)
    query = sa.select(Flow.id).where(*_in_scope(scope), Flow.source_connection_id.in_(sources))
    return list(session.scalars(query))


def flows_using_connection(session: Session, scope: Scope, kind: str, connection_id: str) -> list[str]:
    column = Flow.source_connection_id if kind == "sourceConnections" else Flow.target_connection_id
    return list(session.scalars(sa.select(Flow.id).where(*_in_scope(scope), column == connection_id)))


def check_base_connection_unused(session: Session, scope: Scope, connection_id: str) -> None:
    if flows_using_base(session, scope, connection_id):
        raise Conflict(
            "connection.in_use",
            f"The base connection with the ID {connection_id} cannot be deleted because the base connection is "
            "being used in one or more flows. Please ensure that corresponding flows are deleted before "
            "deleting a base connection.",
        )


def check_connection_unused(session: Session, scope: Scope, kind: str, connection_id: str) -> None:
    if flows_using_connection(session, scope, kind, connection_id):
        raise Conflict("connection.used_by_flows", f"Found active flows containing id {connection_id}.")
