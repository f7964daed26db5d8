"""A Flow Service collection over one typed table: create, get, list, patch, delete.

A kind names its model and its filterable fields, and says how a row becomes the API body that
JSON Patch edits (``body``) and back (``assign``), how a body is checked (``validate``) and how a row is
shown (``document``, with ``related`` loading what a whole page of documents needs in one query each).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from headwater.core import jsonpatch
from headwater.core.errors import Invalid
from headwater.core.scope import Scope
from headwater.domain.wire import dump
from headwater.store import repository
from headwater.store.listing import FieldMap, ListQuery
from headwater.store.models import Scoped

M = TypeVar("M", bound=Scoped)
DEFAULT_LIMIT = 100  # a list without ``limit`` answers this many items and a next link
Db = Session | sa.Connection


@dataclass
class Listing:
    """A list answer: a page of documents and the keyset position of the next page, or a count."""

    items: list[dict[str, Any]]
    after: tuple[Any, str] | None = None
    count: int | None = None


class Collection(Generic[M]):
    model: type[M]
    fields: FieldMap
    patchable: frozenset[str] = frozenset({"name", "description"})
    frozen: frozenset[str] = frozenset()  # roots whose change has a dedicated error (connectionSpec)

    # --- what a kind says -------------------------------------------------------------------------

    def body(self, row: M) -> dict[str, Any]:
        """The row as the API body a PATCH edits (the document without metadata)."""
        raise NotImplementedError

    def assign(self, row: M, body: dict[str, Any]) -> None:
        """Store a validated body in the row's columns."""
        raise NotImplementedError

    def validate(self, session: Session, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
        """The body to store, or a domain error. Called on create and after every patch."""
        return body

    def validate_update(
        self,
        session: Session,
        scope: Scope,
        old: dict[str, Any],
        new: dict[str, Any],
        ops: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return self.validate(session, scope, new)

    def document(self, row: M, related: Any) -> BaseModel:
        raise NotImplementedError

    def related(self, db: Db, scope: Scope, rows: builtins.list[M]) -> Any:
        """What the documents of ``rows`` need from other tables, loaded once for all of them."""
        return None

    def check_unused(self, session: Session, scope: Scope, row: M) -> None:
        """Refuse to delete what a flow still references."""

    # --- the operations ---------------------------------------------------------------------------

    def render(self, db: Db, scope: Scope, rows: builtins.list[M]) -> builtins.list[dict[str, Any]]:
        related = self.related(db, scope, rows)
        return [dump(self.document(row, related)) for row in rows]

    def create(self, session: Session, scope: Scope, body: dict[str, Any]) -> M:
        row = repository.new(self.model, scope)
        self.assign(row, self.validate(session, scope, body))
        return repository.add(session, row)

    def get(self, db: Db, scope: Scope, resource_id: str) -> dict[str, Any]:
        return {"items": self.render(db, scope, [repository.read(db, self.model, scope, resource_id)])}

    def list(self, session: Session, scope: Scope, query: ListQuery) -> Listing:
        if query.count:
            return Listing([], count=repository.count(session, self.model, scope, query, self.fields))
        page = repository.page(session, self.model, scope, query, self.fields, default_limit=DEFAULT_LIMIT)
        return Listing(self.render(session, scope, page.rows), page.after)

    def check_ops(self, ops: builtins.list[dict[str, Any]]) -> None:
        for op in ops:
            root = jsonpatch.pointer(op["path"])[:1]
            if root and root[0] in self.frozen:
                raise Invalid(
                    "patch.field_frozen",
                    f"The field {root[0]} of a {self.model.kind} resource cannot be updated.",
                )
            if not root or root[0] not in self.patchable:
                raise Invalid("patch.path_invalid", f"The path {op['path']} provided in ops is invalid.")

    def patch(
        self, session: Session, scope: Scope, resource_id: str, ops_body: Any, if_match: str | None
    ) -> M:
        ops = jsonpatch.normalise_ops(ops_body)
        row = repository.get(session, self.model, scope, resource_id, for_update=True)
        repository.check_etag(row, if_match)
        self.check_ops(ops)
        old = self.body(row)
        patched = jsonpatch.apply(old, ops)
        self.assign(row, self.validate_update(session, scope, self.body(row), patched, ops))
        repository.touch(row, scope)
        session.flush()
        return row

    def delete(self, session: Session, scope: Scope, resource_id: str) -> None:
        row = repository.get(session, self.model, scope, resource_id, for_update=True)
        self.check_unused(session, scope, row)
        repository.delete(session, row)


def id_and_etag(row: Scoped) -> dict[str, str]:
    return {"id": row.id, "etag": row.etag}


__all__ = ["DEFAULT_LIMIT", "Collection", "Db", "Listing", "id_and_etag"]
