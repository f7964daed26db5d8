"""A small, real SOQL parser: a tokenizer and a recursive-descent parser for the subset the emulator serves.

The grammar (case-insensitive keywords)::

    query    := SELECT item ("," item)* FROM name [WHERE cond] [GROUP BY path ("," path)*]
                [ORDER BY order ("," order)*] [LIMIT int]
    item     := path [alias] | AGG "(" [path] ")" [alias]     AGG: COUNT COUNT_DISTINCT MIN MAX SUM AVG
                                                             (COUNT() alone: the totalSize form)
    cond     := and (OR and)*
    and      := unary (AND unary)*
    unary    := NOT unary | "(" cond ")" | path op value | path [NOT] IN "(" value ("," value)* ")"
                | path [NOT] LIKE string
    order    := (path | AGG "(" path ")") [ASC|DESC] [NULLS (FIRST|LAST)]
    value    := string | number | TRUE | FALSE | NULL | date | datetime     (dates are never quoted)

Anything outside it raises ``SoqlError`` carrying Salesforce's error code and the 1-based position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from headwater.core.errors import HeadwaterError

KEYWORDS = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "GROUP",
        "HAVING",
        "TRUE",
        "FALSE",
        "NULL",
        "INCLUDES",
        "EXCLUDES",
        "WITH",
        "USING",
        "SCOPE",
        "FOR",
        "TYPEOF",
    ]
)
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<string>'(?:\\.|[^'\\])*')
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),.:])""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(HeadwaterError):
    """A query Salesforce would refuse; ``code`` is its errorCode (MALFORMED_QUERY, INVALID_FIELD, ...)."""

    def __init__(self, code: str, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.pos = pos

    def render(self, soql: str) -> str:
        """Salesforce's layout: the offending line, a caret, the row/column, then the message."""
        if self.pos is None:
            return self.message
        before = soql[: self.pos]
        row = before.count("\n") + 1
        line_start = before.rfind("\n") + 1
        column = self.pos - line_start + 1
        line = soql[line_start:].split("\n", 1)[0]
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.message}"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | boolean | null | date | datetime
    value: Any
    pos: int


@dataclass(frozen=True)
class Comparison:
    path: FieldPath
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    path: FieldPath
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    path: FieldPath
    pattern: Literal
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    operands: tuple[Condition, ...]


Condition = Comparison | InList | Like | Not | BoolOp
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG"})


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(Id)``, ``SUM(Amount) total``...; ``path`` is None only for ``COUNT()``."""

    function: str  # upper case, one of AGGREGATES
    path: FieldPath | None
    pos: int
    alias: str | None = None


@dataclass(frozen=True)
class Selected:
    """A plain field of the SELECT list (an alias is allowed only in aggregate queries)."""

    path: FieldPath
    alias: str | None = None


SelectItem = Selected | Aggregate


@dataclass(frozen=True)
class OrderItem:
    path: FieldPath
    descending: bool
    nulls_first: bool
    function: str | None = None  # ORDER BY COUNT(Id) DESC


@dataclass(frozen=True)
class Query:
    items: tuple[SelectItem, ...]
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    group_by: tuple[FieldPath, ...] = ()

    @property
    def fields(self) -> tuple[FieldPath, ...]:
        """The plain fields of the SELECT list (a non-aggregate query has only these)."""
        return tuple(item.path for item in self.items if isinstance(item, Selected))

    @property
    def is_aggregate(self) -> bool:
        return bool(self.group_by) or any(isinstance(item, Aggregate) for item in self.items)


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{soql[pos]}'", pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(soql)))
    return tokens


def parse(soql: str) -> Query:
    return _Parser(tokenize(soql)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    # --- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, text: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != text:
            raise self.unexpected()
        return self.advance()

    def unexpected(self) -> SoqlError:
        text = self.tok.text or "<EOF>"
        return SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'", self.tok.pos)

    # --- grammar
    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields = [self.select_item()]
        while self.tok.text == ",":
            self.advance()
            fields.append(self.select_item())
        self.expect_keyword("FROM")
        if self.tok.kind != "ident" or self.tok.upper in KEYWORDS:
            raise self.unexpected()
        sobject = self.advance()
        where = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.condition()
        group: list[FieldPath] = []
        if self.at_keyword("GROUP"):
            self.advance()
            self.expect_keyword("BY")
            group.append(self.path())
            while self.tok.text == ",":
                self.advance()
                group.append(self.path())
        if self.at_keyword("HAVING"):
            raise SoqlError("MALFORMED_QUERY", "HAVING is not supported by this emulator", self.tok.pos)
        order: list[OrderItem] = []
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order.append(self.order_item())
            while self.tok.text == ",":
                self.advance()
                order.append(self.order_item())
        limit = None
        if self.at_keyword("LIMIT"):
            self.advance()
            if self.tok.kind != "number" or not self.tok.text.isdigit():
                raise self.unexpected()
            limit = int(self.advance().text)
        if self.tok.kind != "end":
            raise self.unexpected()
        return Query(tuple(fields), sobject.text, sobject.pos, where, tuple(order), limit, tuple(group))

    def select_item(self) -> SelectItem:
        if self.tok.text == "(":
            raise SoqlError(
                "MALFORMED_QUERY", "Nested queries are not supported by this emulator", self.tok.pos
            )
        path = self.path()
        if self.tok.text != "(":
            return Selected(path, self.alias())
        function = path.text.upper()
        if len(path.parts) != 1 or function not in AGGREGATES:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Function {path.text.upper()}() is not supported by this emulator",
                path.pos,
            )
        self.advance()
        argument = None if self.tok.text == ")" else self.path()
        self.expect_punct(")")
        if argument is None and function != "COUNT":
            raise SoqlError("MALFORMED_QUERY", "unexpected token: ')'", self.tokens[self.i - 1].pos)
        return Aggregate(function, argument, path.pos, self.alias())

    def alias(self) -> str | None:
        if self.tok.kind == "ident" and self.tok.upper not in KEYWORDS:
            return self.advance().text
        return None

    def path(self) -> FieldPath:
        if self.tok.kind != "ident" or self.tok.upper in KEYWORDS:
            raise self.unexpected()
        first = self.advance()
        parts = [first.text]
        while self.tok.text == ".":
            self.advance()
            if self.tok.kind != "ident":
                raise self.unexpected()
            parts.append(self.advance().text)
        return FieldPath(tuple(parts), first.pos)

    def order_item(self) -> OrderItem:
        path = self.path()
        function = None
        if self.tok.text == "(" and path.text.upper() in AGGREGATES and len(path.parts) == 1:
            function = path.text.upper()
            self.advance()
            path = self.path()
            self.expect_punct(")")
        descending = False
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().upper == "DESC"
        nulls_first = not descending
        if self.at_keyword("NULLS"):
            self.advance()
            if not self.at_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_first = self.advance().upper == "FIRST"
        return OrderItem(path, descending, nulls_first, function)

    def condition(self) -> Condition:
        operands = [self.conjunction()]
        while self.at_keyword("OR"):
            self.advance()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def conjunction(self) -> Condition:
        operands = [self.unary()]
        while self.at_keyword("AND"):
            self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def unary(self) -> Condition:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.unary())
        if self.tok.text == "(":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        path = self.path()
        negated = False
        if self.at_keyword("NOT"):
            self.advance()
            negated = True
            if not self.at_keyword("IN", "LIKE"):
                raise self.unexpected()
        if self.at_keyword("IN"):
            self.advance()
            self.expect_punct("(")
            values = [self.value()]
            while self.tok.text == ",":
                self.advance()
                values.append(self.value())
            self.expect_punct(")")
            return InList(path, tuple(values), negated)
        if self.at_keyword("LIKE"):
            self.advance()
            pattern = self.value()
            if pattern.kind != "string":
                raise SoqlError("MALFORMED_QUERY", "LIKE requires a quoted string", pattern.pos)
            return Like(path, pattern, negated)
        if self.tok.kind != "op":
            raise self.unexpected()
        op = self.advance().text
        return Comparison(path, "!=" if op == "<>" else op, self.value())

    def value(self) -> Literal:
        token = self.advance()
        if token.kind == "string":
            return Literal("string", _unescape(token.text[1:-1]), token.pos)
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            return Literal("number", number, token.pos)
        if token.kind == "date":
            return Literal("date", _parse_date(token), token.pos)
        if token.kind == "datetime":
            return Literal("datetime", _parse_datetime(token), token.pos)
        if token.kind == "ident" and token.upper in ("TRUE", "FALSE"):
            return Literal("boolean", token.upper == "TRUE", token.pos)
        if token.kind == "ident" and token.upper == "NULL":
            return Literal("null", None, token.pos)
        self.i -= 1
        raise self.unexpected()


def _unescape(body: str) -> str:
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        if nxt in ("%", "_"):  # LIKE wildcards stay escaped for the LIKE translation
            out.append("\\" + nxt)
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
        else:
            raise SoqlError("MALFORMED_QUERY", f"Invalid string literal escape sequence: \\{nxt}")
    return "".join(out)


def _parse_date(token: Token) -> date:
    try:
        return date.fromisoformat(token.text)
    except ValueError as exc:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"line 1:{token.pos} no viable alternative at character '{token.text}'",
            token.pos,
        ) from exc


def _parse_datetime(token: Token) -> datetime:
    text = token.text
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})", text)
    if match is None:
        raise SoqlError("MALFORMED_QUERY", f"invalid datetime literal: {text}", token.pos)
    base, fraction, zone = match.groups()
    try:
        value = datetime.fromisoformat(base)
    except ValueError as exc:
        raise SoqlError("MALFORMED_QUERY", f"invalid datetime literal: {text}", token.pos) from exc
    if fraction:
        value += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        value = value.replace(tzinfo=timezone(sign * offset))
    else:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None)
