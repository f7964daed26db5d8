"""A generic Flow Service collection over ``store.resources``: create, get, list, patch, delete.

Subclasses name the ``kind``, the patchable top-level fields, how a document is validated before it
is stored (``validate``) and what a read adds around it (``decorate``: inheritedAttributes, links).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from headwater.api import patch
from headwater.api.listing import list_body, parse_query, run_query
from headwater.api.services.resources import render
from headwater.core.errors import FlowError
from headwater.store import resources
from headwater.store.models import Resource
from headwater.store.resources import Scope


class Collection:
    kind: str = ""
    patchable: frozenset[str] = frozenset({"name", "description"})
    frozen: frozenset[str] = frozenset()  # roots whose change has a dedicated error (connectionSpec)

    def validate(self, session: Session, scope: Scope, document: dict[str, Any]) -> dict[str, Any]:
        """The document to store, or a FlowError. Called on create and after every patch."""
        return document

    def decorate(self, session: Session, scope: Scope, row: Resource, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def render(self, session: Session, scope: Scope, row: Resource) -> dict[str, Any]:
        return render(row, self.decorate(session, scope, row, dict(row.document)))

    def create(self, session: Session, scope: Scope, document: dict[str, Any]) -> Resource:
        return resources.create(session, scope, self.kind, self.validate(session, scope, document))

    def get(self, session: Session, scope: Scope, resource_id: str) -> dict[str, Any]:
        return {
            "items": [self.render(session, scope, resources.read(session, scope, self.kind, resource_id))]
        }

    def list(self, session: Session, scope: Scope, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        query = parse_query(params)
        if query.count and not query.conditions:
            return {"count": resources.count_scope(session, scope, self.kind)}
        rows = builtins.list(resources.iter_scope(session, scope, self.kind))
        documents = (self.render(session, scope, row) for row in rows)
        return list_body(run_query(query, documents, f"/{self.kind}"))

    def check_ops(self, ops: builtins.list[dict[str, Any]]) -> None:
        for op in ops:
            root = patch.pointer(op["path"])[:1]
            if root and root[0] in self.frozen:
                raise FlowError(
                    "1414-400",
                    "Invalid request",
                    f"The field {root[0]} of a {self.kind} resource cannot be updated.",
                )
            if not root or root[0] not in self.patchable:
                raise FlowError(
                    "1365-400", "Invalid request", f"The path {op['path']} provided in ops is invalid."
                )

    def patch(
        self, session: Session, scope: Scope, resource_id: str, body: Any, if_match: str | None
    ) -> Resource:
        ops = patch.normalise_ops(body)
        row = resources.get(session, scope, self.kind, resource_id, for_update=True)
        resources.check_etag(row, if_match)
        self.check_ops(ops)
        patched = patch.apply(dict(row.document), ops)
        stored = self.validate_update(session, scope, dict(row.document), patched, ops)
        return resources.update(session, scope, row, stored, secrets=row.secrets)

    def validate_update(
        self,
        session: Session,
        scope: Scope,
        old: dict[str, Any],
        new: dict[str, Any],
        ops: builtins.list[dict[str, Any]],
    ) -> dict[str, Any]:
        return self.validate(session, scope, new)

    def delete(self, session: Session, scope: Scope, resource_id: str) -> None:
        row = resources.get(session, scope, self.kind, resource_id, for_update=True)
        self.check_unused(session, scope, resource_id)
        resources.delete(session, row)

    def check_unused(self, session: Session, scope: Scope, resource_id: str) -> None:
        """Refuse to delete what a flow still references (source and target connections)."""


def id_and_etag(row: Resource) -> dict[str, str]:
    return {"id": row.id, "etag": row.etag}
