"""Load a captured older store (``capture.py``'s JSON) into a database at the captured revision."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from headwater.store import db
from headwater.store.types import PortableJSON, UTCDateTime

HERE = Path(__file__).parent


def capture(name: str = "store-0002.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text())
    return data


def _value(column: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(column.type, UTCDateTime) and isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(column.type, sa.Boolean):
        return bool(value)
    if column.name in _JSON_COLUMNS.get(column.table.name, ()) and isinstance(value, str):
        return json.loads(value)
    return value


def load(engine: sa.Engine, captured: dict[str, Any]) -> None:
    """Migrate ``engine`` to the captured revision and insert every captured row (parents first)."""
    db.upgrade(engine, captured["revision"])
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = captured["tables"].get(table.name, [])
            if table.name == "alembic_version" or not rows:
                continue
            typed = sa.Table(
                table.name,
                sa.MetaData(),
                *[
                    sa.Column(
                        c.name,
                        UTCDateTime
                        if isinstance(c.type, sa.DateTime)
                        else PortableJSON
                        if c.name in _JSON_COLUMNS.get(table.name, ())
                        else c.type,
                    )
                    for c in table.columns
                ],
            )
            conn.execute(
                typed.insert(), [{c.name: _value(c, row.get(c.name)) for c in typed.columns} for row in rows]
            )


# The JSON columns of schema 0002 (SQLite reflects them as TEXT, PostgreSQL as JSONB).
_JSON_COLUMNS = {
    "resources": ("document",),
    "hw_flow_runtime": ("schedule_params", "cursor"),
    "hw_runs": ("params", "progress", "errors", "cursor_in", "cursor_out"),
}
