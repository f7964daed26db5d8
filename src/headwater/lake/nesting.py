"""Dotted destination paths (``person.name.firstName``) become nested struct columns.

A flat batch keyed by dotted paths is turned into a batch whose top-level columns are the first path
segments; deeper segments become struct fields, in first-seen order. Arrays are shared, not copied.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from headwater.core.errors import TerminalError

_Tree = dict[str, "pa.Array | _Tree"]


def split_path(path: str) -> list[str]:
    """Split a dotted path; every segment must be non-empty (``a..b``, ``.a`` and ``a.`` are invalid)."""
    parts = path.split(".")
    if any(part == "" for part in parts):
        raise TerminalError(f"invalid column path {path!r}: empty segment")
    return parts


def _insert(tree: _Tree, parts: Sequence[str], array: pa.Array, path: str) -> None:
    node = tree
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            prefix = ".".join(parts[: depth + 1])
            raise TerminalError(f"column path {path!r} nests under {prefix!r}, which is a value column")
        node = child
    leaf = parts[-1]
    if leaf in node:
        kind = "a struct" if isinstance(node[leaf], dict) else "already a column"
        raise TerminalError(f"column path {path!r} collides: it is {kind}")
    node[leaf] = array


def _build(tree: _Tree, length: int) -> tuple[list[str], list[pa.Array]]:
    names: list[str] = []
    arrays: list[pa.Array] = []
    for name, value in tree.items():
        names.append(name)
        if isinstance(value, dict):
            child_names, child_arrays = _build(value, length)
            arrays.append(pa.StructArray.from_arrays(child_arrays, names=child_names))
        else:
            arrays.append(value)
    return names, arrays


def nest_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Turn a flat batch whose column names are dotted paths into a batch of nested struct columns.

    Struct parents are never null themselves: a missing value is a null leaf.
    """
    if not any("." in name for name in batch.schema.names):
        return batch
    tree: _Tree = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        _insert(tree, split_path(name), column, name)
    names, arrays = _build(tree, batch.num_rows)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def nested_schema(schema: pa.Schema) -> pa.Schema:
    """The nested schema that :func:`nest_batch` produces for a flat schema of dotted paths."""
    empty = pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)
    return nest_batch(empty).schema


def flatten_schema(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    """Leaf columns of a (nested) schema as ``(dotted path, type)``, in order."""
    out: list[tuple[str, pa.DataType]] = []

    def walk(prefix: str, field: pa.Field) -> None:
        path = f"{prefix}{field.name}"
        if pa.types.is_struct(field.type):
            for child in field.type:
                walk(path + ".", child)
        else:
            out.append((path, field.type))

    for field in schema:
        walk("", field)
    return out


__all__ = ["flatten_schema", "nest_batch", "nested_schema", "split_path"]
