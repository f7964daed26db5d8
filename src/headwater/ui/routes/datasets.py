"""Datasets: the Catalog list with the lake's row counts, and one dataset's schema and landed rows.

The catalog comes from ``catalog.datasets`` (as ``GET /dataSets``); what landed comes from the same
module's lake readers (``landed``: the Delta table's leaf columns as dotted paths; ``preview``: rows
read with DuckDB over the table, as ``lake.query`` registers it).
"""

from __future__ import annotations

from typing import Annotated, Any

import duckdb
from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from headwater.catalog import datasets
from headwater.core.errors import DomainError, HeadwaterError
from headwater.lake import Lake
from headwater.ui import web

router = APIRouter()
CurrentUser = Annotated[web.User, Depends(web.current_user)]
PREVIEW_ROWS = 100


@router.get("/datasets", response_class=HTMLResponse)
async def dataset_list(request: Request, user: CurrentUser) -> Response:
    listed = await web.call(
        request,
        lambda db: datasets.list_datasets(db, user.scope, {"limit": str(datasets.MAX_LIMIT)}),
        read_only=True,
    )
    lake = Lake.from_settings(web.state_of(request).settings)

    def read() -> dict[str, datasets.Landed]:
        return {key: datasets.landed(lake, user.scope, key) for key in listed}

    landed = await to_thread.run_sync(read)
    items = [
        {
            "id": key,
            "name": body.get("name", key),
            "rows": landed[key].rows,
            "updated": landed[key].last_commit or body.get("updated"),
        }
        for key, body in listed.items()
    ]
    context = {"items": items, "capped": len(items) >= datasets.MAX_LIMIT}
    return web.page(request, "datasets/list.html", context)


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
async def dataset_detail(request: Request, user: CurrentUser, dataset_id: str) -> Response:
    try:
        found = await web.call(request, lambda db: datasets.get(db, user.scope, dataset_id), read_only=True)
    except DomainError as exc:
        missing = {"title": "Dataset not found", "message": web.error_text(exc)}
        return web.page(request, "error.html", missing, status_code=404)
    lake = Lake.from_settings(web.state_of(request).settings)

    def read() -> tuple[datasets.Landed, tuple[list[str], list[tuple[Any, ...]]]]:
        return (
            datasets.landed(lake, user.scope, dataset_id),
            datasets.preview(lake, user.scope, dataset_id, PREVIEW_ROWS),
        )

    error = ""
    try:
        landed, (columns, rows) = await to_thread.run_sync(read)
    except (HeadwaterError, duckdb.Error, OSError) as exc:
        error = (
            web.error_text(exc) if isinstance(exc, HeadwaterError) else "The landed rows could not be read."
        )
        landed, columns, rows = datasets.Landed(0, None, []), [], []
    context: dict[str, Any] = {
        "dataset": {"id": dataset_id, **found[dataset_id]},
        "landed": landed,
        "columns": columns,
        "rows": rows,
        "error": error,
        "limit": PREVIEW_ROWS,
    }
    return web.page(request, "datasets/detail.html", context)
