"""Generic list machinery: the ``property`` filter grammar, ``orderby``, ``limit`` + continuation tokens
and ``count`` (contract §4). Works on rendered API documents, so filter paths are the API's field names.

Grammar of one ``property`` value: ``PATH OP VALUE`` with OP in ``== != < > <= >=``; PATH is dotted,
``name[]`` steps into every element of an array; VALUE may be quoted; after ``==`` a comma separates
alternatives (any of). Several ``property`` parameters are ANDed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.core import jsonutil
from headwater.core.errors import FlowError

KNOWN_PARAMS = frozenset({"property", "orderby", "limit", "continuationToken", "count", "start"})
MAX_LIMIT = 1000
_PATH = r"[A-Za-z_@$][A-Za-z0-9_@$-]*(?:\[\])?(?:\.[A-Za-z_@$][A-Za-z0-9_@$-]*(?:\[\])?)*"
_FILTER = re.compile(r"^(?P<path>[^=!<>~]*?)(?P<op>[=!<>~]+)(?P<value>.*)$", re.DOTALL)
_PATH_RE = re.compile(rf"^{_PATH}$")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_MISSING = object()
_WRONG_SORT_MARKS = frozenset("*!<>~^=")


def invalid(code: str, message: str) -> FlowError:
    return FlowError(code, "Invalid request", message)


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str
    values: tuple[str, ...]
    raw: str

    def matches(self, document: Mapping[str, Any]) -> bool:
        found = list(_resolve(document, self.path))
        if self.op == "!=":
            return all(not _equals(item, self.values[0], self.raw) for item in found)
        if self.op == "==":
            return any(_equals(item, value, self.raw) for item in found for value in self.values)
        return any(_ordered(item, self.op, self.values[0], self.raw) for item in found)


@dataclass(frozen=True)
class ListQuery:
    conditions: tuple[Condition, ...] = ()
    order: tuple[str, ...] = ()
    descending: bool = False
    limit: int | None = None
    offset: int = 0
    count: bool = False
    raw_properties: tuple[str, ...] = field(default=())
    raw_orderby: str | None = None

    def next_token(self) -> str:
        state = {"p": list(self.raw_properties), "o": self.raw_orderby, "l": self.limit, "s": self.offset}
        return base64.urlsafe_b64encode(jsonutil.dumps(state)).decode().rstrip("=")


def parse_query(params: Sequence[tuple[str, str]]) -> ListQuery:
    """A list query from raw query parameters (repeated keys kept), or the documented 14xx error."""
    for key, _ in params:
        if key not in KNOWN_PARAMS:
            raise invalid("1451-400", f"Invalid params {key} provided in query params.")
    values: dict[str, list[str]] = {}
    for key, value in params:
        values.setdefault(key, []).append(value)
    if "continuationToken" in values:
        return _from_token(values["continuationToken"][-1])
    count = _boolean("count", values.get("count", ["false"])[-1])
    limit = _limit(values["limit"][-1]) if "limit" in values else None
    if count and limit is not None:
        raise invalid(
            "1401-400",
            "The limit and count parameters cannot be given together in the same request. "
            "Please provide either only the limit or the count parameter and try again.",
        )
    return _build(values.get("property", []), values.get("orderby", [None])[-1], limit, 0, count)


def _build(
    properties: list[str], orderby: str | None, limit: int | None, offset: int, count: bool
) -> ListQuery:
    conditions = tuple(parse_condition(text) for text in properties if text.strip())
    order, descending = parse_orderby(orderby)
    return ListQuery(conditions, order, descending, limit, offset, count, tuple(properties), orderby)


def _from_token(token: str) -> ListQuery:
    try:
        state = jsonutil.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return _build(list(state["p"]), state["o"], state["l"], int(state["s"]), False)
    except FlowError:
        raise
    except Exception as exc:
        raise invalid(
            "1453-400", f"Invalid query value continuationToken={token} provided in query param."
        ) from exc


def _boolean(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise invalid("1453-400", f"Invalid query value {name}={text} provided in query param.")


def _limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("1453-400", f"Invalid query value limit={text} provided in query param.")
    return limit


def parse_condition(text: str) -> Condition:
    match = _FILTER.match(text.strip())
    if match is None:
        raise invalid("1453-400", f"Invalid query value {text} provided in query param.")
    path, op, value = match.group("path").strip(), match.group("op"), match.group("value").strip()
    if "~" in op:
        raise invalid("1440-400", f"Operator '{op}' not implemented.")
    if op not in _OPERATORS:
        raise invalid("1450-400", f"Invalid operator {op} in filter params.")
    if not _PATH_RE.match(path):
        raise invalid("1449-400", f"Invalid field {path} in filter params.")
    if value == "":
        raise invalid("1453-400", f"Invalid query value {text} provided in query param.")
    values = tuple(_unquote(part) for part in _split_values(value))
    if len(values) > 1 and op != "==":
        raise invalid("1443-400", f"Operator '{op}' is not allowed for multiple values.")
    if any(v == "" for v in values):
        raise invalid("1452-400", f"Invalid value {value} for field {path}.")
    return Condition(tuple(path.split(".")), op, values, f"{value} for field {path}")


def _split_values(value: str) -> list[str]:
    """Split on commas outside quotes."""
    parts, current, quote = [], [], ""
    for char in value:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_orderby(text: str | None) -> tuple[tuple[str, ...], bool]:
    if text is None or text == "":
        return (), False
    # A literal '+' arrives as a space when the client did not percent-encode it.
    descending = text.startswith("-")
    name = text[1:] if text[:1] in "+- " else text
    if text[:1] in _WRONG_SORT_MARKS or text[-1:] in "+-":
        raise invalid(
            "1432-400",
            "Sort order specified is not correct, prepend + for ascending order and - for descending order "
            "in the fieldName.",
        )
    if not _PATH_RE.match(name) or "[]" in name:
        raise invalid(
            "1433-400", f"Incorrect field= {name} passed in orderBy, example are +name, -name, name."
        )
    return tuple(name.split(".")), descending


def _resolve(value: Any, path: tuple[str, ...]) -> Iterable[Any]:
    if not path:
        yield value
        return
    step, rest = path[0], path[1:]
    is_array = step.endswith("[]")
    key = step[:-2] if is_array else step
    if not isinstance(value, Mapping) or key not in value:
        return
    child = value[key]
    if is_array:
        if isinstance(child, list):
            for item in child:
                yield from _resolve(item, rest)
        return
    if isinstance(child, list) and rest:
        for item in child:  # tolerate a missing [] on arrays of objects
            yield from _resolve(item, rest)
        return
    yield from _resolve(child, rest)


def _coerce(actual: Any, text: str, raw: str) -> Any:
    """The filter value as the type of the stored value it is compared with."""
    if isinstance(actual, bool):
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise invalid("1452-400", f"Invalid value {raw}.")
        return lowered == "true"
    if isinstance(actual, int | float):
        try:
            return float(text) if "." in text or "e" in text.lower() else int(text)
        except ValueError:
            raise invalid("1452-400", f"Invalid value {raw}.") from None
    return text


def _equals(actual: Any, text: str, raw: str) -> bool:
    if isinstance(actual, dict | list) or actual is None:
        return actual is None and text.lower() == "null"
    return bool(actual == _coerce(actual, text, raw))


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _ordered(actual: Any, op: str, text: str, raw: str) -> bool:
    if isinstance(actual, dict | list | bool) or actual is None:
        return False
    return _COMPARE[op](actual, _coerce(actual, text, raw))


def _sort_key(path: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    def key(document: Mapping[str, Any]) -> tuple[int, Any]:
        found = next(iter(_resolve(document, path)), _MISSING)
        if found is _MISSING or found is None or isinstance(found, dict | list):
            return (2, "")
        if isinstance(found, int | float):
            return (0, found)
        return (1, str(found).lower())

    return key


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_href: str | None


def run_query(query: ListQuery, documents: Iterable[dict[str, Any]], collection_path: str) -> Page | int:
    """Filter, order and page ``documents`` (already in a stable default order); an int when counting."""
    selected = [doc for doc in documents if all(c.matches(doc) for c in query.conditions)]
    if query.count:
        return len(selected)
    if query.order:
        present = [d for d in selected if _sort_key(query.order)(d)[0] < 2]
        absent = [d for d in selected if _sort_key(query.order)(d)[0] == 2]
        present.sort(key=_sort_key(query.order), reverse=query.descending)
        selected = present + absent
    if query.limit is None:
        return Page(selected[query.offset :], None)
    end = query.offset + query.limit
    next_href = None
    if end < len(selected):
        following = ListQuery(
            query.conditions,
            query.order,
            query.descending,
            query.limit,
            end,
            False,
            query.raw_properties,
            query.raw_orderby,
        )
        next_href = f"{collection_path}?continuationToken={following.next_token()}"
    return Page(selected[query.offset : end], next_href)


def list_body(result: Page | int) -> dict[str, Any]:
    if isinstance(result, int):
        return {"count": result}
    links = {"next": {"href": result.next_href}} if result.next_href else {}
    return {"items": result.items, "_links": links}
