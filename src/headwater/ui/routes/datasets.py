"""Datasets: the Catalog list with the lake's row counts, and one dataset's schema and landed rows.

The catalog comes from ``services.datasets`` (as ``GET /dataSets``); the schema and the rows from the
lake (``headwater.lake``: the Delta table's schema flattened to dotted paths, rows read with DuckDB
over the table as ``lake.query.register_views`` registers it).
"""

from __future__ import annotations

from typing import Annotated, Any

import duckdb
from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from headwater.api.services import datasets
from headwater.core.errors import FlowError, HeadwaterError
from headwater.lake import Lake
from headwater.lake.dataset import Dataset
from headwater.lake.nesting import split_path
from headwater.lake.query import register_views
from headwater.ui import web

router = APIRouter()
CurrentUser = Annotated[web.User, Depends(web.current_user)]
PREVIEW_ROWS = 100


def _lake(request: Request) -> Lake:
    return Lake(web.state_of(request).settings.resolved_lake_root)


def _summary(dataset: Dataset) -> dict[str, Any]:
    stats = dataset.stats()
    history = dataset.history(1)
    return {"rows": stats["rows"], "landed": history[0]["timestamp"] if history else None}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quoted(path: str) -> str:
    return ".".join(_ident(part) for part in split_path(path))


def preview(dataset: Dataset, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Up to ``limit`` landed rows, one column per leaf (nested structs as dotted paths)."""
    columns = [column.path for column in dataset.columns()]
    if not columns:
        return [], []
    con = duckdb.connect()
    try:
        register_views(con, {"landed": dataset.uri}, dataset.storage_options)
        select = ", ".join(f"landed.{_quoted(path)} AS {_ident(path)}" for path in columns)
        rows = con.execute(f"SELECT {select} FROM landed LIMIT {int(limit)}").fetchall()
    finally:
        con.close()
    return columns, rows


@router.get("/datasets", response_class=HTMLResponse)
async def dataset_list(request: Request, user: CurrentUser) -> Response:
    listed = await web.call(
        request,
        lambda db: datasets.list_datasets(db, user.scope, {"limit": str(datasets.MAX_LIMIT)}),
        read_only=True,
    )
    lake = _lake(request)

    def summaries() -> dict[str, dict[str, Any]]:
        return {key: _summary(lake.dataset(user.org_id, user.sandbox, key)) for key in listed}

    lake_info = await to_thread.run_sync(summaries)
    items = [
        {"id": key, "name": body.get("name", key), "updated": body.get("updated"), **lake_info[key]}
        for key, body in listed.items()
    ]
    return web.page(
        request, "datasets/list.html", {"items": items, "capped": len(items) >= datasets.MAX_LIMIT}
    )


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
async def dataset_detail(request: Request, user: CurrentUser, dataset_id: str) -> Response:
    try:
        found = await web.call(request, lambda db: datasets.get(db, user.scope, dataset_id), read_only=True)
    except FlowError as exc:
        missing = {"title": "Dataset not found", "message": web.error_text(exc)}
        return web.page(request, "error.html", missing, status_code=404)
    body = found[dataset_id]
    dataset = _lake(request).dataset(user.org_id, user.sandbox, dataset_id)

    def read() -> dict[str, Any]:
        return {
            "schema": dataset.columns(),
            "summary": _summary(dataset),
            "preview": preview(dataset),
        }

    error = ""
    landed: dict[str, Any]
    try:
        landed = await to_thread.run_sync(read)
    except (HeadwaterError, duckdb.Error, OSError) as exc:
        error = (
            web.error_text(exc) if isinstance(exc, HeadwaterError) else "The landed rows could not be read."
        )
        landed = {"schema": [], "summary": {"rows": 0, "landed": None}, "preview": ([], [])}
    context: dict[str, Any] = {
        "dataset": {"id": dataset_id, **body},
        "schema": landed["schema"],
        "summary": landed["summary"],
        "columns": landed["preview"][0],
        "rows": landed["preview"][1],
        "error": error,
        "limit": PREVIEW_ROWS,
    }
    return web.page(request, "datasets/detail.html", context)
