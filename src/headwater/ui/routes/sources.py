"""The sources catalog: connection specs as cards by category, with search."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from headwater.ui import web

router = APIRouter()
CurrentUser = Annotated[web.User, Depends(web.current_user)]


def source_specs(request: Request, query: str = "") -> dict[str, list[dict[str, Any]]]:
    """Source connection specs matching ``query`` (name or category), grouped by category."""
    needle = query.strip().lower()
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for spec in web.state_of(request).specs.connection_specs.sources():
        category = str(spec["attributes"].get("category", "Other"))
        if needle and needle not in spec["name"].lower() and needle not in category.lower():
            continue
        groups[category].append(spec)
    return dict(sorted(groups.items()))


@router.get("/sources", response_class=HTMLResponse)
async def catalog(request: Request, user: CurrentUser, q: str = "") -> Response:
    template = "sources/_cards.html" if web.is_htmx(request) else "sources/catalog.html"
    return web.page(request, template, {"groups": source_specs(request, q), "q": q})
