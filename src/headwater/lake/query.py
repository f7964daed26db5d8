"""DuckDB over the lake: each dataset's current Delta snapshot registered as a view.

DuckDB's own delta extension needs a download, so the tables are handed to DuckDB as pyarrow datasets
(``DeltaTable.to_pyarrow_dataset()``), which DuckDB scans lazily with projection/filter push-down.
Each file's deltalake "partition expression" is dropped: deltalake derives it from the log's file
statistics and writes ``column >= null`` for a column the statistics leave out (our data files carry
no min/max for timestamps, booleans or very long text), which makes every pushed-down comparison on
that column false -- DuckDB answered ``WHERE SystemModstamp > ...`` or a history dataset's
``WHERE _valid_from <= ...`` with no rows. Row groups are still pruned by the Parquet statistics.
The caller chooses the view names (``{name: table uri}``): the metadata store knows dataset names,
the lake alone knows only ids.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pyarrow.dataset as pads
from deltalake import DeltaTable

from headwater.core.errors import TerminalError
from headwater.lake.dataset import Lake

__all__ = ["connect", "lake_views", "register_views", "scan_dataset"]


def register_views(
    con: duckdb.DuckDBPyConnection,
    views: Mapping[str, str],
    storage_options: dict[str, str] | None = None,
) -> None:
    """Register one view per ``name -> Delta table uri`` on ``con`` (names are quoted identifiers)."""
    for name, uri in views.items():
        try:
            table = DeltaTable(uri, storage_options=storage_options)
        except Exception as exc:  # deltalake raises several unrelated types for a missing table
            raise TerminalError(f"no Delta table for view {name!r} at {uri}: {exc}") from exc
        con.register(name, scan_dataset(table))


def scan_dataset(table: DeltaTable) -> pads.FileSystemDataset:
    """The table's current snapshot as a pyarrow dataset without deltalake's per-file guards (above)."""
    full = table.to_pyarrow_dataset()
    assert isinstance(full, pads.FileSystemDataset)
    fragments = [full.format.make_fragment(f.path, filesystem=f.filesystem) for f in full.get_fragments()]
    return pads.FileSystemDataset(fragments, full.schema, full.format, full.filesystem)


def lake_views(lake: Lake) -> dict[str, str]:
    """Views named by dataset id for every dataset under a local lake root."""
    views: dict[str, str] = {}
    for dataset in lake.datasets():
        if dataset.id in views:
            raise TerminalError(
                f"dataset id {dataset.id!r} occurs in more than one org/sandbox; pass explicit view names"
            )
        views[dataset.id] = dataset.uri
    return views


def connect(lake: Lake, aliases: Mapping[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per dataset id, plus ``aliases`` (readable name -> dataset id)."""
    con = duckdb.connect()
    views = lake_views(lake)
    for alias, dataset_id in (aliases or {}).items():
        if dataset_id not in views:
            raise TerminalError(f"alias {alias!r} names an unknown dataset {dataset_id!r}")
        views[alias] = views[dataset_id]
    register_views(con, views, lake.storage_options)
    return con
