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
    BoolOp,
    Comparison,
    Condition,
    FieldPath,
    InList,
    Like,
    Literal,
    Not,
    Query,
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
        columns = [self.column(path) for path in self.query.fields]
        where_sql = self.condition(self.query.where) if self.query.where is not None else None
        where_params = list(self.params)
        order = [self.order(item.path, item.descending, item.nulls_first) for item in self.query.order_by]
        plan = Plan(self.root, columns, self.joins, where_sql, where_params, order, self.query.limit)
        plan._join_sql = self.join_sql
        return plan

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
