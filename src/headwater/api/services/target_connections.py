"""Target connections (``/targetConnections``, contract §5.4): the Data Lake dataset a flow writes to.

Only the Data Lake spec is a target (1307-400 otherwise); ``params.dataSetId`` is required (1324-400)
and must name a Catalog dataset of the same org and sandbox (1325-400).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.api.services import datasets, usage
from headwater.api.services.collection import Collection
from headwater.api.services.source_connections import SpecRef
from headwater.core.errors import FlowError
from headwater.specs import DATA_LAKE_SPEC_ID
from headwater.store.models import Resource
from headwater.store.resources import Scope

KIND = "targetConnections"


class CreateTargetConnection(BaseModel):
    """``POST /targetConnections`` (OAS ``CreateTargetConnectionRequest``; LEGACY's baseConnectionId allowed)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str | None = None
    baseConnectionId: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    connectionSpec: SpecRef


class TargetConnections(Collection):
    kind = KIND
    patchable = frozenset({"name", "description", "params", "data"})
    frozen = frozenset({"connectionSpec"})

    def validate(self, session: Session, scope: Scope, document: dict[str, Any]) -> dict[str, Any]:
        spec_id = (document.get("connectionSpec") or {}).get("id")
        if spec_id != DATA_LAKE_SPEC_ID:
            raise FlowError(
                "1307-400",
                "Bad Request",
                f"The connection spec {spec_id} is not a supported target. "
                f"Use the Data Lake connection spec {DATA_LAKE_SPEC_ID}.",
            )
        params = document.get("params")
        dataset_id = params.get("dataSetId") if isinstance(params, dict) else None
        if not isinstance(dataset_id, str) or not dataset_id:
            raise FlowError(
                "1324-400",
                "Bad Request",
                "The dataSetId is missing in params. Please provide a valid dataSetId and try again.",
            )
        if not datasets.exists(session, scope, dataset_id):
            raise FlowError(
                "1325-400",
                "Bad Request",
                f"The dataset {dataset_id} does not exist in this sandbox. Please provide a valid dataSetId and try again.",
            )
        return document

    def check_unused(self, session: Session, scope: Scope, resource_id: str) -> None:
        usage.check_connection_unused(session, scope, KIND, resource_id)

    def decorate(self, session: Session, scope: Scope, row: Resource, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("data", {}).setdefault("format", "parquet_xdm")
        return body
