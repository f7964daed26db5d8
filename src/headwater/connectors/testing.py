"""A standard test suite any connector must pass (Singer-SDK style): ``check_connector(c, table)``.

It asserts the contract's invariants, not a source's data: explore shapes, that read batches match
the explored Arrow schema, that the primary key is present and unique within a read, and that a
read from the returned cursor gives a subset of keys plus a cursor that does not go backwards.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .base import Connector, ExploreItem, ReadStream, TableSchema


def check_connector(connector: Connector, table: str) -> None:
    result = connector.check()
    assert result.ok, result.reason
    root = connector.explore("root")
    assert root and all(isinstance(item, ExploreItem) for item in root)
    assert table in {item.path for item in root}
    schema = connector.explore("table", table, preview=True)
    assert isinstance(schema, TableSchema) and schema.data is not None
    names = [c.name for c in schema.columns]
    assert len(names) == len(set(names)), "column names must be unique"
    for row in schema.data:
        assert set(row) <= set(names)
    expected = schema.arrow_schema()
    first = connector.read(table, None, None)
    keys = _drain(first, expected)
    assert len(keys) == len(set(keys)), "a full read must not repeat a key"
    if first.cursor is not None:
        again = connector.read(table, None, first.cursor)
        later = _drain(again, expected)
        assert set(later) <= set(keys) or again.cursor != first.cursor
        assert again.cursor is not None and str(again.cursor.get("value")) >= str(first.cursor.get("value"))


def _drain(stream: ReadStream, expected: pa.Schema) -> list[Any]:
    keys: list[Any] = []
    for batch in stream:
        assert isinstance(batch.deletes, pa.Array)
        if batch.upserts is None:
            continue
        for field in batch.upserts.schema:
            assert expected.field(field.name).type == field.type, field.name
        key = batch.upserts.column(stream.primary_key)
        assert pc.all(pc.is_valid(key)).as_py() in (True, None)
        keys.extend(key.to_pylist())
    assert stream.stopped is None, stream.stopped
    return keys
