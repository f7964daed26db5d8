"""Target connections (``/targetConnections``, contract §5.4): the Data Lake dataset a flow writes to.

Only the Data Lake spec is a target (1307-400 otherwise); ``params.dataSetId`` is required (1324-400)
and must name a Catalog dataset of the same org and sandbox (1325-400).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.catalog import datasets
from headwater.connections import usage
from headwater.core.errors import Invalid
from headwater.core.scope import Scope
from headwater.domain.collection import Collection
from headwater.domain.fields import metadata_fields
from headwater.domain.wire import ResourceDoc, SpecRef, base_fields
from headwater.specs import DATA_LAKE_SPEC_ID
from headwater.store.listing import Column, FieldMap, Json
from headwater.store.models import TargetConnection

KIND = "targetConnections"

FIELDS = FieldMap(
    {
        **metadata_fields(TargetConnection),
        "baseConnectionId": Column(TargetConnection.base_connection_id, nullable=True),
        "connectionSpec.id": Column(TargetConnection.connection_spec_id),
        "connectionSpec.version": Column(TargetConnection.connection_spec_version),
        "params.dataSetId": Column(TargetConnection.dataset_id, nullable=True),
        "data": Json(TargetConnection.data),
        "params": Json(TargetConnection.params),
    },
    id_column=TargetConnection.id,
    default_order="createdAt",
)


class CreateTargetConnection(BaseModel):
    """``POST /targetConnections`` (OAS ``CreateTargetConnectionRequest``; LEGACY's baseConnectionId allowed)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str | None = None
    baseConnectionId: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    connectionSpec: SpecRef


class TargetConnectionDoc(ResourceDoc):
    name: str
    description: str | None = None
    baseConnectionId: str | None = None
    data: dict[str, Any]
    params: dict[str, Any]
    connectionSpec: SpecRef


class TargetConnections(Collection[TargetConnection]):
    model = TargetConnection
    fields = FIELDS
    patchable = frozenset({"name", "description", "params", "data"})
    frozen = frozenset({"connectionSpec"})

    def body(self, row: TargetConnection) -> dict[str, Any]:
        body: dict[str, Any] = {"name": row.name}
        if row.description is not None:
            body["description"] = row.description
        if row.base_connection_id is not None:
            body["baseConnectionId"] = row.base_connection_id
        return body | {
            "data": dict(row.data),
            "params": dict(row.params),
            "connectionSpec": {"id": row.connection_spec_id, "version": row.connection_spec_version},
        }

    def assign(self, row: TargetConnection, body: dict[str, Any]) -> None:
        spec = body.get("connectionSpec") or {}
        row.name = body["name"]
        row.description = body.get("description")
        row.base_connection_id = body.get("baseConnectionId")
        row.connection_spec_id = str(spec.get("id", ""))
        row.connection_spec_version = str(spec.get("version") or "1.0")
        row.data = dict(body.get("data") or {})
        row.params = dict(body.get("params") or {})
        row.dataset_id = str(row.params["dataSetId"])

    def document(self, row: TargetConnection, related: Any) -> TargetConnectionDoc:
        data = dict(row.data)
        data.setdefault("format", "parquet_xdm")
        return TargetConnectionDoc(
            **base_fields(row),
            name=row.name,
            description=row.description,
            baseConnectionId=row.base_connection_id,
            data=data,
            params=dict(row.params),
            connectionSpec=SpecRef(id=row.connection_spec_id, version=row.connection_spec_version),
        )

    def validate(self, session: Session, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Invalid(
                "connection.name_missing", "The mandatory field name is not provided.", field="name"
            )
        spec_id = (body.get("connectionSpec") or {}).get("id")
        if spec_id != DATA_LAKE_SPEC_ID:
            raise Invalid(
                "target.spec_unsupported",
                f"The connection spec {spec_id} is not a supported target. "
                f"Use the Data Lake connection spec {DATA_LAKE_SPEC_ID}.",
            )
        params = body.get("params")
        dataset_id = params.get("dataSetId") if isinstance(params, dict) else None
        if not isinstance(dataset_id, str) or not dataset_id:
            raise Invalid(
                "target.dataset_missing",
                "The dataSetId is missing in params. Please provide a valid dataSetId and try again.",
            )
        if not datasets.exists(session, scope, dataset_id):
            raise Invalid(
                "target.dataset_unknown",
                f"The dataset {dataset_id} does not exist in this sandbox. Please provide a valid dataSetId and try again.",
            )
        return body

    def check_unused(self, session: Session, scope: Scope, row: TargetConnection) -> None:
        usage.check_connection_unused(session, scope, KIND, row.id)


__all__ = ["KIND", "CreateTargetConnection", "TargetConnectionDoc", "TargetConnections"]
