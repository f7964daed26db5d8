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
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.core import jsonpatch
from headwater.core.errors import Invalid, NotFound
from headwater.core.scope import Scope
from headwater.lake import Lake
from headwater.lake.dataset import Column
from headwater.lake.nesting import split_path
from headwater.lake.query import register_views
from headwater.store import repository
from headwater.store.models import Dataset

KIND = "dataSets"
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
PQS_TAG = "adobe/pqs/table"
_PATCHABLE = frozenset({"name", "description", "tags", "enableErrorDiagnostics", "fileDescription"})
_COLUMNS = frozenset({"name", "description", "schemaRef", "tags", "fileDescription"})


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


class DataSetDoc(BaseModel):
    """Catalog's dataset object as Headwater shows it (aepp reads ``classification`` and ``tags``)."""

    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    schemaRef: dict[str, Any] | None = None
    imsOrg: str
    sandboxName: str
    version: str = "1.0.0"
    created: int
    updated: int
    createdClient: str
    createdUser: str
    updatedUser: str
    classification: dict[str, Any]
    tags: dict[str, Any]
    viewId: str
    fileDescription: dict[str, Any]
    files: str
    extensions: dict[str, Any]
    observableSchema: dict[str, Any]


def table_name(name: str) -> str:
    """The query-service table name Catalog derives from a dataset name (snake case)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "dataset"


def location(dataset_id: str) -> list[str]:
    return [f"@/dataSets/{dataset_id}"]


def _body(row: Dataset) -> dict[str, Any]:
    """The stored body as the client sent it (what a patch edits)."""
    body: dict[str, Any] = {"name": row.name}
    if row.description is not None:
        body["description"] = row.description
    if row.schema_ref is not None:
        body["schemaRef"] = row.schema_ref
    body["tags"] = dict(row.tags)
    if row.file_description is not None:
        body["fileDescription"] = row.file_description
    return {**body, **row.extra}


def _assign(row: Dataset, body: dict[str, Any]) -> None:
    row.name = body["name"]
    row.description = body.get("description")
    row.schema_ref = body.get("schemaRef")
    row.tags = dict(body.get("tags") or {})
    row.file_description = body.get("fileDescription")
    row.extra = {key: value for key, value in body.items() if key not in _COLUMNS}


def create(session: Session, scope: Scope, request: CreateDataSet) -> Dataset:
    body = request.model_dump(exclude_none=True)
    body["tags"] = {PQS_TAG: [table_name(request.name)], **body.get("tags", {})}
    row = repository.new(Dataset, scope, resource_id=secrets.token_hex(12))
    _assign(row, body)
    return repository.add(session, row)


def get(db: Any, scope: Scope, dataset_id: str, properties: str | None = None) -> dict[str, Any]:
    row = repository.read(db, Dataset, scope, dataset_id)
    return {row.id: _select(render(row), properties)}


def exists(session: Session, scope: Scope, dataset_id: str) -> bool:
    try:
        repository.read(session, Dataset, scope, dataset_id)
    except NotFound:
        return False
    return True


def list_datasets(session: Session, scope: Scope, params: Mapping[str, str]) -> dict[str, Any]:
    """Catalog's list: ``limit`` (default 20, at most 100) and ``start`` (an offset), ``name`` (exact),
    ``properties`` (which fields to show); oldest first."""
    limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    start = _int_param(params, "start", 0, 0, None)
    query = sa.select(Dataset).where(
        Dataset.org_id == scope.org_id, Dataset.sandbox_name == scope.sandbox_name
    )
    if params.get("name") is not None:
        query = query.where(Dataset.name == params["name"])
    rows = session.scalars(query.order_by(Dataset.created_at, Dataset.id).offset(start).limit(limit))
    return {row.id: _select(render(row), params.get("properties")) for row in rows}


def patch_dataset(session: Session, scope: Scope, dataset_id: str, body: Any) -> Dataset:
    """JSON Patch on tags/name/description (aepp's enableDatasetProfile & co.)."""
    ops = jsonpatch.normalise_ops(body)
    for op in ops:
        root = jsonpatch.pointer(op["path"])[:1]
        if not root or root[0] not in _PATCHABLE:
            raise Invalid(
                "invalid", f"The path {op['path']} cannot be patched on a dataset.", field=op["path"]
            )
    row = repository.get(session, Dataset, scope, dataset_id, for_update=True)
    patched = jsonpatch.apply(_body(row), ops)
    if not isinstance(patched.get("name"), str) or not patched["name"]:
        raise Invalid("invalid", "The dataset name cannot be empty.", field="name")
    _assign(row, patched)
    repository.touch(row, scope)
    session.flush()
    return row


def delete(session: Session, scope: Scope, dataset_id: str) -> None:
    repository.delete(session, repository.get(session, Dataset, scope, dataset_id, for_update=True))


def render(row: Dataset) -> dict[str, Any]:
    shown = {
        **_body(row),
        "imsOrg": row.org_id,
        "sandboxName": row.sandbox_name,
        "version": "1.0.0",
        "created": row.created_at,
        "updated": row.updated_at,
        "createdClient": row.created_client,
        "createdUser": row.created_by,
        "updatedUser": row.updated_by,
        "classification": row.extra.get("classification")
        or {"dataBehavior": "record", "managedBy": "CUSTOMER"},
        "tags": dict(row.tags),
        "viewId": row.id,
        "fileDescription": row.file_description or {},
        "files": f"@/dataSetFiles?dataSetId={row.id}",
        "extensions": row.extra.get("extensions") or {},
        "observableSchema": row.extra.get("observableSchema") or {},
    }
    return DataSetDoc.model_validate(shown).model_dump(exclude_none=True)


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
        raise Invalid(
            "invalid",
            f"Invalid query parameter {name}={text}: expected an integer between {low}{bound}.",
            field=name,
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
