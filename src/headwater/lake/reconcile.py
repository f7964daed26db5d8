"""Hard-delete reconciliation: the keys a dataset holds that the source no longer has.

The source's full key list (streamed, e.g. Bulk ``SELECT Id``) is written to a Parquet file in the
run's staging folder; DuckDB then anti-joins the table's current keys against it (spilling, never
holding the keys as Python objects) and hands the missing keys back in Arrow batches, which the run
stages as deletes: they land in the run's one commit. A key list that did not arrive whole must never
get here -- a missing key would read as a delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from headwater.lake.evolution import delta_schema
from headwater.lake.history import DELETED_FLAG, IS_CURRENT, is_history_schema

#: DuckDB's memory for the anti-join; a larger key set spills to the staging folder.
JOIN_MEMORY = "256MB"
BATCH_ROWS = 65_536


def write_source_keys(keys: Iterable[pa.Array], path: Path, key: str) -> int:
    """Stream the source's keys into ``path`` (one text column ``key``); return how many there were."""
    count = 0
    schema = pa.schema([pa.field(key, pa.string())])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for array in keys:
            if len(array) == 0:
                continue
            column = array.cast(pa.string()) if array.type != pa.string() else array
            writer.write_batch(pa.RecordBatch.from_arrays([column], schema=schema))
            count += len(array)
    return count


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def missing_keys(table: DeltaTable, key: str, source_keys: Path, spill: Path) -> Iterator[pa.Array]:
    """Keys of ``table``'s live rows (current, not deleted, in a history table) absent from
    ``source_keys``, in batches of up to ``BATCH_ROWS``."""
    schema = delta_schema(table)
    live = (
        f" WHERE {_quoted(IS_CURRENT)} AND NOT coalesce({_quoted(DELETED_FLAG)}, false)"
        if is_history_schema(schema)
        else ""
    )
    spill.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": JOIN_MEMORY,
        "threads": 2,
        "temp_directory": str(spill),
    }
    with duckdb.connect(config=config) as con:
        con.register("lake_table", table.to_pyarrow_dataset())
        source = str(source_keys).replace("'", "''")
        sql = (
            f"SELECT CAST(t.k AS VARCHAR) AS k FROM (SELECT {_quoted(key)} AS k FROM lake_table{live}) t "
            f"ANTI JOIN read_parquet('{source}') s ON CAST(t.k AS VARCHAR) = s.{_quoted(key)}"
        )
        relation = con.sql(sql)
        assert relation is not None
        for batch in relation.to_arrow_reader(BATCH_ROWS):
            if batch.num_rows:
                yield batch.column(0)
