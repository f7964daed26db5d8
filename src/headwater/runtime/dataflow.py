"""Resolve a stored flow into everything one run needs: source table and columns, the base connection's
auth (secrets opened), target dataset, mapping reference, delta column and schedule.

Reads the store's generic resources in Adobe's documented shapes (contract §5.3-5.6, §7.8); the flow
routes store them as kinds ``flows``, ``sourceConnections``, ``targetConnections``, ``connections``.
A missing piece is a ``TerminalError`` with a readable message: retrying cannot conjure it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from headwater.core.errors import HeadwaterError, NotFoundError, TerminalError
from headwater.runtime.options import RunOptions, read_run_options
from headwater.runtime.schedule import Schedule, parse_schedule
from headwater.store import resources
from headwater.store.crypto import SecretBox
from headwater.store.models import Resource
from headwater.store.resources import Scope

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
    mapping_version: str | None = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    #: delete reconciliation, formula refresh (the flow's ``options``) and history mode (the dataset's
    #: ``historyMode``): see ``runtime/options.py``
    options: RunOptions = field(default_factory=RunOptions)


def _load(session: Session, scope: Scope, kind: str, resource_id: Any, what: str) -> Resource:
    if not isinstance(resource_id, str) or not resource_id:
        raise DataflowIncompleteError(f"The {what} id is missing.")
    try:
        return resources.get(session, scope, kind, resource_id)
    except HeadwaterError as exc:
        raise DataflowIncompleteError(f"The {what} {resource_id} does not exist (any more).") from exc


def _single(document: dict[str, Any], key: str, what: str) -> str:
    ids = document.get(key) or []
    if not isinstance(ids, list) or len(ids) != 1:
        raise DataflowIncompleteError(f"The flow must reference exactly one {what}.")
    return str(ids[0])


def _transformation(document: dict[str, Any], name: str) -> dict[str, Any]:
    for item in document.get("transformations") or []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
            return dict(item.get("params") or {})
    return {}


def _run_options(session: Session, scope: Scope, flow: dict[str, Any], dataset_id: str) -> RunOptions:
    """The run options: the flow document's ``options`` and the target dataset's ``historyMode``
    (a dataset the catalog does not hold, e.g. one created by id only, has the defaults)."""
    try:
        dataset: dict[str, Any] | None = dict(resources.get(session, scope, "dataSets", dataset_id).document)
    except NotFoundError:
        dataset = None
    try:
        return read_run_options(flow, dataset)
    except TerminalError as exc:
        raise DataflowIncompleteError(f"Flow {flow.get('id', '')}: {exc.message}") from exc


def resolve_dataflow(
    session: Session, box: SecretBox, *, flow_id: str, org_id: str, sandbox_name: str
) -> Dataflow:
    """The flow ``flow_id`` of (org, sandbox), with everything a run needs; secrets opened."""
    scope = Scope(org_id, sandbox_name, RUNTIME_CLIENT)
    flow = dict(_load(session, scope, "flows", flow_id, "flow").document)
    source = dict(
        _load(
            session,
            scope,
            "sourceConnections",
            _single(flow, "sourceConnectionIds", "source connection"),
            "source connection",
        ).document
    )
    target = dict(
        _load(
            session,
            scope,
            "targetConnections",
            _single(flow, "targetConnectionIds", "target connection"),
            "target connection",
        ).document
    )
    base_row = _load(session, scope, "connections", source.get("baseConnectionId"), "base connection")
    base = dict(base_row.document)
    auth = dict(base.get("auth") or {})
    auth["params"] = {**dict(auth.get("params") or {}), **box.open(base_row.secrets)}
    source_params = dict(source.get("params") or {})
    table = source_params.get("tableName")
    if not isinstance(table, str) or not table:
        raise DataflowIncompleteError(f"The source connection of flow {flow_id} names no tableName.")
    dataset_id = dict(target.get("params") or {}).get("dataSetId")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise DataflowIncompleteError(f"The target connection of flow {flow_id} names no dataSetId.")
    delta = _transformation(flow, "Copy").get("deltaColumn")
    mapping = _transformation(flow, "Mapping")
    return Dataflow(
        flow_id=flow_id,
        org_id=org_id,
        sandbox_name=sandbox_name,
        connection_spec_id=str(dict(base.get("connectionSpec") or {}).get("id", "")),
        auth=auth,
        table=table,
        columns=[dict(column) for column in source_params.get("columns") or [] if isinstance(column, dict)],
        dataset_id=dataset_id,
        schedule=parse_schedule(flow.get("scheduleParams")),
        delta_column=str(delta["name"]) if isinstance(delta, dict) and delta.get("name") else None,
        mapping_id=str(mapping["mappingId"]) if mapping.get("mappingId") else None,
        mapping_version=str(mapping.get("mappingVersion", "0")) if mapping.get("mappingId") else None,
        connection_params=dict(base.get("params") or {}),
        options=_run_options(session, scope, flow, dataset_id),
    )


def dataset_path(lake_root: str, dataflow: Dataflow) -> str:
    """Where the dataset's Delta table lives: ``<lake>/<org>/<sandbox>/<datasetId>`` (DESIGN.md)."""
    return "/".join([lake_root.rstrip("/"), dataflow.org_id, dataflow.sandbox_name, dataflow.dataset_id])


__all__ = ["Dataflow", "DataflowIncompleteError", "dataset_path", "resolve_dataflow"]
