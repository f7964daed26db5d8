"""Shared helpers of the connector tests."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from headwater.connectors.base import ReadStream
from headwater.connectors.salesforce.client import Tuning
from headwater.connectors.salesforce.connector import SalesforceConnector
from headwater.core.settings import Settings


def drain(stream: ReadStream) -> tuple[pa.Table | None, list[str]]:
    """All upserts as one table (None when empty) and all deleted keys."""
    batches: list[pa.RecordBatch] = []
    deletes: list[str] = []
    for item in stream:
        if item.upserts is not None and item.upserts.num_rows:
            batches.append(item.upserts)
        deletes.extend(item.deletes.to_pylist())
    return (pa.Table.from_batches(batches) if batches else None), deletes


def ids(table: pa.Table | None) -> list[str]:
    return [] if table is None else table.column("Id").to_pylist()


FAST = {"backoff_base": 0.01, "backoff_cap": 0.05, "poll_interval": 0.02, "poll_cap": 0.1}


def basic_params(sf: Any, **extra: Any) -> dict[str, Any]:
    return {
        "environmentUrl": sf.url,
        "username": sf.username,
        "password": sf.password,
        "securityToken": sf.security_token,
        **extra,
    }


def oauth_params(sf: Any, **extra: Any) -> dict[str, Any]:
    return {
        "environmentUrl": sf.url,
        "clientId": sf.client_id,
        "clientSecret": sf.client_secret,
        "apiVersion": "60.0",
        **extra,
    }


def connector_factory(salesforce_emulator: Any) -> Any:
    """Yields ``make(spec, ca, tuning, **params)``; closes what it opened."""
    opened: list[SalesforceConnector] = []

    def make(spec: str = "basic", ca: bool = True, tuning: dict[str, Any] | None = None, **params: Any):
        sf = salesforce_emulator
        # The emulator listens on loopback: the outbound policy lets exactly its host:port through.
        settings = Settings(ca_bundle=sf.ca_file if ca else None, outbound_allow=sf.host)
        auth = basic_params(sf, **params) if spec == "basic" else oauth_params(sf, **params)
        name = "Basic Authentication" if spec == "basic" else "OAuth2 Client Credential"
        connector = SalesforceConnector.from_auth(name, auth, settings, Tuning(**{**FAST, **(tuning or {})}))
        opened.append(connector)
        return connector

    yield make
    for connector in opened:
        connector.close()
