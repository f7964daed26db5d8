"""The filterable and sortable metadata paths every stored resource has (contract §3.1, §4)."""

from __future__ import annotations

from typing import Any

from headwater.store.listing import Column, Field
from headwater.store.models import Scoped


def metadata_fields(model: type[Scoped]) -> dict[str, Field]:
    """``id``, ``createdAt``, ``state``, ``sandboxName``, ... of ``model`` (names too when it has them)."""
    fields: dict[str, Field] = {
        "id": Column(model.id, sortable=True),
        "createdAt": Column(model.created_at, int, sortable=True),
        "updatedAt": Column(model.updated_at, int, sortable=True),
        "createdBy": Column(model.created_by, sortable=True),
        "updatedBy": Column(model.updated_by, sortable=True),
        "createdClient": Column(model.created_client, sortable=True),
        "updatedClient": Column(model.updated_client, sortable=True),
        "sandboxName": Column(model.sandbox_name),
        "imsOrgId": Column(model.org_id),
        "state": Column(model.state, sortable=True),
        "etag": Column(model.etag),
        "version": Column(model.etag),
    }
    name: Any = getattr(model, "name", None)
    if name is not None:
        fields["name"] = Column(name, sortable=True)
        fields["description"] = Column(model.description, nullable=True)  # type: ignore[attr-defined]
    return fields
