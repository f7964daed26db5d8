"""Connection specs and flow specs as JSON data, one file per connector, loaded once at start.

Specs are org-agnostic and read-only: the registry hands out deep copies so no caller can change them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from headwater.core import jsonutil
from headwater.core.errors import ConfigurationError


@dataclass
class SpecCatalog:
    """Specs of one family (connection or flow), by id and by name, in file order."""

    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, spec: dict[str, Any]) -> None:
        if "id" not in spec or "name" not in spec:
            raise ConfigurationError("a spec file needs 'id' and 'name'")
        if spec["id"] in self.by_id:
            raise ConfigurationError(f"duplicate spec id {spec['id']}")
        self.by_id[spec["id"]] = spec

    def get(self, spec_id: str) -> dict[str, Any] | None:
        spec = self.by_id.get(spec_id)
        return copy.deepcopy(spec) if spec is not None else None

    def by_name(self, name: str) -> dict[str, Any] | None:
        for spec in self.by_id.values():
            if spec["name"] == name:
                return copy.deepcopy(spec)
        return None

    def all(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(spec) for spec in self.by_id.values()]

    def sources(self) -> list[dict[str, Any]]:
        """The connection specs a user connects an account of (``attributes.isSource``)."""
        return [spec for spec in self.all() if (spec.get("attributes") or {}).get("isSource")]


@dataclass
class SpecRegistry:
    connection_specs: SpecCatalog
    flow_specs: SpecCatalog

    def auth_spec(self, connection_spec_id: str, spec_name: str) -> dict[str, Any] | None:
        spec = self.connection_specs.by_id.get(connection_spec_id)
        if spec is None:
            return None
        for auth in spec.get("authSpec", []):
            if auth["name"] == spec_name:
                return copy.deepcopy(auth)
        return None


def secret_fields(auth_spec: dict[str, Any]) -> frozenset[str]:
    """Names of auth params that are secret: the JSON Schema properties with ``"format": "password"``."""
    properties = auth_spec.get("spec", {}).get("properties", {})
    return frozenset(name for name, prop in properties.items() if prop.get("format") == "password")


def _load_folder(folder: str) -> SpecCatalog:
    catalog = SpecCatalog()
    root = resources.files(__name__).joinpath(folder)
    for entry in sorted(root.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".json"):
            catalog.add(jsonutil.loads(entry.read_bytes()))
    return catalog


def load_registry() -> SpecRegistry:
    return SpecRegistry(
        connection_specs=_load_folder("connection_specs"), flow_specs=_load_folder("flow_specs")
    )


SALESFORCE_SPEC_ID = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP_FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
