"""Turn a flat batch keyed by dotted destination paths into nested struct columns."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from headwater.core.errors import TerminalError


def _tree(names: list[str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for name in names:
        node = root
        parts = name.split(".")
        if any(not p for p in parts):
            raise TerminalError(f"bad column path {name!r}: empty segment")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise TerminalError(f"column path {name!r} nests under a leaf column")
            node = child
        if parts[-1] in node:
            raise TerminalError(f"column path {name!r} clashes with a nested group")
        node[parts[-1]] = name
    return root


def _build(node: dict[str, Any], batch: pa.RecordBatch) -> tuple[list[str], list[pa.Array]]:
    names: list[str] = []
    arrays: list[pa.Array] = []
    for key, value in node.items():
        names.append(key)
        if isinstance(value, dict):
            sub_names, sub_arrays = _build(value, batch)
            arrays.append(pa.StructArray.from_arrays(sub_arrays, names=sub_names))
        else:
            arrays.append(batch.column(value))
    return names, arrays


def nest_dotted(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`person.name.first` columns become struct `person{name{first}}`; order of first appearance kept.

    Struct parents are never null themselves: a missing leaf is a null leaf.
    """
    names, arrays = _build(_tree(list(batch.schema.names)), batch)
    return pa.RecordBatch.from_arrays(arrays, names=names)
