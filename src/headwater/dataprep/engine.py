"""Data Prep mapping sets compiled into vectorised Arrow transforms.

A mapping set (both documented request forms: ``sourceAttribute``/``destinationXdmPath`` and
``sourceType``/``source``/``destination``) is validated against the source columns once, and compiled
into a function ``RecordBatch -> RecordBatch`` whose columns are the destination paths (dotted; the lake
nests them). Evaluation uses ``pyarrow.compute`` only: no Python per row.

Expressions follow Data Prep's syntax: field names are identifiers (``name.firstName`` for a dotted
column; ``${First Name}`` for any other name), string literals in double quotes (``\\"`` escapes),
numbers, ``true``/``false``/``null``, calls ``f(a, b)`` nested freely, and comparisons
(``== != < <= > >=``) joined by ``&&``/``||`` for ``iif`` conditions.

Every validation error is a ``MappingError`` (``Invalid`` with reason ``mapping.invalid``, which the API
answers as Flow Service's 1419-400 "mapping validation failed") whose details name the entry: ``{"mappingIndex": i, "destination": ...,
"reason": ...}``; reasons: ``SYNTAX``, ``UNKNOWN_SOURCE_FIELD``, ``UNKNOWN_FUNCTION``, ``WRONG_ARITY``,
``INVALID_DESTINATION``, ``DUPLICATE_DESTINATION``, ``INVALID_SOURCE_TYPE``, ``MISSING_SOURCE``,
``TYPE_MISMATCH``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from headwater.core.errors import Invalid

SOURCE_TYPES = ("ATTRIBUTE", "EXPRESSION", "CONSTANT")
_DESTINATION = re.compile(r"^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$")


class MappingError(Invalid):
    def __init__(self, message: str, reason: str, index: int | None = None, destination: Any = None) -> None:
        where = f"mapping #{index} ({destination!r}): " if index is not None else ""
        super().__init__(
            "mapping.invalid", where + message, mappingIndex=index, destination=destination, reason=reason
        )


class _ExprError(Exception):
    """Raised inside the parser/checker; re-raised as MappingError with the entry's position."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- expressions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]


Expr = Field | Literal | Call

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<braced>\$\{[^}]*\})
    | (?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>(),])
    )""",
    re.VERBOSE,
)
_COMPARISONS = {
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _ExprError(f"unexpected character {text[pos:].lstrip()[:1]!r} at {pos}", "SYNTAX")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> Expr:
        if not self.tokens:
            raise _ExprError("the expression is empty", "SYNTAX")
        expr = self._or()
        if self.pos != len(self.tokens):
            raise _ExprError(f"unexpected {self.tokens[self.pos][1]!r}", "SYNTAX")
        return expr

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise _ExprError("the expression ends too early", "SYNTAX")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _or(self) -> Expr:
        left = self._and()
        while self._peek() == "||":
            self._take()
            left = Call("or", (left, self._and()))
        return left

    def _and(self) -> Expr:
        left = self._comparison()
        while self._peek() == "&&":
            self._take()
            left = Call("and", (left, self._comparison()))
        return left

    def _comparison(self) -> Expr:
        left = self._primary()
        op = self._peek()
        if op in _COMPARISONS:
            self._take()
            return Call(_COMPARISONS[op], (left, self._primary()))
        return left

    def _primary(self) -> Expr:
        kind, text = self._take()
        if kind == "string":
            return Literal(re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "number":
            return Literal(float(text) if "." in text else int(text))
        if kind == "braced":
            return Field(text[2:-1])
        if kind == "name":
            if self._peek() == "(":
                return Call(text.lower(), self._arguments())
            keyword = {"true": True, "false": False, "null": None}
            return Literal(keyword[text]) if text in keyword else Field(text)
        if text == "(":
            inner = self._or()
            self._expect(")")
            return inner
        raise _ExprError(f"unexpected {text!r}", "SYNTAX")

    def _arguments(self) -> tuple[Expr, ...]:
        self._expect("(")
        args: list[Expr] = []
        if self._peek() == ")":
            self._take()
            return ()
        while True:
            args.append(self._or())
            if self._take()[1] == ")":
                return tuple(args)
            if self.tokens[self.pos - 1][1] != ",":
                raise _ExprError("expected ',' or ')' in an argument list", "SYNTAX")

    def _expect(self, text: str) -> None:
        if self._take()[1] != text:
            raise _ExprError(f"expected {text!r}", "SYNTAX")


def parse_expression(text: str) -> Expr:
    return _Parser(text).parse()


# --- functions ---------------------------------------------------------------------------------------

Value: TypeAlias = Any  # a pyarrow Array or Scalar (pyarrow ships no precise types)
Impl = Callable[..., Value]


def _text(value: Value) -> Value:
    if pa.types.is_string(value.type) or pa.types.is_large_string(value.type):
        return value
    if pa.types.is_null(value.type):
        return value.cast(pa.string())
    return pc.cast(value, pa.string())


def _concat(*args: Value) -> Value:
    return pc.binary_join_element_wise(
        *[_text(a) for a in args], "", null_handling="replace", null_replacement=""
    )


def _is_empty(value: Value) -> Value:
    return pc.or_kleene(pc.is_null(value), pc.equal(pc.utf8_length(_text(value)), 0))


_DATE_TOKENS = [
    ("yyyy", "%Y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("XXX", "%z"),
    ("Z", "%z"),
    ("X", "%z"),
]
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_UTC = pa.timestamp("ms", tz="UTC")


def _strptime_format(java: str) -> str:
    out, i = [], 0
    while i < len(java):
        if java[i] == "'":
            end = java.index("'", i + 1) if "'" in java[i + 1 :] else len(java)
            out.append(java[i + 1 : end])
            i = end + 1
            continue
        for token, directive in _DATE_TOKENS:
            if java.startswith(token, i):
                out.append(directive)
                i += len(token)
                break
        else:
            out.append(java[i].replace("%", "%%"))
            i += 1
    return "".join(out)


def _to_date(value: Value, fmt: Value | None = None, default: Value | None = None) -> Value:
    """Parse text into a UTC timestamp (ms); text that does not parse becomes null (or ``default``)."""
    if pa.types.is_timestamp(value.type):
        result = (
            pc.cast(value, _UTC)
            if value.type.tz
            else pc.assume_timezone(pc.cast(value, pa.timestamp("ms")), "UTC")
        )
    elif pa.types.is_date(value.type):
        result = pc.assume_timezone(pc.cast(value, pa.timestamp("ms")), "UTC")
    else:
        text = pc.replace_substring_regex(
            _text(value), r"\.\d{1,9}", ""
        )  # fractions: Arrow's strptime has no %f
        if fmt is None:
            result = _parse_iso(text)
        else:
            java = str(fmt.as_py()).replace(".SSS", "").replace(".SS", "").replace(".S", "")
            parsed = pc.strptime(text, format=_strptime_format(java), unit="ms", error_is_null=True)
            result = parsed if parsed.type.tz else pc.assume_timezone(parsed, "UTC")
    if default is not None:
        result = pc.coalesce(result, _to_date(default, fmt))
    return result


def _parse_iso(text: Value) -> Value:
    valid = pc.match_substring_regex(text, _ISO.pattern)
    text = pc.if_else(valid, text, pa.scalar(None, pa.string()))
    text = pc.replace_substring_regex(text, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    text = pc.replace_substring_regex(text, r"^(\d{4}-\d{2}-\d{2}) ", r"\1T")
    text = pc.replace_substring_regex(text, r"([+-]\d{2})(\d{2})$", r"\1:\2")
    zoned = pc.match_substring_regex(text, r"(Z|[+-]\d{2}:\d{2})$")
    text = pc.if_else(zoned, text, pc.binary_join_element_wise(text, "Z", ""))
    try:
        return pc.cast(text, _UTC)
    except pa.ArrowInvalid:  # a well-formed but impossible date (month 13): null it, row by row
        return pa.array([_parse_one(v) for v in text.to_pylist()], type=_UTC)


def _parse_one(value: str | None) -> Any:
    try:
        return pc.cast(pa.array([value]), _UTC)[0].as_py()
    except pa.ArrowInvalid:
        return None


def _substr(value: Value, start: Value, length: Value | None = None) -> Value:
    begin = int(start.as_py())
    stop = None if length is None else begin + int(length.as_py())
    return pc.utf8_slice_codeunits(_text(value), start=begin, stop=stop)


# name -> (implementation, min arity, max arity or None, arguments that must be literals)
FUNCTIONS: dict[str, tuple[Impl, int, int | None, tuple[int, ...]]] = {
    "lower": (lambda v: pc.utf8_lower(_text(v)), 1, 1, ()),
    "lcase": (lambda v: pc.utf8_lower(_text(v)), 1, 1, ()),
    "upper": (lambda v: pc.utf8_upper(_text(v)), 1, 1, ()),
    "ucase": (lambda v: pc.utf8_upper(_text(v)), 1, 1, ()),
    "trim": (lambda v: pc.utf8_trim_whitespace(_text(v)), 1, 1, ()),
    "ltrim": (lambda v: pc.utf8_ltrim_whitespace(_text(v)), 1, 1, ()),
    "rtrim": (lambda v: pc.utf8_rtrim_whitespace(_text(v)), 1, 1, ()),
    "length": (lambda v: pc.utf8_length(_text(v)), 1, 1, ()),
    "concat": (_concat, 1, None, ()),
    "substr": (_substr, 2, 3, (1, 2)),
    "coalesce": (lambda *v: pc.coalesce(*v), 1, None, ()),
    "is_empty": (_is_empty, 1, 1, ()),
    "is_null": (lambda v: pc.is_null(v), 1, 1, ()),
    "iif": (lambda c, a, b: pc.if_else(c, a, b), 3, 3, ()),
    "date": (_to_date, 1, 3, (1,)),
    "to_date": (_to_date, 1, 3, (1,)),
    "equal": (lambda a, b: pc.equal(a, b), 2, 2, ()),
    "not_equal": (lambda a, b: pc.not_equal(a, b), 2, 2, ()),
    "less": (lambda a, b: pc.less(a, b), 2, 2, ()),
    "less_equal": (lambda a, b: pc.less_equal(a, b), 2, 2, ()),
    "greater": (lambda a, b: pc.greater(a, b), 2, 2, ()),
    "greater_equal": (lambda a, b: pc.greater_equal(a, b), 2, 2, ()),
    "and": (lambda a, b: pc.and_kleene(a, b), 2, 2, ()),
    "or": (lambda a, b: pc.or_kleene(a, b), 2, 2, ()),
}


def _check(expr: Expr, columns: Mapping[str, pa.DataType]) -> None:
    if isinstance(expr, Field):
        if expr.name not in columns:
            raise _ExprError(f"unknown source field {expr.name!r}", "UNKNOWN_SOURCE_FIELD")
    elif isinstance(expr, Call):
        if expr.name not in FUNCTIONS:
            raise _ExprError(f"unknown function {expr.name!r}", "UNKNOWN_FUNCTION")
        _, low, high, literal_args = FUNCTIONS[expr.name]
        if len(expr.args) < low or (high is not None and len(expr.args) > high):
            expected = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise _ExprError(f"{expr.name}() takes {expected} arguments, got {len(expr.args)}", "WRONG_ARITY")
        for i, arg in enumerate(expr.args):
            if i in literal_args and not isinstance(arg, Literal):
                raise _ExprError(f"argument {i + 1} of {expr.name}() must be a literal", "TYPE_MISMATCH")
            _check(arg, columns)


def _evaluate(expr: Expr, batch: pa.RecordBatch) -> Value:
    if isinstance(expr, Field):
        return batch.column(expr.name)
    if isinstance(expr, Literal):
        return pa.scalar(expr.value)
    impl = FUNCTIONS[expr.name][0]
    return impl(*[_evaluate(arg, batch) for arg in expr.args])


# --- mapping sets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingRule:
    index: int
    source_type: str
    source: str
    destination: str


def normalise_rules(mappings: Sequence[Mapping[str, Any]]) -> list[MappingRule]:
    """Read both request forms into rules; structural errors name the entry."""
    if not isinstance(mappings, Sequence) or isinstance(mappings, str) or not mappings:
        raise MappingError("'mappings' must be a non-empty list", "MISSING_SOURCE")
    rules: list[MappingRule] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(mappings):
        if not isinstance(entry, Mapping):
            raise MappingError("a mapping must be an object", "MISSING_SOURCE", index)
        destination = entry.get("destination", entry.get("destinationXdmPath"))
        source = entry.get("source", entry.get("sourceAttribute"))
        source_type = str(entry.get("sourceType") or "ATTRIBUTE").upper()
        if not isinstance(destination, str) or not _DESTINATION.match(destination):
            raise MappingError(
                f"invalid destination path {destination!r}", "INVALID_DESTINATION", index, destination
            )
        if destination in seen:
            raise MappingError(
                f"destination {destination!r} is already mapped by mapping #{seen[destination]}",
                "DUPLICATE_DESTINATION",
                index,
                destination,
            )
        clash = next(
            (d for d in seen if d.startswith(destination + ".") or destination.startswith(d + ".")), None
        )
        if clash is not None:
            raise MappingError(
                f"destination {destination!r} overlaps {clash!r}", "INVALID_DESTINATION", index, destination
            )
        if source_type not in SOURCE_TYPES:
            raise MappingError(
                f"sourceType must be one of {', '.join(SOURCE_TYPES)}",
                "INVALID_SOURCE_TYPE",
                index,
                destination,
            )
        if source is None or (source_type != "CONSTANT" and not isinstance(source, str)):
            raise MappingError("the mapping has no source", "MISSING_SOURCE", index, destination)
        seen[destination] = index
        rules.append(
            MappingRule(index, source_type, source if isinstance(source, str) else str(source), destination)
        )
    return rules


@dataclass(frozen=True)
class _Compiled:
    rule: MappingRule
    expr: Expr


class CompiledMapping:
    """A validated mapping set: call it on a source batch to get the mapped (flat, dotted) batch."""

    def __init__(self, compiled: list[_Compiled], source_schema: pa.Schema) -> None:
        self._compiled = compiled
        self.source_schema = source_schema
        self.output_schema = self(_empty(source_schema)).schema

    @property
    def destinations(self) -> list[str]:
        return [c.rule.destination for c in self._compiled]

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = []
        for item in self._compiled:
            try:
                value = _evaluate(item.expr, batch)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, KeyError) as exc:
                raise MappingError(str(exc), "TYPE_MISMATCH", item.rule.index, item.rule.destination) from exc
            if isinstance(value, pa.Scalar):
                value = pa.repeat(value, batch.num_rows)
            if isinstance(value, pa.ChunkedArray):
                value = value.combine_chunks()
            arrays.append(value)
        return pa.RecordBatch.from_arrays(arrays, names=self.destinations)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


def compile_mapping_set(
    mappings: Sequence[Mapping[str, Any]], source: pa.Schema | Mapping[str, pa.DataType]
) -> CompiledMapping:
    """Validate ``mappings`` against the source columns (with their types) and compile them."""
    schema = source if isinstance(source, pa.Schema) else pa.schema(list(source.items()))
    columns = {f.name: f.type for f in schema}
    compiled: list[_Compiled] = []
    for rule in normalise_rules(mappings):
        try:
            if rule.source_type == "CONSTANT":
                expr: Expr = Literal(rule.source)
            elif rule.source_type == "ATTRIBUTE":
                name = (
                    rule.source[2:-1]
                    if rule.source.startswith("${") and rule.source.endswith("}")
                    else rule.source
                )
                expr = Field(name)
            else:
                expr = parse_expression(rule.source)
            _check(expr, columns)
        except _ExprError as exc:
            raise MappingError(str(exc), exc.reason, rule.index, rule.destination) from exc
        compiled.append(_Compiled(rule, expr))
    return CompiledMapping(compiled, schema)  # evaluating on an empty batch type-checks every entry


__all__ = [
    "FUNCTIONS",
    "CompiledMapping",
    "MappingError",
    "MappingRule",
    "compile_mapping_set",
    "normalise_rules",
    "parse_expression",
]
