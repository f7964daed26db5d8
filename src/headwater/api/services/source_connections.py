"""Source connections (``/sourceConnections``, contract §5.3, §7.5): which table and columns a flow reads.

The table and its columns are checked against the source itself, through the base connection's
explore (``objectType=table``): a table with no columns is 1330-400, a column the table does not have
is 1330-400 naming it. Explore happens on create and on every patch of ``params``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.api.services import usage
from headwater.api.services.collection import Collection
from headwater.api.services.explore import Explorer
from headwater.core.errors import FlowError, ValidationFailed
from headwater.specs import DATA_LAKE_SPEC_ID, SpecRegistry
from headwater.store import resources
from headwater.store.models import Resource
from headwater.store.resources import Scope

KIND = "sourceConnections"
TABULAR = "tabular"


class SpecRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    version: str = "1.0"


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


def invalid(code: str, message: str, **report: Any) -> FlowError:
    return FlowError(code, "Invalid request", message, **report)


class SourceConnections(Collection):
    kind = KIND
    patchable = frozenset({"name", "description", "params", "data"})
    frozen = frozenset({"connectionSpec", "baseConnectionId"})

    def __init__(self, specs: SpecRegistry, explorer: Explorer) -> None:
        self.specs = specs
        self.explorer = explorer

    def validate(self, session: Session, scope: Scope, document: dict[str, Any]) -> dict[str, Any]:
        spec_id = str((document.get("connectionSpec") or {}).get("id", ""))
        if spec_id not in self.specs.connection_specs.by_id or spec_id == DATA_LAKE_SPEC_ID:
            raise invalid(
                "1413-400", "The spec ID provided is invalid. Please provide a valid spec ID and try again."
            )
        base = self._base_connection(session, scope, document.get("baseConnectionId"), spec_id)
        data = document.get("data")
        if not isinstance(data, dict) or data.get("format") != TABULAR:
            found = data.get("format") if isinstance(data, dict) else None
            raise ValidationFailed(
                f"The data format {found} is not supported. For table-based sources use 'tabular'.",
                code="1327-400",
                title="Bad request",
                field="data.format",
            )
        params = document.get("params")
        if not isinstance(params, dict):
            raise ValidationFailed("The field params must be an object.", field="params")
        self._check_columns(session, scope, base.id, params)
        return document

    def check_unused(self, session: Session, scope: Scope, resource_id: str) -> None:
        usage.check_connection_unused(session, scope, KIND, resource_id)

    def decorate(self, session: Session, scope: Scope, row: Resource, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("data", {}).setdefault("schema", None)
        base_id = body.get("baseConnectionId")
        if base_id:
            body["inheritedAttributes"] = {
                "baseConnection": {"id": base_id, "connectionSpec": body.get("connectionSpec")}
            }
        return body

    # --- internals ---------------------------------------------------------------------------------

    def _base_connection(self, session: Session, scope: Scope, base_id: Any, spec_id: str) -> Resource:
        if not isinstance(base_id, str) or not base_id:
            raise ValidationFailed(
                "The mandatory field baseConnectionId is not provided.",
                code="1304-400",
                title="Invalid request",
                field="baseConnectionId",
            )
        try:
            base = resources.read(session, scope, "connections", base_id)
        except FlowError:
            raise invalid(
                "1411-400",
                f"The base connection {base_id} does not exist in this sandbox. "
                "Please provide a valid baseConnectionId and try again.",
            ) from None
        base_spec = str((base.document.get("connectionSpec") or {}).get("id", ""))
        if base_spec != spec_id:
            raise invalid(
                "1413-400",
                f"The connection spec {spec_id} does not match the spec {base_spec} of base connection {base_id}.",
            )
        return base

    def _check_columns(self, session: Session, scope: Scope, base_id: str, params: dict[str, Any]) -> None:
        table = params.get("tableName")
        if not isinstance(table, str) or not table:
            raise ValidationFailed(
                "The mandatory field params.tableName is not provided.",
                code="1304-400",
                title="Invalid request",
                field="params.tableName",
            )
        columns = params.get("columns", [])
        if not isinstance(columns, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) for c in columns
        ):
            raise ValidationFailed(
                "The field params.columns must be a list of objects with a name.",
                code="1391-400",
                title="Bad request",
                field="params.columns",
            )
        known = self._table_columns(session, scope, base_id, table)
        unknown = [c["name"] for c in columns if c["name"] not in known]
        if unknown:
            raise invalid(
                "1330-400",
                f"The columns {', '.join(unknown)} were not found for table {table}.",
                field="params.columns",
            )

    def _table_columns(self, session: Session, scope: Scope, base_id: str, table: str) -> set[str]:
        try:
            ref = self.explorer.load(session, scope, base_id)
            schema = self.explorer.explore(ref, {"objectType": "table", "object": table})
        except FlowError as exc:
            if exc.status != 404:
                raise
            schema = {}
        names = {
            str(column.get("name"))
            for column in (schema.get("schema") or {}).get("columns") or []
            if isinstance(column, dict)
        }
        if not names:
            raise invalid("1330-400", f"No columns were found for table {table}.", field="params.tableName")
        return names
