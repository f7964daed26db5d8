"""Dataflows (``/flows``, contract §5.6, §7.8): one source connection -> one Data Lake target.

Validation on create: the flow spec (its source/target spec lists), exactly one source and one target
connection of this sandbox (1320/1321), ``scheduleParams`` (1317, 1340, 1359-1364, 1397), the Copy
transformation against the schedule (1367-1369), the Mapping transformation against the source columns
(1370, 1412, 1419). ``state`` may not be sent (1410). The Mapping transformation's version is pinned
when the flow is written (the version it names, else the set's latest): runs execute exactly that one.
Every write keeps the flow's scheduling state (``runs.register_flow`` & co.) in the same transaction,
so the scheduler never sees a flow the store does not have.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.core.errors import Invalid, NotFound
from headwater.core.scope import Scope
from headwater.core.timeutil import now_ms
from headwater.dataprep import mapping_sets
from headwater.domain.collection import Collection, Db
from headwater.domain.fields import metadata_fields
from headwater.domain.wire import ResourceDoc, SpecRef, base_fields
from headwater.flows import runs
from headwater.flows.options import RunOptionsError, read_run_options
from headwater.flows.schedule import (
    Schedule,
    next_wakeup,
    parse_schedule,
    validate_connection_ids,
    validate_copy_transformation,
    validate_schedule_update,
)
from headwater.specs import SpecRegistry
from headwater.store import repository
from headwater.store.listing import Column, Constant, FieldMap, Json
from headwater.store.models import Connection, Flow, SourceConnection, TargetConnection

KIND = "flows"
TRANSFORMATIONS = ("copy", "mapping")


def _last_run(column: str) -> sa.ColumnElement[Any]:
    return runs.last_run_column(Flow.id, column)


def _of_source(column: Any) -> sa.ColumnElement[Any]:
    return sa.select(column).where(SourceConnection.id == Flow.source_connection_id).scalar_subquery()


def _of_target(column: Any) -> sa.ColumnElement[Any]:
    return sa.select(column).where(TargetConnection.id == Flow.target_connection_id).scalar_subquery()


FIELDS = FieldMap(
    {
        **metadata_fields(Flow),
        "flowSpec.id": Column(Flow.flow_spec_id),
        "flowSpec.version": Column(Flow.flow_spec_version),
        "sourceConnectionIds": Column(Flow.source_connection_id, nullable=True, array=True),
        "targetConnectionIds": Column(Flow.target_connection_id, nullable=True, array=True),
        "transformations": Json(Flow.transformations),
        "scheduleParams": Json(Flow.schedule_params),
        "options": Json(Flow.options),
        "labels": Json(Flow.labels),
        "recordTypes": Json(Flow.record_types),
        "lastOperation": Json(Flow.last_operation),
        "inheritedAttributes.properties.isSourceFlow": Constant(True),
        "inheritedAttributes.sourceConnections.id": Column(Flow.source_connection_id, nullable=True),
        "inheritedAttributes.sourceConnections.connectionSpec.id": Column(
            _of_source(SourceConnection.connection_spec_id), nullable=True
        ),
        "inheritedAttributes.sourceConnections.baseConnection.id": Column(
            _of_source(SourceConnection.base_connection_id), nullable=True
        ),
        "inheritedAttributes.sourceConnections.baseConnection.connectionSpec.id": Column(
            _of_source(SourceConnection.connection_spec_id), nullable=True
        ),
        "inheritedAttributes.targetConnections.id": Column(Flow.target_connection_id, nullable=True),
        "inheritedAttributes.targetConnections.connectionSpec.id": Column(
            _of_target(TargetConnection.connection_spec_id), nullable=True
        ),
        "lastRunDetails.id": Column(_last_run("id"), nullable=True),
        "lastRunDetails.state": Column(_last_run("status"), nullable=True),
        "lastRunDetails.startedAtUTC": Column(_last_run("started_at"), int, nullable=True),
        "lastRunDetails.completedAtUTC": Column(_last_run("completed_at"), int, nullable=True),
    },
    id_column=Flow.id,
    default_order="createdAt",
)


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


class BaseRef(BaseModel):
    id: str
    connectionSpec: SpecRef | None = None


class InheritedSource(BaseModel):
    id: str
    connectionSpec: SpecRef
    baseConnection: BaseRef


class InheritedTarget(BaseModel):
    id: str
    connectionSpec: SpecRef


class FlowProperties(BaseModel):
    isSourceFlow: bool = True


class FlowInherited(BaseModel):
    properties: FlowProperties
    sourceConnections: list[InheritedSource]
    targetConnections: list[InheritedTarget]


class LastRunDetails(BaseModel):
    id: str
    state: str
    startedAtUTC: int | None = None
    completedAtUTC: int | None = None


class FlowDoc(ResourceDoc):
    name: str
    description: str | None = None
    flowSpec: SpecRef
    sourceConnectionIds: list[str]
    targetConnectionIds: list[str]
    transformations: list[Any]
    scheduleParams: dict[str, Any]
    options: dict[str, Any] | None = None
    labels: list[Any] | None = None
    recordTypes: list[Any] | None = None
    lastOperation: dict[str, Any] | None = None
    inheritedAttributes: FlowInherited
    runs: str
    lastRunDetails: LastRunDetails | None = None


@dataclass(frozen=True)
class Related:
    """What a page of flow documents needs from other tables, loaded once per page."""

    sources: dict[str, Any]
    bases: dict[str, Any]
    targets: dict[str, Any]
    last_runs: dict[str, dict[str, Any]]


def invalid(reason: str, message: str) -> Invalid:
    return Invalid(reason, message)


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


def _spec(row_spec_id: str, version: str) -> SpecRef:
    return SpecRef(id=row_spec_id, version=version)


class Flows(Collection[Flow]):
    model = Flow
    fields = FIELDS
    patchable = frozenset({"name", "description", "scheduleParams", "transformations", "labels", "options"})
    frozen = frozenset({"flowSpec", "sourceConnectionIds", "targetConnectionIds", "state"})

    def __init__(self, specs: SpecRegistry) -> None:
        self.specs = specs

    # --- rows <-> bodies --------------------------------------------------------------------------

    def body(self, row: Flow) -> dict[str, Any]:
        body: dict[str, Any] = {"name": row.name}
        if row.description is not None:
            body["description"] = row.description
        body |= {
            "flowSpec": {"id": row.flow_spec_id, "version": row.flow_spec_version},
            "sourceConnectionIds": [row.source_connection_id] if row.source_connection_id else [],
            "targetConnectionIds": [row.target_connection_id] if row.target_connection_id else [],
            "transformations": list(row.transformations),
            "scheduleParams": dict(row.schedule_params),
        }
        for key, value in (
            ("options", row.options),
            ("labels", row.labels),
            ("recordTypes", row.record_types),
        ):
            if value is not None:
                body[key] = value
        return body

    def assign(self, row: Flow, body: dict[str, Any]) -> None:
        spec = body.get("flowSpec") or {}
        row.name = body["name"]
        row.description = body.get("description")
        row.flow_spec_id = str(spec.get("id", ""))
        row.flow_spec_version = str(spec.get("version") or "1.0")
        row.source_connection_id = (body.get("sourceConnectionIds") or [None])[0]
        row.target_connection_id = (body.get("targetConnectionIds") or [None])[0]
        row.transformations = list(body.get("transformations") or [])
        row.schedule_params = dict(body.get("scheduleParams") or {})
        row.options = body.get("options")
        row.labels = body.get("labels")
        row.record_types = body.get("recordTypes")
        row.last_operation = body.get("lastOperation")
        mapping = body.get("_mapping")  # set by _validate: (mappingId, pinned version) or None
        row.mapping_id, row.mapping_version = mapping if mapping else (None, None)

    def related(self, db: Db, scope: Scope, rows: builtins.list[Flow]) -> Related:
        sources = _by_id(db, SourceConnection, scope, {r.source_connection_id for r in rows})
        bases = _by_id(db, Connection, scope, {s.base_connection_id for s in sources.values()})
        targets = _by_id(db, TargetConnection, scope, {r.target_connection_id for r in rows})
        connection = db if isinstance(db, sa.Connection) else db.connection()
        last_runs = runs.last_run_details_many(connection, [r.id for r in rows])
        return Related(sources=sources, bases=bases, targets=targets, last_runs=last_runs)

    def document(self, row: Flow, related: Related) -> FlowDoc:
        inherited_sources, inherited_targets = [], []
        source = related.sources.get(row.source_connection_id or "")
        base = related.bases.get(source.base_connection_id or "") if source is not None else None
        if source is not None and base is not None:
            inherited_sources.append(
                InheritedSource(
                    id=source.id,
                    connectionSpec=_spec(source.connection_spec_id, source.connection_spec_version),
                    baseConnection=BaseRef(
                        id=base.id,
                        connectionSpec=_spec(base.connection_spec_id, base.connection_spec_version),
                    ),
                )
            )
        target = related.targets.get(row.target_connection_id or "")
        if target is not None:
            inherited_targets.append(
                InheritedTarget(
                    id=target.id,
                    connectionSpec=_spec(target.connection_spec_id, target.connection_spec_version),
                )
            )
        details = related.last_runs.get(row.id)
        body = self.body(row)
        return FlowDoc(
            **base_fields(row),
            **body,
            lastOperation=row.last_operation,
            inheritedAttributes=FlowInherited(
                properties=FlowProperties(),
                sourceConnections=inherited_sources,
                targetConnections=inherited_targets,
            ),
            runs=f"/runs?property=flowId=={row.id}",
            lastRunDetails=LastRunDetails(**details) if details else None,
        )

    # --- writes ------------------------------------------------------------------------------------

    def create(self, session: Session, scope: Scope, body: dict[str, Any]) -> Flow:
        if body.pop("state", None) is not None:
            raise invalid("flow.state_not_allowed", "`State` is not allowed in the create flow request.")
        schedule = parse_schedule(body.get("scheduleParams"), now=time.time())
        stored = {**self._validate(session, scope, body, schedule), "lastOperation": _operation("create")}
        row = repository.new(Flow, scope)
        self.assign(row, stored)
        repository.add(session, row)
        runs.register_flow(
            session.connection(),
            flow_id=row.id,
            org_id=scope.org_id,
            sandbox_name=scope.sandbox_name,
            schedule_params=row.schedule_params,
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
        if not isinstance(new.get("name"), str) or not new["name"]:
            raise Invalid("flow.name_missing", "The mandatory field name is not provided.", field="name")
        return {**self._validate(session, scope, new, schedule), "lastOperation": _operation("update", ops)}

    def patch(
        self, session: Session, scope: Scope, resource_id: str, ops_body: Any, if_match: str | None
    ) -> Flow:
        row = super().patch(session, scope, resource_id, ops_body, if_match)
        runs.register_flow(
            session.connection(),
            flow_id=row.id,
            org_id=scope.org_id,
            sandbox_name=scope.sandbox_name,
            schedule_params=row.schedule_params,
            enabled=row.state == "enabled",
        )
        return row

    def action(self, session: Session, scope: Scope, flow_id: str, op: str | None) -> Flow:
        name = (op or "").strip().lower()
        if name not in ("enable", "disable"):
            raise invalid(
                "action.unsupported",
                f"Unsupported sub action '{op}' received. Please use one of the supported sub action types and try again.",
            )
        row = repository.get(session, Flow, scope, flow_id, for_update=True)
        row.last_operation = _operation(name)
        repository.touch(row, scope, state="enabled" if name == "enable" else "disabled")
        session.flush()
        runs.set_flow_enabled(session.connection(), flow_id, row.state == "enabled")
        return row

    def delete(self, session: Session, scope: Scope, resource_id: str) -> None:
        row = repository.get(session, Flow, scope, resource_id, for_update=True)
        runs.forget_flow(session.connection(), resource_id)
        repository.delete(session, row)

    # --- reads -------------------------------------------------------------------------------------

    @staticmethod
    def check_new_schedule(schedule_params: Any, transformations: builtins.list[Any]) -> None:
        """The schedule checks ``create`` makes (1317, 1340, 1359-1364, 1397; the Copy transformation's
        delta column 1367-1369), on their own: for a form that checks before creating anything."""
        validate_copy_transformation(transformations, parse_schedule(schedule_params, now=time.time()))

    def next_run_at(self, session: Session, flow_id: str) -> int | None:
        """Epoch seconds at which the scheduler creates the flow's next run (None: disabled, or a
        ``once`` flow whose run was created)."""
        state = runs.flow_state(session.connection(), flow_id)
        if state is None or not state["enabled"]:
            return None
        return next_wakeup(parse_schedule(state["schedule_params"]), state["next_slot"])

    # --- validation --------------------------------------------------------------------------------

    def _validate(
        self, session: Session, scope: Scope, body: dict[str, Any], schedule: Schedule
    ) -> dict[str, Any]:
        spec = self.specs.flow_specs.by_id.get(str((body.get("flowSpec") or {}).get("id", "")))
        if spec is None:
            raise invalid(
                "spec.unknown",
                "The spec ID provided is invalid. Please provide a valid spec ID and try again.",
            )
        source_id = validate_connection_ids("sourceConnectionIds", body.get("sourceConnectionIds"))
        target_id = validate_connection_ids("targetConnectionIds", body.get("targetConnectionIds"))
        source = self._connection(
            session, scope, SourceConnection, source_id, spec["sourceConnectionSpecIds"]
        )
        self._connection(session, scope, TargetConnection, target_id, spec["targetConnectionSpecIds"])
        transformations = body.get("transformations") or []
        for item in transformations:
            if not isinstance(item, dict) or str(item.get("name", "")).lower() not in TRANSFORMATIONS:
                name = item.get("name") if isinstance(item, dict) else item
                raise Invalid(
                    "flow.transformation_unsupported",
                    f"The transformation {name} is not supported by flow spec {spec['name']}: use Copy and Mapping.",
                    field="transformations",
                )
        validate_copy_transformation(transformations, schedule)
        try:
            read_run_options({"options": body.get("options")}, None)
        except RunOptionsError as exc:
            raise Invalid("flow.options_invalid", exc.message, field="options") from None
        mapping = self._check_mapping(session, scope, transformations, dict(source.params or {}))
        return {**body, "_mapping": mapping}

    def _connection(
        self,
        session: Session,
        scope: Scope,
        model: type[Any],
        connection_id: str,
        allowed_specs: builtins.list[str],
    ) -> Any:
        try:
            row = repository.read(session, model, scope, connection_id)
        except NotFound:
            raise invalid(
                "reference.missing",
                f"The {model.kind} resource {connection_id} does not exist in this sandbox.",
            ) from None
        if row.connection_spec_id not in allowed_specs:
            raise invalid(
                "spec.unknown",
                f"The connection spec {row.connection_spec_id} of {model.kind} {connection_id} is not allowed by the flow spec.",
            )
        return row

    def _check_mapping(
        self,
        session: Session,
        scope: Scope,
        transformations: builtins.list[Any],
        source_params: dict[str, Any],
    ) -> tuple[str, int] | None:
        """The Mapping transformation's set and the version runs will execute (checked against the
        source's columns), or None without one."""
        for item in transformations:
            if str(item.get("name", "")).lower() != "mapping":
                continue
            params = item.get("params") or {}
            if not params.get("mappingId"):
                raise Invalid(
                    "mapping.unknown",
                    "The mapping transformation needs params.mappingId. Please provide a valid mapping and try again.",
                )
            mapping_id = str(params["mappingId"])
            version = mapping_sets.resolve_version(session, scope, mapping_id, params.get("mappingVersion"))
            mapping_sets.check_against_columns(
                session, scope, mapping_id, version, source_params.get("columns") or []
            )
            return mapping_id, version
        return None


def _by_id(db: Db, model: type[Any], scope: Scope, ids: set[str | None]) -> dict[str, Any]:
    """Rows by primary key, kept only when in ``scope``. The scope is checked here, not in SQL: with the
    scope in the WHERE clause a planner without statistics may prefer the scope index and scan it."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    query = sa.select(*model.__table__.columns).where(model.id.in_(wanted))
    return {
        row.id: row
        for row in db.execute(query)
        if row.org_id == scope.org_id and row.sandbox_name == scope.sandbox_name
    }


__all__ = ["FIELDS", "KIND", "CreateFlow", "FlowDoc", "Flows"]
