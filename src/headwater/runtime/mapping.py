"""Data Prep mapping sets compiled into vectorised Arrow transforms.

Error codes (ValidationFailed, HTTP 400), each message names the mapping entry index:
  2000-400 unknown source field; 2001-400 unknown function; 2002-400 wrong arity;
  2003-400 bad destination path; 2004-400 duplicate destination; 2005-400 expression syntax;
  2006-400 malformed mapping entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.core.errors import ValidationFailed

Expr = Callable[[pa.RecordBatch], pa.Array | pa.Scalar]
_PATH = re.compile(r"^[A-Za-z_][\w\-]*(\.[A-Za-z_][\w\-]*)*$")
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w.]*)|(?P<op>[(),]))'
)


def _str(x: pa.Array | pa.Scalar) -> pa.Array | pa.Scalar:
    return pc.cast(x, pa.string())


def _concat(*args: pa.Array | pa.Scalar) -> pa.Array | pa.Scalar:
    return pc.binary_join_element_wise(*[_str(a) for a in args], "")


def _to_date(value: pa.Array | pa.Scalar, fmt: pa.Scalar | None = None) -> pa.Array | pa.Scalar:
    # Data Prep formats are Java-style; the common tokens are translated to strptime.
    pattern = "%Y-%m-%d"
    if fmt is not None:
        pattern = str(fmt.as_py())
        for java, c in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")):
            pattern = pattern.replace(java, c)
    stamp = pc.strptime(_str(value), format=pattern, unit="s", error_is_null=True)
    return pc.cast(stamp, pa.date32())


def _iif(
    cond: pa.Array | pa.Scalar, a: pa.Array | pa.Scalar, b: pa.Array | pa.Scalar
) -> pa.Array | pa.Scalar:
    return pc.if_else(cond, a, b)


# name -> (function, min arity, max arity or None for any)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "lower": (lambda x: pc.utf8_lower(_str(x)), 1, 1),
    "upper": (lambda x: pc.utf8_upper(_str(x)), 1, 1),
    "trim": (lambda x: pc.utf8_trim_whitespace(_str(x)), 1, 1),
    "ltrim": (lambda x: pc.utf8_ltrim_whitespace(_str(x)), 1, 1),
    "rtrim": (lambda x: pc.utf8_rtrim_whitespace(_str(x)), 1, 1),
    "length": (lambda x: pc.utf8_length(_str(x)), 1, 1),
    "concat": (_concat, 1, None),
    "to_date": (_to_date, 1, 2),
    "iif": (_iif, 3, 3),
    "is_empty": (lambda x: pc.fill_null(pc.equal(pc.utf8_length(_str(x)), 0), True), 1, 1),
    "eq": (pc.equal, 2, 2),
    "coalesce": (pc.coalesce, 1, None),
}


class _Parser:
    def __init__(self, text: str, columns: Mapping[str, pa.DataType], where: str) -> None:
        self.columns, self.where, self.pos = columns, where, 0
        self.tokens: list[tuple[str, str]] = []
        text = text.strip()
        while self.pos < len(text):
            m = _TOKEN.match(text, self.pos)
            if not m or m.end() == self.pos:
                self._fail(f"unexpected character at {self.pos}: {text[self.pos : self.pos + 10]!r}")
            assert m is not None
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            self.pos = m.end()
        self.i = 0

    def _fail(self, msg: str, code: str = "2005-400") -> None:
        raise ValidationFailed(f"{self.where}: {msg}", code=code)

    def _next(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            self._fail("unexpected end of expression")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Expr:
        expr = self._expr()
        if self.i != len(self.tokens):
            self._fail(f"unexpected {self.tokens[self.i][1]!r}")
        return expr

    def _expr(self) -> Expr:
        kind, text = self._next()
        if kind == "str":
            lit = pa.scalar(bytes(text[1:-1], "utf-8").decode("unicode_escape"), pa.string())
            return lambda b: lit
        if kind == "num":
            num = pa.scalar(float(text) if "." in text else int(text))
            return lambda b: num
        if kind == "name" and self.i < len(self.tokens) and self.tokens[self.i][1] == "(":
            return self._call(text)
        if kind == "name":
            if text in ("true", "false"):
                flag = pa.scalar(text == "true")
                return lambda b: flag
            return _column(text, self.columns, self.where)
        self._fail(f"unexpected {text!r}")
        raise AssertionError

    def _call(self, name: str) -> Expr:
        self._next()  # "("
        args: list[Expr] = []
        if self.i < len(self.tokens) and self.tokens[self.i][1] == ")":
            self._next()
        else:
            while True:
                args.append(self._expr())
                _, sep = self._next()
                if sep == ")":
                    break
                if sep != ",":
                    self._fail(f"expected ',' or ')' in {name}(), got {sep!r}")
        spec = FUNCTIONS.get(name.lower())
        if spec is None:
            self._fail(f"unknown function {name!r}", "2001-400")
        assert spec is not None
        fn, lo, hi = spec
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else f"{lo}..{hi if hi is not None else 'n'}"
            self._fail(f"{name}() takes {want} arguments, got {len(args)}", "2002-400")
        return lambda b: fn(*[a(b) for a in args])


def _column(name: str, columns: Mapping[str, pa.DataType], where: str) -> Expr:
    if name not in columns:
        raise ValidationFailed(f"{where}: unknown source field {name!r}", code="2000-400")
    return lambda b: b.column(name)


def _constant(value: pa.Scalar) -> Expr:
    return lambda b: value


@dataclass(frozen=True)
class CompiledMapping:
    destinations: list[str]
    exprs: list[Expr]

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Columns named by destination path (dotted); nest them with `headwater.lake.nest_dotted`."""
        arrays: list[pa.Array] = []
        for expr in self.exprs:
            value = expr(batch)
            if isinstance(value, pa.Scalar):
                value = pa.repeat(value, batch.num_rows)
            elif isinstance(value, pa.ChunkedArray):
                value = value.combine_chunks()
            arrays.append(value)
        return pa.RecordBatch.from_arrays(arrays, names=self.destinations)


def _entry(raw: Any, where: str) -> tuple[str, str, str]:
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: a mapping must be an object", code="2006-400")
    if "sourceAttribute" in raw or "destinationXdmPath" in raw:
        kind = str(raw.get("sourceType", "ATTRIBUTE")).upper()
        source, dest = raw.get("sourceAttribute"), raw.get("destinationXdmPath")
    else:
        kind = str(raw.get("sourceType", "ATTRIBUTE")).upper()
        source, dest = raw.get("source"), raw.get("destination")
    if not isinstance(source, str) or not isinstance(dest, str):
        raise ValidationFailed(f"{where}: source and destination must be strings", code="2006-400")
    if kind not in ("ATTRIBUTE", "EXPRESSION", "CONSTANT"):
        raise ValidationFailed(f"{where}: unknown sourceType {kind!r}", code="2006-400")
    return kind, source, dest


def compile_mapping(mappings: list[Any], columns: Mapping[str, pa.DataType]) -> CompiledMapping:
    """Validate every entry against the source columns, then build the transform."""
    destinations: list[str] = []
    exprs: list[Expr] = []
    for index, raw in enumerate(mappings):
        where = f"mappings[{index}]"
        kind, source, dest = _entry(raw, where)
        if not _PATH.match(dest):
            raise ValidationFailed(f"{where}: bad destination path {dest!r}", code="2003-400")
        if dest in destinations:
            raise ValidationFailed(f"{where}: duplicate destination {dest!r}", code="2004-400")
        if kind == "ATTRIBUTE":
            exprs.append(_column(source, columns, where))
        elif kind == "CONSTANT":
            exprs.append(_constant(pa.scalar(source, pa.string())))
        else:
            exprs.append(_Parser(source, columns, where).parse())
        destinations.append(dest)
    return CompiledMapping(destinations, exprs)
