"""SOQL text built only from describe-checked names and formatted datetime literals."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from headwater.core.errors import SourceObjectNotFound

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """Defence in depth: names already come from describe; refuse anything that is not an identifier."""
    if not _NAME.match(name):
        raise SourceObjectNotFound("name", name)
    return name


def literal(moment: datetime) -> str:
    """A SOQL datetime literal (unquoted, UTC, milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def select(
    sobject: str,
    fields: list[str],
    *,
    cursor_field: str | None = None,
    lower: datetime | None = None,
    upper: datetime | None = None,
    limit: int | None = None,
) -> str:
    text = f"SELECT {', '.join(identifier(f) for f in fields)} FROM {identifier(sobject)}"
    conditions = []
    if cursor_field and lower is not None:
        conditions.append(f"{identifier(cursor_field)} >= {literal(lower)}")
    if cursor_field and upper is not None:
        conditions.append(f"{identifier(cursor_field)} < {literal(upper)}")
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    if limit is not None:
        text += f" LIMIT {int(limit)}"
    return text


def chunk_fields(fields: list[str], keep: list[str], budget: int) -> list[list[str]]:
    """Split a SELECT list so each chunk's names fit ``budget`` characters; every chunk holds ``keep``."""
    base = [f for f in keep if f in fields or f == "Id"]
    rest = [f for f in fields if f not in base]
    fixed = sum(len(f) + 2 for f in base)
    chunks: list[list[str]] = []
    current: list[str] = []
    size = fixed
    for name in rest:
        if current and size + len(name) + 2 > budget:
            chunks.append(base + current)
            current, size = [], fixed
        current.append(name)
        size += len(name) + 2
    if current or not chunks:
        chunks.append(base + current)
    return chunks
