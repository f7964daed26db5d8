"""Dataflows (``/flows``, contract §5.6, §7.8): one source connection -> one Data Lake target.

Validation on create: flow spec CRMToAEP (its source/target spec lists), exactly one source and one
target connection of this sandbox (1320/1321), ``scheduleParams`` (the runtime's validator: 1317,
1340, 1359-1364, 1397), the Copy transformation against the schedule (1367-1369), the Mapping
transformation against the source columns (1370, 1412, 1419). ``state`` may not be sent (1410).
Every write keeps the runtime's scheduling state in step (``runtime.runs.register_flow`` & co.) in the
same transaction, so the scheduler never sees a flow the store does not have.
"""

from __future__ import annotations

import builtins
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.api.services import mapping_sets
from headwater.api.services.collection import Collection
from headwater.api.services.source_connections import SpecRef
from headwater.core.errors import FlowError, ValidationFailed
from headwater.core.timeutil import now_ms
from headwater.runtime import runs as runtime
from headwater.runtime.schedule import (
    Schedule,
    next_wakeup,
    parse_schedule,
    validate_connection_ids,
    validate_copy_transformation,
    validate_schedule_update,
)
from headwater.specs import SpecRegistry
from headwater.store import resources
from headwater.store.models import Resource
from headwater.store.resources import Scope

KIND = "flows"
TRANSFORMATIONS = ("copy", "mapping")


class CreateFlow(BaseModel):
    """``POST /flows`` (OAS ``CreateFlowRequest``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str | None = None
    flowSpec: SpecRef
    sourceConnectionIds: list[Any] | None = None
    targetConnectionIds: list[Any] | None = None
    transformations: list[dict[str, Any]] = Field(default_factory=list)
    scheduleParams: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    labels: list[Any] | None = None
    recordTypes: list[Any] | None = None
    state: Any = None  # refused with Adobe's own error (1410) rather than as an unknown field


def invalid(code: str, message: str) -> FlowError:
    return FlowError(code, "Invalid request", message)


def _operation(name: str, ops: builtins.list[dict[str, Any]] | None = None) -> dict[str, Any]:
    now = now_ms()
    body: dict[str, Any] = {
        "started": now,
        "updated": now,
        "percentCompleted": 100.0,
        "status": {"value": "completed", "errors": []},
        "operation": name,
    }
    if ops is not None:
        body["ops"] = ops
    return body


class Flows(Collection):
    kind = KIND
    patchable = frozenset({"name", "description", "scheduleParams", "transformations", "labels", "options"})
    frozen = frozenset({"flowSpec", "sourceConnectionIds", "targetConnectionIds", "state"})

    def __init__(self, specs: SpecRegistry) -> None:
        self.specs = specs

    # --- writes ------------------------------------------------------------------------------------

    def create(self, session: Session, scope: Scope, document: dict[str, Any]) -> Resource:
        if document.pop("state", None) is not None:
            raise invalid("1410-400", "`State` is not allowed in the create flow request.")
        schedule = parse_schedule(document.get("scheduleParams"), now=time.time())
        stored = {**self._validate(session, scope, document, schedule), "lastOperation": _operation("create")}
        row = resources.create(session, scope, KIND, stored)
        runtime.register_flow(
            session.connection(),
            flow_id=row.id,
            org_id=scope.org_id,
            sandbox_name=scope.sandbox_name,
            schedule_params=stored["scheduleParams"],
            enabled=True,
        )
        return row

    def validate_update(
        self,
        session: Session,
        scope: Scope,
        old: dict[str, Any],
        new: dict[str, Any],
        ops: builtins.list[dict[str, Any]],
    ) -> dict[str, Any]:
        if new.get("scheduleParams") != old.get("scheduleParams"):
            schedule = validate_schedule_update(
                old["scheduleParams"], new.get("scheduleParams"), now=time.time()
            )
        else:
            schedule = parse_schedule(new.get("scheduleParams"))
        return {**self._validate(session, scope, new, schedule), "lastOperation": _operation("update", ops)}

    def patch(
        self, session: Session, scope: Scope, resource_id: str, body: Any, if_match: str | None
    ) -> Resource:
        row = super().patch(session, scope, resource_id, body, if_match)
        runtime.register_flow(
            session.connection(),
            flow_id=row.id,
            org_id=scope.org_id,
            sandbox_name=scope.sandbox_name,
            schedule_params=row.document["scheduleParams"],
            enabled=row.state == "enabled",
        )
        return row

    def action(self, session: Session, scope: Scope, flow_id: str, op: str | None) -> Resource:
        name = (op or "").strip().lower()
        if name not in ("enable", "disable"):
            raise invalid(
                "1435-400",
                f"Unsupported sub action '{op}' received. Please use one of the supported sub action types and try again.",
            )
        row = resources.get(session, scope, KIND, flow_id, for_update=True)
        document = {**row.document, "lastOperation": _operation(name)}
        state = "enabled" if name == "enable" else "disabled"
        row = resources.update(session, scope, row, document, secrets=None, state=state)
        runtime.set_flow_enabled(session.connection(), flow_id, state == "enabled")
        return row

    def delete(self, session: Session, scope: Scope, resource_id: str) -> None:
        super().delete(session, scope, resource_id)
        runtime.forget_flow(session.connection(), resource_id)

    # --- reads -------------------------------------------------------------------------------------

    def decorate(self, session: Session, scope: Scope, row: Resource, body: dict[str, Any]) -> dict[str, Any]:
        sources = [self._inherited_source(session, scope, i) for i in body.get("sourceConnectionIds") or []]
        targets = [self._inherited_target(session, scope, i) for i in body.get("targetConnectionIds") or []]
        body["inheritedAttributes"] = {
            "properties": {"isSourceFlow": True},
            "sourceConnections": [s for s in sources if s],
            "targetConnections": [t for t in targets if t],
        }
        body["runs"] = f"/runs?property=flowId=={row.id}"
        details = runtime.last_run_details(session.connection(), row.id)
        if details is not None:
            body["lastRunDetails"] = details
        return body

    @staticmethod
    def check_new_schedule(schedule_params: Any, transformations: builtins.list[Any]) -> None:
        """The schedule checks ``create`` makes (1317, 1340, 1359-1364, 1397; the Copy transformation's
        delta column 1367-1369), on their own: for a form that checks before creating anything."""
        validate_copy_transformation(transformations, parse_schedule(schedule_params, now=time.time()))

    def next_run_at(self, session: Session, flow_id: str) -> int | None:
        """Epoch seconds at which the scheduler creates the flow's next run (None: disabled, or a
        ``once`` flow whose run was created)."""
        state = runtime.flow_state(session.connection(), flow_id)
        if state is None or not state["enabled"]:
            return None
        return next_wakeup(parse_schedule(state["schedule_params"]), state["next_slot"])

    def _inherited_source(self, session: Session, scope: Scope, source_id: str) -> dict[str, Any] | None:
        try:
            source = resources.read(session, scope, "sourceConnections", source_id)
            base = resources.read(session, scope, "connections", source.document.get("baseConnectionId", ""))
        except FlowError:
            return None
        return {
            "id": source_id,
            "connectionSpec": source.document.get("connectionSpec"),
            "baseConnection": {"id": base.id, "connectionSpec": base.document.get("connectionSpec")},
        }

    def _inherited_target(self, session: Session, scope: Scope, target_id: str) -> dict[str, Any] | None:
        try:
            target = resources.read(session, scope, "targetConnections", target_id)
        except FlowError:
            return None
        return {"id": target_id, "connectionSpec": target.document.get("connectionSpec")}

    # --- validation --------------------------------------------------------------------------------

    def _validate(
        self, session: Session, scope: Scope, document: dict[str, Any], schedule: Schedule
    ) -> dict[str, Any]:
        spec = self.specs.flow_specs.by_id.get(str((document.get("flowSpec") or {}).get("id", "")))
        if spec is None:
            raise invalid(
                "1413-400", "The spec ID provided is invalid. Please provide a valid spec ID and try again."
            )
        source_id = validate_connection_ids("sourceConnectionIds", document.get("sourceConnectionIds"))
        target_id = validate_connection_ids("targetConnectionIds", document.get("targetConnectionIds"))
        source = self._connection(
            session, scope, "sourceConnections", source_id, spec["sourceConnectionSpecIds"]
        )
        self._connection(session, scope, "targetConnections", target_id, spec["targetConnectionSpecIds"])
        transformations = document.get("transformations") or []
        for item in transformations:
            if not isinstance(item, dict) or str(item.get("name", "")).lower() not in TRANSFORMATIONS:
                name = item.get("name") if isinstance(item, dict) else item
                raise ValidationFailed(
                    f"The transformation {name} is not supported by flow spec {spec['name']}: use Copy and Mapping.",
                    field="transformations",
                )
        validate_copy_transformation(transformations, schedule)
        self._check_mapping(session, scope, transformations, source.document.get("params") or {})
        return document

    def _connection(
        self, session: Session, scope: Scope, kind: str, connection_id: str, allowed_specs: builtins.list[str]
    ) -> Resource:
        try:
            row = resources.read(session, scope, kind, connection_id)
        except FlowError:
            raise invalid(
                "1411-400", f"The {kind} resource {connection_id} does not exist in this sandbox."
            ) from None
        spec_id = (row.document.get("connectionSpec") or {}).get("id")
        if spec_id not in allowed_specs:
            raise invalid(
                "1413-400",
                f"The connection spec {spec_id} of {kind} {connection_id} is not allowed by the flow spec.",
            )
        return row

    def _check_mapping(
        self,
        session: Session,
        scope: Scope,
        transformations: builtins.list[Any],
        source_params: dict[str, Any],
    ) -> None:
        for item in transformations:
            if str(item.get("name", "")).lower() != "mapping":
                continue
            params = item.get("params") or {}
            if not params.get("mappingId"):
                raise FlowError(
                    "1370-400",
                    "Bad Request",
                    "The mapping transformation needs params.mappingId. Please provide a valid mapping and try again.",
                )
            mapping_sets.check_against_columns(
                session,
                scope,
                params["mappingId"],
                params.get("mappingVersion"),
                source_params.get("columns") or [],
            )
