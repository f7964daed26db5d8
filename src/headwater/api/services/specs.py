"""Connection specs and flow specs: read-only lists and lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.api.listing import list_body, parse_query, run_query
from headwater.core.errors import NotFoundError
from headwater.specs import SpecCatalog


def list_specs(catalog: SpecCatalog, params: Sequence[tuple[str, str]], path: str) -> dict[str, Any]:
    return list_body(run_query(parse_query(params), catalog.all(), path))


def get_spec(catalog: SpecCatalog, spec_id: str, kind: str) -> dict[str, Any]:
    spec = catalog.get(spec_id)
    if spec is None:
        raise NotFoundError(kind, spec_id)
    return {"items": [spec]}
