"""DuckDB over the lake: each Delta table registered as a view (no DuckDB extension download)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb
from deltalake import DeltaTable

from headwater.lake.store import STAGING


def discover(root: str | os.PathLike[str]) -> dict[str, str]:
    """{dataset id: table uri} for every `<org>/<sandbox>/<id>/_delta_log` under a local root."""
    found: dict[str, str] = {}
    for log in sorted(Path(root).glob("*/*/*/_delta_log")):
        if STAGING not in log.parts:
            found[log.parent.name] = str(log.parent)
    return found


def connect(
    views: Mapping[str, str], storage_options: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per {view name: table uri}; names are quoted as given."""
    con = duckdb.connect()
    for name, uri in views.items():
        data = DeltaTable(uri, storage_options=storage_options).to_pyarrow_dataset()
        con.register(name, data)
    return con
