"""Validate a parsed SOQL query against the catalogue and translate it to parameterised DuckDB SQL.

Values never reach the SQL text: every literal becomes a ``?`` parameter, and identifiers come only
from the catalogue (after a case-insensitive lookup), so the SQL is built from our own names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .catalog import find_object
from .schema import COMPOUND_TYPES, Field, SObject
from .soql import (
    Aggregate,
    BoolOp,
    Comparison,
    Condition,
    FieldPath,
    InList,
    Like,
    Literal,
    Not,
    Query,
    Selected,
    SoqlError,
    parse,
)

TEXT_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "reference",
        "email",
        "phone",
        "url",
        "combobox",
    }
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
LITERAL_FOR_TYPE = {"boolean": "boolean", "date": "date", "datetime": "datetime"}
TYPE_WORDS = {
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    "number": "number",
    "string": "string",
}


@dataclass(frozen=True)
class Column:
    """One selected field: its path (canonical names), the field, and its SQL expressions."""

    path: tuple[str, ...]
    field: Field
    exprs: tuple[str, ...]  # one per component for compound fields
    parts: tuple[str, ...] = ()  # compound part names, parallel to exprs

    @property
    def header(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Output:
    """One value of an AggregateResult record: its name (alias, ``exprN`` or the grouped field's name)."""

    name: str
    sql: str
    field: Field | None  # None for COUNT(...)
    function: str | None  # None for a grouped field


@dataclass
class AggregateSpec:
    """What an aggregate query (COUNT(), COUNT(f), MIN/MAX/SUM/AVG, GROUP BY) computes."""

    outputs: list[Output]
    group_sql: list[str]
    count_only: bool  # SELECT COUNT() ...: the answer is totalSize alone


@dataclass
class Plan:
    sobject: SObject
    columns: list[Column]
    joins: dict[tuple[str, ...], tuple[str, SObject]]  # relationship path -> (alias, parent object)
    where_sql: str | None
    params: list[Any]
    order_sql: list[str]
    limit: int | None
    _join_sql: list[str] = field(default_factory=list)
    aggregate: AggregateSpec | None = None

    def from_sql(self) -> str:
        return f'"{self.sobject.name}" t0' + "".join(" " + j for j in self._join_sql)

    def where(self, include_deleted: bool) -> str:
        clauses = [] if include_deleted else ['t0."IsDeleted" = false']
        if self.where_sql:
            clauses.append(f"({self.where_sql})")
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def select_sql(self, include_deleted: bool, extra: list[str], order: bool) -> str:
        select = [e for c in self.columns for e in c.exprs] + extra
        sql = f"SELECT {', '.join(select)} FROM {self.from_sql()}{self.where(include_deleted)}"
        if order and self.order_sql:
            sql += " ORDER BY " + ", ".join(self.order_sql)
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        return sql

    def aggregate_sql(self, include_deleted: bool) -> str:
        """The SQL of an aggregate query: one row per group (or one row), columns in output order."""
        spec = self.aggregate
        assert spec is not None
        where = self.where(include_deleted)
        group = (" GROUP BY " + ", ".join(spec.group_sql)) if spec.group_sql else ""
        if spec.count_only:
            inner = f"SELECT 1 FROM {self.from_sql()}{where}{group}"
            return f"SELECT count(*) FROM ({inner}{f' LIMIT {int(self.limit)}' if self.limit else ''})"
        select = ", ".join(f'{o.sql} AS "c{n}"' for n, o in enumerate(spec.outputs))
        sql = f"SELECT {select} FROM {self.from_sql()}{where}{group}"
        if self.order_sql:
            sql += " ORDER BY " + ", ".join(self.order_sql)
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        return sql


def plan_query(soql: str, *, bulk: bool = False) -> Plan:
    return _Planner(parse(soql), bulk).plan()


class _Planner:
    def __init__(self, query: Query, bulk: bool) -> None:
        self.query = query
        self.bulk = bulk
        root = find_object(query.sobject)
        if root is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
                query.sobject_pos,
            )
        self.root = root
        self.joins: dict[tuple[str, ...], tuple[str, SObject]] = {}
        self.join_sql: list[str] = []
        self.params: list[Any] = []

    def plan(self) -> Plan:
        if self.query.is_aggregate:
            return self.aggregate_plan()
        for item in self.query.items:
            if isinstance(item, Selected) and item.alias is not None:
                raise SoqlError(
                    "MALFORMED_QUERY", "Only aggregate expressions use field aliasing", item.path.pos
                )
        for order_item in self.query.order_by:
            if order_item.function is not None:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    "Ordered field must be grouped or aggregated: " + order_item.path.text,
                    order_item.path.pos,
                )
        columns = [self.column(path) for path in self.query.fields]
        where_sql = self.condition(self.query.where) if self.query.where is not None else None
        where_params = list(self.params)
        order = [self.order(item.path, item.descending, item.nulls_first) for item in self.query.order_by]
        plan = Plan(self.root, columns, self.joins, where_sql, where_params, order, self.query.limit)
        plan._join_sql = self.join_sql
        return plan

    # --- aggregates
    def aggregate_plan(self) -> Plan:
        if self.bulk:  # Salesforce: Bulk queries take no GROUP BY and no aggregate functions
            raise SoqlError("API_ERROR", "Aggregate queries are not supported in Bulk Query")
        items = self.query.items
        count_only = any(isinstance(i, Aggregate) and i.path is None for i in items)
        if count_only and len(items) > 1:
            first = next(i for i in items if isinstance(i, Aggregate) and i.path is None)
            raise SoqlError(
                "MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list", first.pos
            )
        grouped: dict[tuple[str, ...], str] = {}
        group_sql: list[str] = []
        for path in self.query.group_by:
            alias, f, canonical = self.resolve(path)
            if f.type in (
                "double",
                "currency",
                "percent",
                "textarea",
                "multipicklist",
                "base64",
                *COMPOUND_TYPES,
            ):
                raise SoqlError(
                    "MALFORMED_QUERY", f"field '{f.name}' can not be grouped in a query call", path.pos
                )
            grouped[canonical] = self.expr(alias, f)
            group_sql.append(grouped[canonical])
        outputs: list[Output] = []
        unnamed = 0
        for item in items:
            if isinstance(item, Selected):
                _, f, canonical = self.resolve(item.path)
                if canonical not in grouped:
                    raise SoqlError(
                        "MALFORMED_QUERY", f"Field must be grouped or aggregated: {f.name}", item.path.pos
                    )
                outputs.append(Output(item.alias or f.name, grouped[canonical], f, None))
                continue
            if item.path is None:
                continue
            name = item.alias
            if name is None:
                name, unnamed = f"expr{unnamed}", unnamed + 1
            f, sql = self.aggregate_expr(item.function, item.path)
            outputs.append(Output(name, sql, f, item.function))
        order = []
        for order_item in self.query.order_by:
            if order_item.function is not None:
                _, sql = self.aggregate_expr(order_item.function, order_item.path)
            else:
                _, f, canonical = self.resolve(order_item.path)
                if canonical not in grouped:
                    raise SoqlError(
                        "MALFORMED_QUERY",
                        f"Ordered field must be grouped or aggregated: {f.name}",
                        order_item.path.pos,
                    )
                sql = grouped[canonical]
            direction = "DESC" if order_item.descending else "ASC"
            order.append(f"{sql} {direction} NULLS {'FIRST' if order_item.nulls_first else 'LAST'}")
        where_sql = self.condition(self.query.where) if self.query.where is not None else None
        plan = Plan(self.root, [], self.joins, where_sql, list(self.params), order, self.query.limit)
        plan._join_sql = self.join_sql
        plan.aggregate = AggregateSpec(outputs, group_sql, count_only)
        return plan

    def aggregate_expr(self, function: str, path: FieldPath) -> tuple[Field, str]:
        alias, f, _ = self.resolve(path)
        numeric = f.type in NUMBER_TYPES
        refused = (
            f.type in COMPOUND_TYPES
            or f.type in ("base64", "multipicklist")
            or (f.type == "textarea" and f.length > 255)
            or (function in ("SUM", "AVG") and not numeric)
            or (function in ("MIN", "MAX") and f.type == "boolean")
        )
        if refused:
            raise SoqlError(
                "MALFORMED_QUERY", f"field {f.name} does not support aggregate operator {function}", path.pos
            )
        expr = self.expr(alias, f)
        sql = {
            "COUNT": f"count({expr})",
            "COUNT_DISTINCT": f"count(DISTINCT {expr})",
            "MIN": f"min({expr})",
            "MAX": f"max({expr})",
            "SUM": f"sum({expr})",
            "AVG": f"avg({expr})",
        }[function]
        return f, sql

    # --- resolution
    def resolve(self, path: FieldPath) -> tuple[str, Field, tuple[str, ...]]:
        """Return (alias, field, canonical path), adding LEFT JOINs for relationship steps."""
        sobject, alias, canonical = self.root, "t0", []
        for step in path.parts[:-1]:
            ref = sobject.relationships.get(step.lower())
            if ref is None or ref.reference_to is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{step}' in field path. If you are attempting to use a custom "
                    "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                    "your WSDL or the describe call for the appropriate names.",
                    path.pos,
                )
            canonical.append(ref.relationship_name or step)
            key = tuple(canonical)
            if key not in self.joins:
                parent = find_object(ref.reference_to)
                assert parent is not None
                new_alias = f"t{len(self.joins) + 1}"
                self.join_sql.append(
                    f'LEFT JOIN "{parent.name}" {new_alias} ON {new_alias}."Id" = {alias}."{ref.name}"'
                )
                self.joins[key] = (new_alias, parent)
            alias, sobject = self.joins[key]
        found = sobject.field(path.parts[-1])
        if found is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{path.parts[-1]}' on entity '{sobject.name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                "describe call for the appropriate names.",
                path.pos,
            )
        return alias, found, (*canonical, found.name)

    def expr(self, alias: str, f: Field) -> str:
        if f.parent_formula is not None:
            reference, parent, parent_field = f.parent_formula
            return f'(SELECT p."{parent_field}" FROM "{parent}" p WHERE p."Id" = {alias}."{reference}")'
        if f.formula is not None:
            return "(" + re.sub(r'"([A-Za-z0-9_]+)"', lambda m: f'{alias}."{m.group(1)}"', f.formula) + ")"
        return f'{alias}."{f.name}"'

    def column(self, path: FieldPath) -> Column:
        alias, f, canonical = self.resolve(path)
        if f.type in COMPOUND_TYPES:
            if self.bulk:
                raise SoqlError("API_ERROR", "Selecting compound data not supported in Bulk Query")
            sobject = self.joins[canonical[:-1]][1] if len(canonical) > 1 else self.root
            parts = tuple(p for p, _ in f.components)
            exprs = tuple(self.expr(alias, sobject.by_lower[c.lower()]) for _, c in f.components)
            return Column(canonical, f, exprs, parts)
        return Column(canonical, f, (self.expr(alias, f),))

    def order(self, path: FieldPath, descending: bool, nulls_first: bool) -> str:
        alias, f, _ = self.resolve(path)
        if f.type in COMPOUND_TYPES or f.type == "base64" or (f.type == "textarea" and f.length > 255):
            raise SoqlError("INVALID_FIELD", f"field '{f.name}' can not be sorted in a query call", path.pos)
        direction = "DESC" if descending else "ASC"
        return f"{self.expr(alias, f)} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}"

    # --- WHERE
    def condition(self, cond: Condition) -> str:
        if isinstance(cond, BoolOp):
            return "(" + f" {cond.op} ".join(self.condition(c) for c in cond.operands) + ")"
        if isinstance(cond, Not):
            return f"(NOT {self.condition(cond.operand)})"
        if isinstance(cond, Comparison):
            return self.comparison(cond)
        if isinstance(cond, InList):
            return self.in_list(cond)
        return self.like(cond)

    def filterable(self, path: FieldPath) -> tuple[str, Field]:
        alias, f, _ = self.resolve(path)
        if f.type in COMPOUND_TYPES or f.type == "base64" or (f.type == "textarea" and f.length > 255):
            raise SoqlError(
                "INVALID_FIELD", f"field '{f.name}' can not be filtered in a query call", path.pos
            )
        return alias, f

    def bind(self, f: Field, value: Literal) -> str:
        expected = _literal_kind(f)
        if value.kind not in (expected, "null"):
            quoted = (
                "should be enclosed in quotes" if expected == "string" else "should not be enclosed in quotes"
            )
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type {TYPE_WORDS[expected]} and {quoted}",
                value.pos,
            )
        self.params.append(value.value.lower() if expected == "string" else value.value)
        return "?"

    def comparison(self, cond: Comparison) -> str:
        alias, f = self.filterable(cond.path)
        column = self.expr(alias, f)
        if cond.value.kind == "null":
            if cond.op not in ("=", "!="):
                raise SoqlError("MALFORMED_QUERY", f"invalid operator on null: {cond.op}", cond.value.pos)
            return f"{column} IS {'NOT ' if cond.op == '!=' else ''}NULL"
        if f.type == "boolean" and cond.op not in ("=", "!="):
            raise SoqlError("INVALID_FIELD", f"invalid operator on boolean field '{f.name}'", cond.value.pos)
        placeholder = self.bind(f, cond.value)
        if _literal_kind(f) == "string":
            column = f"lower({column})"  # SOQL string comparison is case-insensitive
        op = "IS DISTINCT FROM" if cond.op == "!=" else cond.op
        return f"{column} {op} {placeholder}"

    def in_list(self, cond: InList) -> str:
        alias, f = self.filterable(cond.path)
        column = self.expr(alias, f)
        if _literal_kind(f) == "string":
            column = f"lower({column})"
        values = [v for v in cond.values if v.kind != "null"]
        has_null = len(values) != len(cond.values)
        items = ", ".join(self.bind(f, v) for v in values)
        inside = f"{column} IN ({items})" if values else "false"
        if has_null:
            inside = f"({inside} OR {column} IS NULL)"
        return f"(NOT coalesce({inside}, false))" if cond.negated else inside

    def like(self, cond: Like) -> str:
        alias, f = self.filterable(cond.path)
        if _literal_kind(f) != "string":
            raise SoqlError("INVALID_FIELD", f"invalid operator on field '{f.name}': LIKE", cond.path.pos)
        self.params.append(cond.pattern.value)
        clause = f"{self.expr(alias, f)} ILIKE ? ESCAPE '\\'"
        return f"(NOT coalesce({clause}, false))" if cond.negated else clause


def _literal_kind(f: Field) -> str:
    if f.type in NUMBER_TYPES:
        return "number"
    return LITERAL_FOR_TYPE.get(f.type, "string")
