"""JSON Patch (RFC 6902: add, replace, remove) over plain JSON documents.

Ops are case-insensitive (Adobe's schema says ADD/REPLACE/REMOVE, its docs send lowercase); a single
op object is accepted as well as an array.
"""

from __future__ import annotations

import copy
from typing import Any

from headwater.core.errors import Invalid

SUPPORTED = ("add", "replace", "remove")


def invalid(reason: str, message: str) -> Invalid:
    return Invalid(reason, message)


def normalise_ops(body: Any) -> list[dict[str, Any]]:
    ops = [body] if isinstance(body, dict) else body
    if not isinstance(ops, list) or not ops:
        raise invalid(
            "patch.empty",
            "The request body cannot be null or empty. Please provide a request body and try again.",
        )
    result = []
    for op in ops:
        if (
            not isinstance(op, dict)
            or not isinstance(op.get("op"), str)
            or not isinstance(op.get("path"), str)
        ):
            raise invalid(
                "patch.malformed",
                "An error has occurred while validating patch instructions: each instruction needs 'op' and 'path'.",
            )
        name = op["op"].lower()
        if name not in SUPPORTED:
            raise invalid(
                "patch.op_unsupported",
                f"Unsupported operation '{op['op']}' received. Please use one of the supported operation types "
                "and try again.",
            )
        if name != "remove" and "value" not in op:
            raise invalid(
                "patch.malformed",
                'An error has occurred while validating patch instructions: Missing field "value".',
            )
        result.append({"op": name, "path": op["path"], "value": op.get("value")})
    return result


def pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise invalid("patch.path_invalid", f"The path {path} provided in ops is invalid.")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply(document: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """A patched copy of ``document``; the original is untouched (all or nothing)."""
    result = copy.deepcopy(document)
    for op in ops:
        parts = pointer(op["path"])
        if not parts:
            raise invalid("patch.path_invalid", f"The path {op['path']} provided in ops is invalid.")
        parent = _walk(result, parts[:-1], op["path"])
        _apply_one(parent, parts[-1], op)
    return result


def _walk(document: Any, parts: list[str], path: str) -> Any:
    node = document
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _missing(part)
    return node


def _apply_one(parent: Any, key: str, op: dict[str, Any]) -> None:
    name, value = op["op"], copy.deepcopy(op["value"])
    if isinstance(parent, dict):
        if name != "add" and key not in parent:
            raise _missing(key)
        if name == "remove":
            del parent[key]
        else:
            parent[key] = value
        return
    if isinstance(parent, list):
        if key == "-" and name == "add":
            parent.append(value)
            return
        if not key.isdigit() or int(key) > len(parent) or (name != "add" and int(key) >= len(parent)):
            raise invalid("patch.path_invalid", f"The path {op['path']} provided in ops is invalid.")
        index = int(key)
        if name == "add":
            parent.insert(index, value)
        elif name == "replace":
            parent[index] = value
        else:
            del parent[index]
        return
    raise invalid("patch.path_invalid", f"The path {op['path']} provided in ops is invalid.")


def _missing(field: str) -> Invalid:
    return invalid(
        "patch.malformed",
        f'An error has occurred while validating patch instructions: Missing field "{field}".',
    )
