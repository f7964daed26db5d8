"""Source connections (``/sourceConnections``, contract §5.3, §7.5): which table and columns a flow reads.

The table and its columns are checked against the source itself, through the base connection's
explore (``objectType=table``): a table with no columns is 1330-400, a column the table does not have
is 1330-400 naming it. Explore happens on create and on every patch of ``params``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.connections import usage
from headwater.connections.explore import Explorer
from headwater.core.errors import Invalid, NotFound
from headwater.core.scope import Scope
from headwater.domain.collection import Collection
from headwater.domain.fields import metadata_fields
from headwater.domain.wire import ResourceDoc, SpecRef, base_fields
from headwater.specs import DATA_LAKE_SPEC_ID, SpecRegistry
from headwater.store import repository
from headwater.store.listing import Column, FieldMap, Json
from headwater.store.models import Connection, SourceConnection

KIND = "sourceConnections"
TABULAR = "tabular"

FIELDS = FieldMap(
    {
        **metadata_fields(SourceConnection),
        "baseConnectionId": Column(SourceConnection.base_connection_id, nullable=True),
        "connectionSpec.id": Column(SourceConnection.connection_spec_id),
        "connectionSpec.version": Column(SourceConnection.connection_spec_version),
        "providerRefId": Column(SourceConnection.provider_ref_id, nullable=True),
        "data": Json(SourceConnection.data),
        "params": Json(SourceConnection.params),
        "inheritedAttributes.baseConnection.id": Column(SourceConnection.base_connection_id, nullable=True),
        "inheritedAttributes.baseConnection.connectionSpec.id": Column(SourceConnection.connection_spec_id),
    },
    id_column=SourceConnection.id,
    default_order="createdAt",
)


class CreateSourceConnection(BaseModel):
    """``POST /sourceConnections`` (OAS ``CreateSourceConnectionRequest``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str | None = None
    baseConnectionId: str | None = None
    data: dict[str, Any]
    params: dict[str, Any] = Field(default_factory=dict)
    connectionSpec: SpecRef
    providerRefId: str | None = None


class BaseRef(BaseModel):
    id: str
    connectionSpec: SpecRef


class SourceInherited(BaseModel):
    baseConnection: BaseRef


class SourceConnectionDoc(ResourceDoc):
    name: str
    description: str | None = None
    baseConnectionId: str | None = None
    data: dict[str, Any]
    params: dict[str, Any]
    connectionSpec: SpecRef
    providerRefId: str | None = None
    inheritedAttributes: SourceInherited | None = None


def invalid(reason: str, message: str, **details: Any) -> Invalid:
    return Invalid(reason, message, **details)


class SourceConnections(Collection[SourceConnection]):
    model = SourceConnection
    fields = FIELDS
    patchable = frozenset({"name", "description", "params", "data"})
    frozen = frozenset({"connectionSpec", "baseConnectionId"})

    def __init__(self, specs: SpecRegistry, explorer: Explorer) -> None:
        self.specs = specs
        self.explorer = explorer

    def body(self, row: SourceConnection) -> dict[str, Any]:
        body: dict[str, Any] = {"name": row.name}
        if row.description is not None:
            body["description"] = row.description
        if row.base_connection_id is not None:
            body["baseConnectionId"] = row.base_connection_id
        body |= {
            "data": dict(row.data),
            "params": dict(row.params),
            "connectionSpec": {"id": row.connection_spec_id, "version": row.connection_spec_version},
        }
        if row.provider_ref_id is not None:
            body["providerRefId"] = row.provider_ref_id
        return body

    def assign(self, row: SourceConnection, body: dict[str, Any]) -> None:
        spec = body.get("connectionSpec") or {}
        row.name = body["name"]
        row.description = body.get("description")
        row.base_connection_id = body.get("baseConnectionId")
        row.connection_spec_id = str(spec.get("id", ""))
        row.connection_spec_version = str(spec.get("version") or "1.0")
        row.data = dict(body.get("data") or {})
        row.params = dict(body.get("params") or {})
        row.provider_ref_id = body.get("providerRefId")

    def document(self, row: SourceConnection, related: Any) -> SourceConnectionDoc:
        spec = SpecRef(id=row.connection_spec_id, version=row.connection_spec_version)
        data = dict(row.data)
        data.setdefault("schema", None)
        inherited = None
        if row.base_connection_id:
            inherited = SourceInherited(
                baseConnection=BaseRef(id=row.base_connection_id, connectionSpec=spec)
            )
        return SourceConnectionDoc(
            **base_fields(row),
            name=row.name,
            description=row.description,
            baseConnectionId=row.base_connection_id,
            data=data,
            params=dict(row.params),
            connectionSpec=spec,
            providerRefId=row.provider_ref_id,
            inheritedAttributes=inherited,
        )

    def validate(self, session: Session, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid(
                "connection.name_missing", "The mandatory field name is not provided.", field="name"
            )
        spec_id = str((body.get("connectionSpec") or {}).get("id", ""))
        if spec_id not in self.specs.connection_specs.by_id or spec_id == DATA_LAKE_SPEC_ID:
            raise invalid(
                "spec.unknown",
                "The spec ID provided is invalid. Please provide a valid spec ID and try again.",
            )
        base = self._base_connection(session, scope, body.get("baseConnectionId"), spec_id)
        data = body.get("data")
        if not isinstance(data, dict) or data.get("format") != TABULAR:
            found = data.get("format") if isinstance(data, dict) else None
            raise Invalid(
                "source.format_unsupported",
                f"The data format {found} is not supported. For table-based sources use 'tabular'.",
                field="data.format",
            )
        params = body.get("params")
        if not isinstance(params, dict):
            raise invalid("invalid", "The field params must be an object.", field="params")
        self._check_columns(session, scope, base.id, params)
        return body

    def check_unused(self, session: Session, scope: Scope, row: SourceConnection) -> None:
        usage.check_connection_unused(session, scope, KIND, row.id)

    # --- internals ---------------------------------------------------------------------------------

    def _base_connection(self, session: Session, scope: Scope, base_id: Any, spec_id: str) -> Connection:
        if not isinstance(base_id, str) or not base_id:
            raise invalid(
                "source.base_connection_missing",
                "The mandatory field baseConnectionId is not provided.",
                field="baseConnectionId",
            )
        try:
            base = repository.read(session, Connection, scope, base_id)
        except NotFound:
            raise invalid(
                "reference.missing",
                f"The base connection {base_id} does not exist in this sandbox. "
                "Please provide a valid baseConnectionId and try again.",
            ) from None
        if base.connection_spec_id != spec_id:
            raise invalid(
                "spec.unknown",
                f"The connection spec {spec_id} does not match the spec {base.connection_spec_id} of base connection {base_id}.",
            )
        return base

    def _check_columns(self, session: Session, scope: Scope, base_id: str, params: dict[str, Any]) -> None:
        table = params.get("tableName")
        if not isinstance(table, str) or not table:
            raise invalid(
                "source.table_missing",
                "The mandatory field params.tableName is not provided.",
                field="params.tableName",
            )
        columns = params.get("columns", [])
        if not isinstance(columns, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) for c in columns
        ):
            raise invalid(
                "source.columns_malformed",
                "The field params.columns must be a list of objects with a name.",
                field="params.columns",
            )
        known = self._table_columns(session, scope, base_id, table)
        unknown = [c["name"] for c in columns if c["name"] not in known]
        if unknown:
            raise invalid(
                "source.column_unknown",
                f"The columns {', '.join(unknown)} were not found for table {table}.",
                field="params.columns",
            )

    def _table_columns(self, session: Session, scope: Scope, base_id: str, table: str) -> set[str]:
        try:
            ref = self.explorer.load(session, scope, base_id)
            schema = self.explorer.explore(ref, {"objectType": "table", "object": table})
        except NotFound:
            schema = {}
        names = {
            str(column.get("name"))
            for column in (schema.get("schema") or {}).get("columns") or []
            if isinstance(column, dict)
        }
        if not names:
            raise invalid(
                "source.column_unknown", f"No columns were found for table {table}.", field="params.tableName"
            )
        return names


__all__ = ["KIND", "CreateSourceConnection", "SourceConnectionDoc", "SourceConnections"]
