"""Shared helpers of the connector tests."""

from __future__ import annotations

import pyarrow as pa

from headwater.connectors.base import ReadStream


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
