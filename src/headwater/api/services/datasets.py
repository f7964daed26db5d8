"""Catalog datasets (``/data/foundation/catalog/dataSets``): the targets that flows write into.

Catalog answers differ from Flow Service's: create gives ``["@/dataSets/{id}"]``, reads give objects
keyed by id with no envelope, lists page with ``limit``/``start`` and trim with ``properties``. Every
dataset carries ``classification`` and ``tags`` (aepp reads both without defaults) and the
``adobe/pqs/table`` tag (the query-service table name).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.api import patch
from headwater.core.errors import FlowError, ValidationFailed
from headwater.core.timeutil import datetime_to_ms
from headwater.lake import Lake
from headwater.lake.dataset import Column
from headwater.lake.nesting import split_path
from headwater.lake.query import register_views
from headwater.store import resources
from headwater.store.models import Resource
from headwater.store.resources import Scope

KIND = "dataSets"
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
PQS_TAG = "adobe/pqs/table"
_PATCHABLE = frozenset({"name", "description", "tags", "enableErrorDiagnostics", "fileDescription"})


class SchemaRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)
    contentType: str | None = None


class CreateDataSet(BaseModel):
    """Catalog's ``dataSetRequest``; fields Catalog knows but Headwater does not use are kept as given."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)
    description: str | None = None
    schemaRef: SchemaRef | None = None
    tags: dict[str, list[str]] = Field(default_factory=dict)
    fileDescription: dict[str, Any] | None = None
    enableErrorDiagnostics: bool | None = None


def table_name(name: str) -> str:
    """The query-service table name Catalog derives from a dataset name (snake case)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "dataset"


def location(dataset_id: str) -> list[str]:
    return [f"@/dataSets/{dataset_id}"]


def create(session: Session, scope: Scope, request: CreateDataSet) -> Resource:
    document = request.model_dump(exclude_none=True)
    document["tags"] = {PQS_TAG: [table_name(request.name)], **document.get("tags", {})}
    return resources.create(session, scope, KIND, document, resource_id=secrets.token_hex(12))


def get(session: Session, scope: Scope, dataset_id: str, properties: str | None = None) -> dict[str, Any]:
    row = resources.read(session, scope, KIND, dataset_id)
    return {row.id: _select(render(row), properties)}


def exists(session: Session, scope: Scope, dataset_id: str) -> bool:
    try:
        resources.read(session, scope, KIND, dataset_id)
    except FlowError:
        return False
    return True


def list_datasets(session: Session, scope: Scope, params: Mapping[str, str]) -> dict[str, Any]:
    limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    start = _int_param(params, "start", 0, 0, None)
    name = params.get("name")
    rows = [
        row
        for row in resources.iter_scope(session, scope, KIND)
        if name is None or row.document["name"] == name
    ]
    return {row.id: _select(render(row), params.get("properties")) for row in rows[start : start + limit]}


def patch_dataset(session: Session, scope: Scope, dataset_id: str, body: Any) -> Resource:
    """JSON Patch on tags/name/description (aepp's enableDatasetProfile & co.)."""
    ops = patch.normalise_ops(body)
    for op in ops:
        root = patch.pointer(op["path"])[:1]
        if not root or root[0] not in _PATCHABLE:
            raise ValidationFailed(f"The path {op['path']} cannot be patched on a dataset.", field=op["path"])
    row = resources.get(session, scope, KIND, dataset_id, for_update=True)
    patched = patch.apply(dict(row.document), ops)
    if not isinstance(patched.get("name"), str) or not patched["name"]:
        raise ValidationFailed("The dataset name cannot be empty.", field="name")
    return resources.update(session, scope, row, patched, secrets=None)


def delete(session: Session, scope: Scope, dataset_id: str) -> None:
    resources.delete(session, resources.get(session, scope, KIND, dataset_id, for_update=True))


def render(row: Resource) -> dict[str, Any]:
    document = dict(row.document)
    return {
        **document,
        "imsOrg": row.org_id,
        "sandboxName": row.sandbox_name,
        "version": "1.0.0",
        "created": datetime_to_ms(row.created_at),
        "updated": datetime_to_ms(row.updated_at),
        "createdClient": row.created_client,
        "createdUser": row.created_by,
        "updatedUser": row.updated_by,
        "classification": document.get("classification")
        or {"dataBehavior": "record", "managedBy": "CUSTOMER"},
        "tags": document.get("tags") or {},
        "viewId": row.id,
        "fileDescription": document.get("fileDescription") or {},
        "files": f"@/dataSetFiles?dataSetId={row.id}",
        "extensions": document.get("extensions") or {},
        "observableSchema": document.get("observableSchema") or {},
    }


def _select(body: dict[str, Any], properties: str | None) -> dict[str, Any]:
    if not properties:
        return body
    wanted = {p.strip() for p in properties.split(",") if p.strip()}
    return {key: value for key, value in body.items() if key in wanted}


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f" and {high}" if high is not None else ""
        raise ValidationFailed(
            f"Invalid query parameter {name}={text}: expected an integer between {low}{bound}.", field=name
        )
    return value


# --- what has landed in the lake (the UI's dataset pages) --------------------------------------------


@dataclass(frozen=True)
class Landed:
    """A dataset's table in the lake: rows, the last commit (epoch ms) and its leaf columns."""

    rows: int
    last_commit: int | None
    columns: list[Column]


def landed(lake: Lake, scope: Scope, dataset_id: str) -> Landed:
    """What the lake holds for a dataset of the caller's org and sandbox (all empty before a commit)."""
    dataset = lake.dataset(scope.org_id, scope.sandbox_name, dataset_id)
    history = dataset.history(1)
    return Landed(
        rows=int(dataset.stats()["rows"]),
        last_commit=history[0]["timestamp"] if history else None,
        columns=dataset.columns(),
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def preview(lake: Lake, scope: Scope, dataset_id: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Up to ``limit`` landed rows read with DuckDB, one column per leaf: nested fields come out as
    their dotted paths (``account.name``), as the mapping's destinations named them."""
    dataset = lake.dataset(scope.org_id, scope.sandbox_name, dataset_id)
    paths = [column.path for column in dataset.columns()]
    if not paths:
        return [], []
    select = ", ".join(
        "landed." + ".".join(_identifier(part) for part in split_path(path)) + " AS " + _identifier(path)
        for path in paths
    )
    con = duckdb.connect()
    try:
        register_views(con, {"landed": dataset.uri}, dataset.storage_options)
        rows = con.execute(f"SELECT {select} FROM landed LIMIT {int(limit)}").fetchall()
    finally:
        con.close()
    return paths, rows
