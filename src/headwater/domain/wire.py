"""Typed wire documents: what the API shows of a stored resource (contract §3.1), rendered from columns.

Each resource kind has a pydantic model for its document (a ``ResourceDoc`` with its own fields);
``dump`` renders it as JSON-ready data, leaving out what is unset (an absent ``description`` is absent,
not ``null``). Values inside free-form objects (``params``, ``data``) are kept exactly as stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from headwater.store.models import Scoped


class SpecRef(BaseModel):
    """A reference to a connection or flow spec (``{"id", "version"}``)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    version: str = "1.0"


class ResourceDoc(BaseModel):
    """The metadata every Flow Service resource shows (contract §3.1): ``version`` equals ``etag``."""

    model_config = ConfigDict(extra="forbid")

    id: str
    createdAt: int
    updatedAt: int
    createdBy: str
    updatedBy: str
    createdClient: str
    updatedClient: str
    sandboxName: str
    imsOrgId: str
    state: str
    version: str
    etag: str


def base_fields(row: Scoped) -> dict[str, Any]:
    """The ``ResourceDoc`` fields of a row."""
    return {
        "id": row.id,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "createdBy": row.created_by,
        "updatedBy": row.updated_by,
        "createdClient": row.created_client,
        "updatedClient": row.updated_client,
        "sandboxName": row.sandbox_name,
        "imsOrgId": row.org_id,
        "state": row.state,
        "version": row.etag,
        "etag": row.etag,
    }


def dump(document: BaseModel) -> dict[str, Any]:
    return document.model_dump(exclude_none=True)


__all__ = ["ResourceDoc", "SpecRef", "base_fields", "dump"]
