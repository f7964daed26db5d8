"""Connection spec id -> connector class. Classes are imported lazily so listing costs nothing."""

from __future__ import annotations

import importlib
from typing import Any

from headwater.core.errors import Invalid
from headwater.core.settings import Settings

from .base import Connector

SALESFORCE_SPEC_ID = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"

CONNECTORS: dict[str, str] = {
    SALESFORCE_SPEC_ID: "headwater.connectors.salesforce.connector:SalesforceConnector",
}


def connector_class(spec_id: str) -> type[Connector]:
    target = CONNECTORS.get(spec_id)
    if target is None:
        raise Invalid(
            "explore.spec_unsupported",
            f"Explore connection is not supported for connection spec ID {spec_id}.",
        )
    module_name, _, name = target.partition(":")
    cls: type[Connector] = getattr(importlib.import_module(module_name), name)
    return cls


def check_auth_params(spec_id: str, spec_name: str, params: dict[str, Any]) -> None:
    """The connector's write-time checks of a connection's auth params (``Invalid``), e.g. an
    ``environmentUrl`` that is not an http(s) URL. Specs without a connector (targets) have none."""
    if spec_id in CONNECTORS:
        connector_class(spec_id).check_params(spec_name, params)


def open_connector(spec_id: str, spec_name: str, params: dict[str, Any], settings: Settings) -> Connector:
    """A connector for one base connection (``auth.specName`` + decrypted ``auth.params``)."""
    cls = connector_class(spec_id)
    return cls.from_auth(spec_name, params, settings)  # type: ignore[attr-defined, no-any-return]
