"""Who uses a resource: deleting a connection that a flow depends on is refused (1418-400 / 1447-400)."""

from __future__ import annotations

from collections.abc import Set

from sqlalchemy.orm import Session

from headwater.core.errors import FlowError
from headwater.store import resources
from headwater.store.resources import Scope


def flows_using(
    session: Session,
    scope: Scope,
    *,
    source_ids: Set[str] = frozenset(),
    target_ids: Set[str] = frozenset(),
) -> list[str]:
    found = []
    for flow in resources.iter_scope(session, scope, "flows"):
        sources = set(flow.document.get("sourceConnectionIds") or [])
        targets = set(flow.document.get("targetConnectionIds") or [])
        if sources & source_ids or targets & target_ids:
            found.append(flow.id)
    return found


def check_base_connection_unused(session: Session, scope: Scope, connection_id: str) -> None:
    sources = {
        row.id
        for row in resources.iter_scope(session, scope, "sourceConnections")
        if row.document.get("baseConnectionId") == connection_id
    }
    if sources and flows_using(session, scope, source_ids=sources):
        raise FlowError(
            "1418-400",
            "Invalid request",
            f"The base connection with the ID {connection_id} cannot be deleted because the base connection is "
            "being used in one or more flows. Please ensure that corresponding flows are deleted before "
            "deleting a base connection.",
        )


def check_connection_unused(session: Session, scope: Scope, kind: str, connection_id: str) -> None:
    ids = {connection_id}
    users = flows_using(
        session, scope, **({"source_ids": ids} if kind == "sourceConnections" else {"target_ids": ids})
    )
    if users:
        raise FlowError("1447-400", "Invalid request", f"Found active flows containing id {connection_id}.")
