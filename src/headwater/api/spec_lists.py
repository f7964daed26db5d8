"""Connection specs and flow specs: read-only lists and lookups over the built-in catalogs."""

from __future__ import annotations

from typing import Any

from headwater.core.errors import NotFound
from headwater.domain.collection import Listing
from headwater.specs import SpecCatalog
from headwater.store.listing import ListQuery, select_documents

SORTABLE = {"id": "id", "name": "name", "providerId": "providerId"}


def list_specs(catalog: SpecCatalog, query: ListQuery) -> Listing:
    found = select_documents(catalog.all(), query, SORTABLE)
    if isinstance(found, int):
        return Listing([], count=found)
    items, after = found
    return Listing([dict(item) for item in items], after)


def get_spec(catalog: SpecCatalog, spec_id: str, kind: str) -> dict[str, Any]:
    spec = catalog.get(spec_id)
    if spec is None:
        raise NotFound(kind, spec_id)
    return {"items": [spec]}
