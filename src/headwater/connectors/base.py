"""The connector contract: what every source offers the runtime and the API.

A connector is built from one base connection's auth params (``connector_class(params, settings)``)
and offers three operations:

* ``check()`` -> ``CheckResult(ok, reason)``: can we log in and list objects? Never raises for
  bad credentials or unreachable hosts; the reason is written for a person and holds no secret.
* ``explore(object_type, object=None, preview=False)``: ``"root"`` -> list of ``ExploreItem``;
  ``"table"`` -> ``TableSchema`` (columns, and preview rows when asked).
* ``read(table, columns, cursor)`` -> ``ReadStream``: an iterator of ``ReadBatch`` (Arrow upserts plus
  the primary keys of deleted rows). When the iterator is exhausted, ``stream.cursor`` holds the cursor
  to store and ``stream.stopped`` says why the read ended early (API budget) or is ``None``.

Optional capabilities (a connector that lacks one keeps the defaults, and flows skip the feature):

* ``source_keys(table)`` -> ``KeyStream``: every primary key that exists at the source now, for
  hard-delete reconciliation; ``stream.complete`` tells whether the list arrived whole.
* ``formula_columns(table, columns)``: the columns whose values change without the record's change
  stamp moving (Salesforce formula fields); ``read_columns(table, columns)`` reads the primary key plus
  those columns for every record (a cheap, column-limited full read) to refresh them.

Deletes are a separate stream of keys (``ReadBatch.deletes``), never mixed into the upsert batches:
the lake writer applies ``upsert(batch)`` and ``delete(keys)``. Reads are at-least-once: a batch may
be delivered twice after a retry; the runner's merge on the primary key makes that harmless.

Errors follow ``core.errors``' recovery classes: ``TerminalError`` (fix the settings),
``TransientError`` (retry the run later), ``SkippableError`` (skip this table or column).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pyarrow as pa

from headwater.core.errors import Invalid, UnsupportedBySource

Cursor = dict[str, Any]
"""Opaque to the runner; JSON-serialisable; ``None`` means "read everything".

One shape is shared by every connector: :func:`changed_since` (``{"since": ISO-8601}``), which the runner
hands to the first run of a flow without backfill: only records created or changed at or after that
instant, on whatever change-tracking field the source has.
"""

SINCE = "since"


def changed_since(epoch_seconds: int) -> Cursor:
    """The cursor of "records changed at or after ``epoch_seconds``" (no look-back: a hard lower bound)."""
    instant = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return {SINCE: instant.isoformat()}


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class ExploreItem:
    """One object of ``objectType=root``: ``name`` is the label, ``path`` the API name."""

    name: str
    path: str
    type: str = "table"
    can_preview: bool = True
    can_fetch_schema: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "path": self.path,
            "canPreview": self.can_preview,
            "canFetchSchema": self.can_fetch_schema,
        }


@dataclass(frozen=True)
class Column:
    """A source column: its explore type (``string``/``boolean``/...), Arrow type and XDM type."""

    name: str
    type: str
    arrow_type: pa.DataType
    xdm: Mapping[str, Any]
    original_type: str
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "type": self.type, "xdm": dict(self.xdm)}
        if self.xdm.get("format") in ("date-time", "date"):
            body["meta:xdmType"] = self.xdm["format"]
        body["meta"] = {"originalType": self.original_type}
        return body


@dataclass
class TableSchema:
    columns: list[Column]
    data: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"format": "flat", "schema": {"columns": [c.to_json() for c in self.columns]}}
        if self.data is not None:
            body["data"] = self.data
        return body

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])


_EMPTY_KEYS = pa.array([], pa.string())


@dataclass(frozen=True)
class ReadBatch:
    """Rows to upsert and primary keys to delete; either may be empty."""

    upserts: pa.RecordBatch | None = None
    deletes: pa.Array = field(default_factory=lambda: _EMPTY_KEYS)


class ReadStream(Iterator[ReadBatch]):
    """Iterates the batches of one read; afterwards ``cursor`` and ``stopped`` are final."""

    def __init__(self, batches: Iterator[ReadBatch], cursor: Cursor | None) -> None:
        self._batches = batches
        self.cursor: Cursor | None = cursor
        self.stopped: str | None = None
        self.primary_key: str = "Id"
        self.api_calls = 0  # source API calls the read made (known once exhausted; 0 if not counted)

    def __next__(self) -> ReadBatch:
        return next(self._batches)


class KeyStream(Iterator[pa.Array]):
    """The source's primary keys of one table, in Arrow batches. Once exhausted, ``stopped`` says why
    the list ended early (API budget) or is ``None``, and ``api_calls`` what the listing cost."""

    def __init__(self, batches: Iterator[pa.Array]) -> None:
        self._batches = batches
        self.stopped: str | None = None
        self.api_calls = 0
        self.exhausted = False

    def __next__(self) -> pa.Array:
        try:
            return next(self._batches)
        except StopIteration:
            self.exhausted = True
            raise

    @property
    def complete(self) -> bool:
        """True only when every key arrived (a partial list must never drive deletes)."""
        return self.exhausted and self.stopped is None


class Connector(ABC):
    """One source account. Subclasses declare ``spec_id`` and implement the three operations."""

    spec_id: ClassVar[str]

    @abstractmethod
    def check(self) -> CheckResult: ...

    @abstractmethod
    def list_objects(self) -> list[ExploreItem]: ...

    @abstractmethod
    def table_schema(self, table: str, preview: bool = False) -> TableSchema: ...

    @abstractmethod
    def read(self, table: str, columns: list[str] | None, cursor: Cursor | None) -> ReadStream: ...

    @classmethod
    def check_params(cls, spec_name: str, params: dict[str, Any]) -> None:
        """Write-time checks of auth params beyond their JSON Schema (``Invalid``); no network.

        Called when a connection is created, patched or tested unsaved. A connector whose params name a
        destination checks its syntax here (e.g. only http(s) URLs); the outbound policy itself is
        applied when a connection is made."""
        return None  # nothing beyond the JSON Schema by default

    def source_keys(self, table: str) -> KeyStream | None:
        """Every primary key of ``table`` at the source now; None when the source cannot list them."""
        return None

    def formula_columns(self, table: str, columns: list[str] | None) -> list[str]:
        """Of ``columns`` (None: all), those whose values change without the change stamp moving."""
        return []

    def read_columns(self, table: str, columns: list[str]) -> ReadStream:
        """Primary key + ``columns`` of every record (no cursor): what a formula refresh reads."""
        raise UnsupportedBySource(f"{type(self).__name__} cannot read columns on their own")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release network resources."""

    def explore(self, object_type: str, object: str | None = None, preview: bool = False) -> Any:
        """Contract §5.8: ``root`` -> list of items; ``table`` -> schema (+ preview rows)."""
        kind = (object_type or "").lower()
        if kind == "root":
            return self.list_objects()
        if kind == "table":
            if not object:
                raise Invalid("explore.object_missing", "The object cannot be empty for objectType=table.")
            return self.table_schema(object, preview=preview)
        raise Invalid("explore.object_type_invalid", "The provided param 'objectType' is invalid.")

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
