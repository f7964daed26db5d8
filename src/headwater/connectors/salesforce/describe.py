"""describeGlobal once, object describes lazily, both cached for a short TTL per connection.

Every object and field name that reaches SOQL comes out of these describes (``resolve_object``,
``resolve_fields``), spelled as Salesforce spells it -- never as the caller typed it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from headwater.core.errors import SourceObjectNotFound

from .client import SalesforceApi
from .types import COMPOUND_TYPES, NOT_BULK_TYPES, column_for

CURSOR_FIELDS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")


@dataclass(frozen=True)
class ObjectSummary:
    name: str
    label: str


@dataclass(frozen=True)
class ObjectDescribe:
    name: str
    label: str
    fields: dict[str, dict[str, Any]]  # API name -> describe entry, in describe order

    @property
    def columns(self) -> list[str]:
        """Field names delivered as columns (compound parents excluded: their components are there)."""
        return [n for n, f in self.fields.items() if f.get("type") not in COMPOUND_TYPES]

    @property
    def cursor_field(self) -> str | None:
        return next((name for name in CURSOR_FIELDS if name in self.fields), None)

    @property
    def has_is_deleted(self) -> bool:
        return "IsDeleted" in self.fields

    def bulk_capable(self, names: list[str]) -> bool:
        return all(self.fields[n].get("type") not in NOT_BULK_TYPES for n in names)


class DescribeCache:
    def __init__(self, api: SalesforceApi, ttl: float) -> None:
        self.api = api
        self.ttl = ttl
        self._lock = threading.Lock()
        self._global: tuple[float, dict[str, ObjectSummary]] | None = None
        self._objects: dict[str, tuple[float, ObjectDescribe]] = {}

    def _fresh(self, stamp: float) -> bool:
        return time.monotonic() - stamp < self.ttl

    def queryable(self) -> dict[str, ObjectSummary]:
        """Lower-cased API name -> summary, for queryable objects only (describeGlobal)."""
        with self._lock:
            if self._global and self._fresh(self._global[0]):
                return self._global[1]
        body = self.api.get_json("sobjects/")
        objects = {
            str(o["name"]).lower(): ObjectSummary(str(o["name"]), str(o.get("label") or o["name"]))
            for o in body.get("sobjects", [])
            if o.get("queryable", False)
        }
        with self._lock:
            self._global = (time.monotonic(), objects)
        return objects

    def resolve_object(self, name: str) -> ObjectSummary:
        summary = self.queryable().get((name or "").lower())
        if summary is None:
            raise SourceObjectNotFound("table", name, "Use objectType=root to list the queryable objects.")
        return summary

    def describe(self, name: str) -> ObjectDescribe:
        summary = self.resolve_object(name)
        key = summary.name.lower()
        with self._lock:
            cached = self._objects.get(key)
            if cached and self._fresh(cached[0]):
                return cached[1]
        body = self.api.get_json(f"sobjects/{summary.name}/describe/")
        fields = {str(f["name"]): f for f in body.get("fields", [])}
        result = ObjectDescribe(summary.name, summary.label, fields)
        with self._lock:
            self._objects[key] = (time.monotonic(), result)
        return result

    def resolve_fields(self, described: ObjectDescribe, names: list[str] | None) -> list[str]:
        """Requested names -> describe spelling; ``None`` = every column. Unknown names are errors."""
        if not names:
            return described.columns
        by_lower = {n.lower(): n for n in described.columns}
        resolved: list[str] = []
        for name in names:
            real = by_lower.get(name.lower())
            if real is None:
                raise SourceObjectNotFound("column", f"{described.name}.{name}")
            if real not in resolved:
                resolved.append(real)
        return resolved

    def column(self, described: ObjectDescribe, name: str) -> Any:
        return column_for(described.fields[name])
