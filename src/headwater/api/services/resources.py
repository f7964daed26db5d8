"""Rendering stored resources as API documents: metadata fields of contract §3.1 around the body."""

from __future__ import annotations

from typing import Any

from headwater.core.timeutil import datetime_to_ms
from headwater.store.models import Resource


def render(row: Resource, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "createdAt": datetime_to_ms(row.created_at),
        "updatedAt": datetime_to_ms(row.updated_at),
        "createdBy": row.created_by,
        "updatedBy": row.updated_by,
        "createdClient": row.created_client,
        "updatedClient": row.updated_client,
        "sandboxName": row.sandbox_name,
        "imsOrgId": row.org_id,
        **body,
        "state": row.state,
        "version": row.etag,
        "etag": row.etag,
    }
