"""Resolve a stored flow into everything one run needs: source table and columns, the base connection's
auth (secrets opened), target dataset, the pinned mapping version, delta column and schedule.

Reads the typed tables (flows -> source connection -> base connection, target connection). A missing
piece is a ``TerminalError`` with a readable message: retrying cannot conjure it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from headwater.core.errors import NotFound, TerminalError
from headwater.core.scope import Scope
from headwater.flows.options import RunOptions, RunOptionsError, read_run_options
from headwater.flows.schedule import Schedule, parse_schedule
from headwater.store import repository
from headwater.store.crypto import SecretBox
from headwater.store.models import Connection, Dataset, Flow, Scoped, SourceConnection, TargetConnection

RUNTIME_CLIENT = "headwater-runtime"


class DataflowIncompleteError(TerminalError):
    """The flow, or something it points at, is missing or malformed."""


@dataclass(frozen=True)
class Dataflow:
    flow_id: str
    org_id: str
    sandbox_name: str
    connection_spec_id: str
    auth: dict[str, Any] = field(repr=False)  # {"specName", "params"} with secrets opened: never log
    table: str
    columns: list[dict[str, Any]]
    dataset_id: str
    schedule: Schedule
    delta_column: str | None = None
    mapping_id: str | None = None
    mapping_version: int | None = None  # pinned when the flow was written: the version runs execute
    connection_params: dict[str, Any] = field(default_factory=dict)
    #: delete reconciliation, formula refresh (the flow's ``options``) and history mode (the dataset's
    #: ``historyMode``): see ``flows/options.py``
    options: RunOptions = field(default_factory=RunOptions)


def _load(session: Session, model: type[Scoped], scope: Scope, resource_id: str | None, what: str) -> Any:
    if not resource_id:
        raise DataflowIncompleteError(f"The {what} id is missing.")
    try:
        return repository.read(session, model, scope, resource_id)
    except NotFound as exc:
        raise DataflowIncompleteError(f"The {what} {resource_id} does not exist (any more).") from exc


def _transformation(transformations: list[Any], name: str) -> dict[str, Any]:
    for item in transformations or []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
            return dict(item.get("params") or {})
    return {}


def _run_options(session: Session, scope: Scope, flow: Flow, dataset_id: str) -> RunOptions:
    """The run options: the flow's ``options`` and the target dataset's ``historyMode`` (a dataset the
    catalog does not hold has the defaults)."""
    try:
        dataset: dict[str, Any] | None = dict(repository.read(session, Dataset, scope, dataset_id).extra)
    except NotFound:
        dataset = None
    try:
        return read_run_options({"options": flow.options}, dataset)
    except RunOptionsError as exc:
        raise DataflowIncompleteError(f"Flow {flow.id}: {exc.message}") from exc


def resolve_dataflow(
    session: Session, box: SecretBox, *, flow_id: str, org_id: str, sandbox_name: str
) -> Dataflow:
    """The flow ``flow_id`` of (org, sandbox), with everything a run needs; secrets opened."""
    scope = Scope(org_id, sandbox_name, RUNTIME_CLIENT)
    flow: Flow = _load(session, Flow, scope, flow_id, "flow")
    source: SourceConnection = _load(
        session, SourceConnection, scope, flow.source_connection_id, "source connection"
    )
    target: TargetConnection = _load(
        session, TargetConnection, scope, flow.target_connection_id, "target connection"
    )
    base: Connection = _load(session, Connection, scope, source.base_connection_id, "base connection")
    auth = {"specName": base.auth_spec_name, "params": {**(base.auth_params or {}), **box.open(base.secrets)}}
    source_params = dict(source.params or {})
    table = source_params.get("tableName")
    if not isinstance(table, str) or not table:
        raise DataflowIncompleteError(f"The source connection of flow {flow_id} names no tableName.")
    if not target.dataset_id:
        raise DataflowIncompleteError(f"The target connection of flow {flow_id} names no dataSetId.")
    delta = _transformation(flow.transformations, "Copy").get("deltaColumn")
    return Dataflow(
        flow_id=flow_id,
        org_id=org_id,
        sandbox_name=sandbox_name,
        connection_spec_id=base.connection_spec_id,
        auth=auth,
        table=table,
        columns=[dict(column) for column in source_params.get("columns") or [] if isinstance(column, dict)],
        dataset_id=target.dataset_id,
        schedule=parse_schedule(flow.schedule_params),
        delta_column=str(delta["name"]) if isinstance(delta, dict) and delta.get("name") else None,
        mapping_id=flow.mapping_id,
        mapping_version=flow.mapping_version,
        options=_run_options(session, scope, flow, target.dataset_id),
    )


def dataset_path(lake_root: str, dataflow: Dataflow) -> str:
    """Where the dataset's Delta table lives: ``<lake>/<org>/<sandbox>/<datasetId>`` (DESIGN.md)."""
    return "/".join([lake_root.rstrip("/"), dataflow.org_id, dataflow.sandbox_name, dataflow.dataset_id])


__all__ = ["Dataflow", "DataflowIncompleteError", "dataset_path", "resolve_dataflow"]
