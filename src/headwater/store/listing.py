"""List queries compiled to SQL: Adobe's ``property`` filters, ``orderby``, keyset pages and exact counts.

Grammar of one ``property`` value (contract §4): ``PATH OP VALUE`` with OP in ``== != < > <= >=``; PATH is
dotted and ``name[]`` steps into every element of an array; VALUE may be quoted; after ``==`` a comma
separates alternatives (any of). Several ``property`` parameters are ANDed.

Each resource kind declares a ``FieldMap``: which API path is which SQL expression. A path is either

* a typed column (``name``, ``state``, ``connectionSpec.id``, ``flowId``, ``metrics.recordSummary...``),
  compared with the value parsed as the column's type;
* a path inside a JSON column (``params.tableName``, ``transformations[].params.mappingId``), matched
  with SQL/JSON path semantics in *lax* mode: a key step on an array applies to each element, a missing
  key matches nothing. PostgreSQL runs ``jsonb_path_exists``; SQLite, whose JSON functions have no
  wildcard path match, runs the same semantics in ``hw_json_match``, a deterministic function the store
  registers on every SQLite connection (``store.db``);
* a correlated subquery (``lastRunDetails.startedAtUTC``) or a constant.

Paths no field covers are refused (1449), so a typo never silently returns an empty list. Ordering is by
one sortable column with the id as tie-breaker; pages are keyset pages (``after`` = the last row's sort
value and id), so a page never shifts when rows are added or removed and no row is ever scanned twice.
Counts are ``SELECT count(*)`` with the same conditions: exact at any size.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH

from headwater.core.errors import Invalid

KNOWN_PARAMS = frozenset({"property", "orderby", "limit", "continuationToken", "count"})
MAX_LIMIT = 1000
_STEP = r"[A-Za-z_@$][A-Za-z0-9_@$-]*(?:\[\])?"
_PATH_RE = re.compile(rf"^{_STEP}(?:\.{_STEP})*$")
_FILTER = re.compile(r"^(?P<path>[^=!<>~]*?)(?P<op>[=!<>~]+)(?P<value>.*)$", re.DOTALL)
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_WRONG_SORT_MARKS = frozenset("*!<>~^=")


# --- the grammar ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    each: bool  # written ``key[]``: step into every element


@dataclass(frozen=True)
class Condition:
    path: tuple[Step, ...]
    op: str
    values: tuple[str, ...]
    text: str  # the condition as written, for messages

    @property
    def dotted(self) -> str:
        return ".".join(step.key for step in self.path)


@dataclass(frozen=True)
class ListQuery:
    """A parsed list request. ``after`` is the keyset position (sort value, id) a continuation token
    carries; ``raw_*`` are the parameters as given, which a token repeats."""

    conditions: tuple[Condition, ...] = ()
    order: str | None = None
    descending: bool = False
    limit: int | None = None
    count: bool = False
    after: tuple[Any, str] | None = None
    raw_properties: tuple[str, ...] = ()
    raw_orderby: str | None = None


def invalid(reason: str, message: str) -> Invalid:
    return Invalid(reason, message)


def parse_list_params(
    params: Sequence[tuple[str, str]], *, known: frozenset[str] = KNOWN_PARAMS
) -> ListQuery:
    """A list query from raw query parameters (repeated keys kept), continuation tokens aside."""
    for key, _ in params:
        if key not in known:
            raise invalid("query.param_unknown", f"Invalid params {key} provided in query params.")
    values: dict[str, list[str]] = {}
    for key, value in params:
        values.setdefault(key, []).append(value)
    count = _boolean("count", values.get("count", ["false"])[-1])
    limit = parse_limit(values["limit"][-1]) if "limit" in values else None
    if count and limit is not None:
        raise invalid(
            "query.limit_with_count",
            "The limit and count parameters cannot be given together in the same request. "
            "Please provide either only the limit or the count parameter and try again.",
        )
    return build_query(values.get("property", []), values.get("orderby", [None])[-1], limit, count)


def build_query(
    properties: Sequence[str], orderby: str | None, limit: int | None, count: bool = False
) -> ListQuery:
    conditions = tuple(parse_condition(text) for text in properties if text.strip())
    order, descending = parse_orderby(orderby)
    return ListQuery(conditions, order, descending, limit, count, None, tuple(properties), orderby)


def _boolean(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise invalid("query.value_invalid", f"Invalid query value {name}={text} provided in query param.")


def parse_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("query.value_invalid", f"Invalid query value limit={text} provided in query param.")
    return limit


def parse_condition(text: str) -> Condition:
    match = _FILTER.match(text.strip())
    if match is None:
        raise invalid("query.value_invalid", f"Invalid query value {text} provided in query param.")
    path, op, value = match.group("path").strip(), match.group("op"), match.group("value").strip()
    if "~" in op:
        raise invalid("filter.operator_unimplemented", f"Operator '{op}' not implemented.")
    if op not in _OPERATORS:
        raise invalid("filter.operator_invalid", f"Invalid operator {op} in filter params.")
    if not _PATH_RE.match(path):
        raise invalid("filter.field_invalid", f"Invalid field {path} in filter params.")
    if value == "":
        raise invalid("query.value_invalid", f"Invalid query value {text} provided in query param.")
    values = tuple(_unquote(part) for part in _split_values(value))
    if len(values) > 1 and op != "==":
        raise invalid(
            "filter.operator_multiple_values", f"Operator '{op}' is not allowed for multiple values."
        )
    if any(v == "" for v in values):
        raise invalid("filter.value_invalid", f"Invalid value {value} for field {path}.")
    steps = tuple(Step(part.removesuffix("[]"), part.endswith("[]")) for part in path.split("."))
    return Condition(steps, op, values, f"{value} for field {path}")


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


def parse_orderby(text: str | None) -> tuple[str | None, bool]:
    if text is None or text == "":
        return None, False
    # A literal '+' arrives as a space when the client did not percent-encode it.
    descending = text.startswith("-")
    name = text[1:] if text[:1] in "+- " else text
    if text[:1] in _WRONG_SORT_MARKS or text[-1:] in "+-":
        raise invalid(
            "orderby.direction_invalid",
            "Sort order specified is not correct, prepend + for ascending order and - for descending order "
            "in the fieldName.",
        )
    if not _PATH_RE.match(name) or "[]" in name:
        raise invalid(
            "orderby.field_invalid",
            f"Incorrect field= {name} passed in orderBy, example are +name, -name, name.",
        )
    return name, descending


# --- fields: API paths -> SQL -----------------------------------------------------------------------------

ColumnType = type[str] | type[int] | type[bool]
#: A column, an ORM attribute or any SQL expression (a correlated scalar subquery).
SqlExpr = Any


@dataclass(frozen=True)
class Column:
    """A typed scalar (a column, or a correlated scalar subquery). ``array``: the API shows it as a
    one-element list (``sourceConnectionIds``), matched with or without ``[]``."""

    expr: SqlExpr
    type: ColumnType = str
    sortable: bool = False
    nullable: bool = False
    array: bool = False


@dataclass(frozen=True)
class Json:
    """A JSON column holding the document below this path (an object, or an array: ``transformations``)."""

    expr: SqlExpr


@dataclass(frozen=True)
class Constant:
    """A value every row shows alike (``inheritedAttributes.properties.isSourceFlow``)."""

    value: Any


Field = Column | Json | Constant


@dataclass(frozen=True)
class FieldMap:
    """The filterable and sortable paths of one resource kind, and its default order."""

    fields: Mapping[str, Field]
    id_column: SqlExpr
    default_order: str
    default_descending: bool = False

    def resolve(self, steps: Sequence[Step]) -> tuple[Field, tuple[Step, ...], Step]:
        """The field for the longest known prefix of ``steps``; the rest of the path; the prefix's last step."""
        for size in range(len(steps), 0, -1):
            key = ".".join(step.key for step in steps[:size])
            found = self.fields.get(key)
            if found is not None:
                return found, tuple(steps[size:]), steps[size - 1]
        dotted = ".".join(step.key for step in steps)
        raise invalid("filter.field_invalid", f"Invalid field {dotted} in filter params.")

    def sort_column(self, name: str | None) -> Column:
        found = self.fields.get(name or self.default_order)
        if not isinstance(found, Column) or not found.sortable:
            raise invalid(
                "orderby.field_invalid",
                f"Incorrect field= {name} passed in orderBy, example are +name, -name, name.",
            )
        return found


def compile_condition(condition: Condition, fields: FieldMap, dialect: str) -> sa.ColumnElement[bool]:
    found, rest, last = fields.resolve(condition.path)
    if isinstance(found, Constant):
        return sa.true() if _python_match(found.value, rest, condition) else sa.false()
    if isinstance(found, Json):
        if not rest and not last.each:
            raise invalid("filter.field_invalid", f"Invalid field {condition.dotted} in filter params.")
        steps = ((Step("", True),) if last.each else ()) + rest
        return _json_condition(found.expr, steps, condition, dialect)
    if rest or (last.each and not found.array):
        raise invalid("filter.field_invalid", f"Invalid field {condition.dotted} in filter params.")
    return _column_condition(found, condition)


def _column_condition(column: Column, condition: Condition) -> sa.ColumnElement[bool]:
    expr, op = column.expr, condition.op
    if op in ("==", "!="):
        nulls = any(v.lower() == "null" for v in condition.values)
        typed = [_typed(column.type, v, condition) for v in condition.values if v.lower() != "null"]
        clauses: list[sa.ColumnElement[bool]] = []
        if typed:
            clauses.append(expr.in_(typed) if len(typed) > 1 else expr == typed[0])
        if nulls:
            clauses.append(expr.is_(None))
        matched = sa.or_(*clauses)
        if op == "==":
            return matched
        # "!=" holds when no shown value equals: a missing (NULL) value is unequal to anything but null.
        if nulls:
            return expr.is_not(None)
        return sa.or_(expr != typed[0], expr.is_(None)) if column.nullable else expr != typed[0]
    if column.type is bool:
        return sa.false()
    value = _typed(column.type, condition.values[0], condition)
    return {"<": expr < value, ">": expr > value, "<=": expr <= value, ">=": expr >= value}[op]


def _typed(kind: ColumnType, text: str, condition: Condition) -> Any:
    if kind is str:
        return text
    if kind is bool:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise invalid("filter.value_invalid", f"Invalid value {condition.text}.")
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise invalid("filter.value_invalid", f"Invalid value {condition.text}.") from None


# --- JSON paths ------------------------------------------------------------------------------------------


def _variants(text: str) -> dict[str, Any]:
    """The filter value as each JSON type it could be compared with: string, number, boolean, null."""
    found: dict[str, Any] = {"s": text}
    try:
        found["n"] = int(text)
    except ValueError:
        try:
            number = float(text)
            if number == number and number not in (float("inf"), float("-inf")):
                found["n"] = number
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        found["b"] = text.lower() == "true"
    if text.lower() == "null":
        found["z"] = None
    return found


def _json_condition(
    expr: SqlExpr, steps: tuple[Step, ...], condition: Condition, dialect: str
) -> sa.ColumnElement[bool]:
    equal_ops = condition.op in ("==", "!=")
    if dialect == "postgresql":
        path = "lax $" + "".join(
            ("." + _quoted(s.key) if s.key else "") + ("[*]" if s.each else "") for s in steps
        )
        tests, variables = [], {}
        for index, text in enumerate(condition.values if equal_ops else condition.values[:1]):
            for kind, value in _variants(text).items():
                if kind == "z":
                    tests.append("@ == null")
                    continue
                if not equal_ops and kind in ("b",):
                    continue
                name = f"{kind}{index}"
                variables[name] = value
                tests.append(f"@ {'==' if equal_ops else condition.op} ${name}")
        predicate = f"{path} ? ({' || '.join(tests) or 'false'})"
        exists: sa.ColumnElement[Any] = sa.func.coalesce(
            sa.func.jsonb_path_exists(
                expr,
                sa.cast(sa.literal(predicate), JSONPATH),
                sa.cast(sa.literal(orjson.dumps(variables).decode()), JSONB),
                sa.true(),
            ),
            sa.false(),
        )
    else:
        spec = orjson.dumps([[s.key, s.each] for s in steps]).decode()
        op = "==" if condition.op == "!=" else condition.op
        values = orjson.dumps(list(condition.values)).decode()
        exists = sa.func.hw_json_match(expr, spec, op, values) == 1
    return sa.not_(exists) if condition.op == "!=" else exists


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# The Python side of the lax semantics: SQLite's hw_json_match and the in-memory catalogs use it.


def _walk(value: Any, steps: Sequence[Step]) -> list[Any]:
    items = [value]
    for step in steps:
        found: list[Any] = []
        for item in items:
            if step.key:
                for element in item if isinstance(item, list) else [item]:
                    if isinstance(element, dict) and step.key in element:
                        found.append(element[step.key])
            else:
                found.append(item)
        if step.each:
            found = [e for item in found for e in (item if isinstance(item, list) else [item])]
        items = found
    return items


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flatten(value)
        else:
            yield value


def _compare(actual: Any, op: str, text: str) -> bool:
    variants = _variants(text)
    if isinstance(actual, bool):
        return op == "==" and variants.get("b", None) is actual
    if actual is None:
        return op == "==" and "z" in variants
    if isinstance(actual, int | float):
        if "n" not in variants:
            return False
        return _ORDER[op](actual, variants["n"])
    if isinstance(actual, str):
        return _ORDER[op](actual, text)
    return False


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


def _python_match(value: Any, steps: Sequence[Step], condition: Condition) -> bool:
    op = "==" if condition.op == "!=" else condition.op
    candidates = condition.values if op == "==" else condition.values[:1]
    found = list(_flatten(_walk(value, steps)))
    hit = any(_compare(actual, op, text) for actual in found for text in candidates)
    return not hit if condition.op == "!=" else hit


@functools.lru_cache(maxsize=512)
def _steps(spec: str) -> tuple[Step, ...]:
    return tuple(Step(str(key), bool(each)) for key, each in orjson.loads(spec))


@functools.lru_cache(maxsize=512)
def _values(values: str) -> tuple[str, ...]:
    return tuple(str(v) for v in orjson.loads(values))


def hw_json_match(document: str | bytes | None, spec: str, op: str, values: str) -> int:
    """SQLite: 1 when a value at the lax path ``spec`` (JSON ``[[key, each], ...]``) compares ``op``-wise
    with one of ``values`` (JSON list of strings), else 0. Registered on every SQLite connection."""
    if document is None:
        return 0
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:
        return 0
    condition = Condition(_steps(spec), op, _values(values), "")
    return 1 if _python_match(parsed, condition.path, condition) else 0


# --- pages -----------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of rows; ``after`` is the keyset position of the next page, or None on the last."""

    rows: list[Any]
    after: tuple[Any, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def where(query: ListQuery, fields: FieldMap, dialect: str) -> list[sa.ColumnElement[bool]]:
    return [compile_condition(condition, fields, dialect) for condition in query.conditions]


def order_clauses(query: ListQuery, fields: FieldMap) -> tuple[Column, bool, list[sa.ColumnElement[Any]]]:
    column = fields.sort_column(query.order)
    descending = query.descending if query.order else fields.default_descending
    sort_expr = sa.func.lower(column.expr) if column.type is str else column.expr
    keys = [sort_expr, fields.id_column]
    return column, descending, [k.desc() if descending else k.asc() for k in keys]


def keyset(query: ListQuery, fields: FieldMap) -> sa.ColumnElement[bool] | None:
    if query.after is None:
        return None
    column, descending, _ = order_clauses(query, fields)
    value, last_id = query.after
    if column.type is str:
        value = str(value).lower()
    else:
        try:
            value = _typed(column.type, str(value), _TOKEN)
        except Invalid:
            raise invalid(
                "query.token_invalid", "Invalid query value continuationToken provided in query param."
            ) from None
    sort_expr = sa.func.lower(column.expr) if column.type is str else column.expr
    row, mark = sa.tuple_(sort_expr, fields.id_column), sa.tuple_(sa.literal(value), sa.literal(str(last_id)))
    return row < mark if descending else row > mark


_TOKEN = Condition((), "==", (), "continuationToken")


def fetch_page(
    db: Any, base: sa.Select[Any], query: ListQuery, fields: FieldMap, *, default_limit: int, entity: bool
) -> Page:
    """Run ``base`` (a scoped select) with the query's conditions, order and keyset page.

    ``entity``: ``base`` selects one ORM entity, and the page's rows are those objects; otherwise they
    are Core rows. One extra row is fetched to know whether a next page exists.
    """
    dialect = db.get_bind().dialect.name if hasattr(db, "get_bind") else db.dialect.name
    column, _, ordering = order_clauses(query, fields)
    sort_expr = sa.func.lower(column.expr) if column.type is str else column.expr
    stmt = base.add_columns(sort_expr.label("hw_sort"), fields.id_column.label("hw_id"))
    stmt = stmt.where(*where(query, fields, dialect))
    mark = keyset(query, fields)
    if mark is not None:
        stmt = stmt.where(mark)
    limit = query.limit or default_limit
    found = db.execute(stmt.order_by(*ordering).limit(limit + 1)).all()
    rows = found[:limit]
    after = (rows[-1].hw_sort, str(rows[-1].hw_id)) if len(found) > limit else None
    return Page([row[0] for row in rows] if entity else list(rows), after)


def count_rows(db: Any, base: sa.Select[Any], query: ListQuery, fields: FieldMap) -> int:
    """Exact count of the rows ``base`` selects under the query's conditions."""
    dialect = db.get_bind().dialect.name if hasattr(db, "get_bind") else db.dialect.name
    stmt = sa.select(sa.func.count()).select_from(base.where(*where(query, fields, dialect)).subquery())
    return int(db.execute(stmt).scalar_one())


def select_documents(
    documents: Sequence[Mapping[str, Any]], query: ListQuery, sortable: Mapping[str, str]
) -> tuple[list[Mapping[str, Any]], tuple[Any, str] | None] | int:
    """The same query over documents held in memory (built-in spec catalogs): filter, order, keyset page.

    ``sortable`` maps a sortable field to its document key; without ``orderby`` the documents keep
    their given order (the keyset position is then the document's index). Documents need an ``id``."""
    selected = [
        (index, d)
        for index, d in enumerate(documents)
        if all(_python_match(d, c.path, c) for c in query.conditions)
    ]
    if query.count:
        return len(selected)
    if query.order is not None and query.order not in sortable:
        raise invalid(
            "orderby.field_invalid",
            f"Incorrect field= {query.order} passed in orderBy, example are +name, -name, name.",
        )

    def key(item: tuple[int, Mapping[str, Any]]) -> tuple[Any, str]:
        index, document = item
        if query.order is None:
            return index, str(document.get("id", ""))
        return str(document.get(sortable[query.order], "")).lower(), str(document.get("id", ""))

    selected.sort(key=key, reverse=query.descending)
    if query.after is not None:
        mark = query.after if query.order is not None else (int(query.after[0]), str(query.after[1]))
        selected = [item for item in selected if (key(item) < mark if query.descending else key(item) > mark)]
    if query.limit is None or len(selected) <= query.limit:
        return [d for _, d in selected], None
    page = selected[: query.limit]
    return [d for _, d in page], key(page[-1])


__all__ = [
    "KNOWN_PARAMS",
    "MAX_LIMIT",
    "Column",
    "Condition",
    "Constant",
    "FieldMap",
    "Json",
    "ListQuery",
    "Page",
    "Step",
    "build_query",
    "compile_condition",
    "count_rows",
    "fetch_page",
    "hw_json_match",
    "keyset",
    "order_clauses",
    "parse_condition",
    "parse_limit",
    "parse_list_params",
    "parse_orderby",
    "select_documents",
    "where",
]
