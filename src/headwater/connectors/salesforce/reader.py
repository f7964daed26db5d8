"""One table read: plan the columns, walk the time windows, route Bulk or REST, split out deletes.

* Cursor: ``{"field": "SystemModstamp" | "LastModifiedDate" | "CreatedDate", "value": ISO-8601}``;
  the next read asks ``field >= value - lookback`` (ties and late commits are read again, never lost).
  Objects without any of these fields are read in full every time (cursor ``None``).
  ``{"since": ISO-8601}`` (a flow without backfill, first run) asks ``field >= since``, no look-back.
* The cursor moves only past completed windows, so a read stopped by the API budget keeps it.
* ``QUERY_TIMEOUT`` splits the failing window in two (oldest half first) and tries again.
* ``IsDeleted`` rows (``includeDeletedObjects``) become ``ReadBatch.deletes`` keys, not upserts.
* A SELECT list longer than ``max_query_chars`` is split into column chunks, each with ``Id``, and the
  chunks are joined on ``Id`` (this materialises one window of the object; see README).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from headwater.connectors.base import SINCE, Cursor, KeyStream, ReadBatch, ReadStream
from headwater.core.errors import SourceLimitReached, UnsupportedBySource

from .arrow import cast_batch
from .bulk import SalesforceBulkReader
from .client import QueryTimeout, SalesforceApi
from .describe import DescribeCache, ObjectDescribe
from .rest import SalesforceRestReader
from .soql import chunk_fields, select
from .types import column_for

EARLIEST = datetime(1999, 1, 1, tzinfo=UTC)  # no Salesforce record is older than Salesforce
MIN_WINDOW = timedelta(seconds=1)
Window = tuple[datetime | None, datetime | None]


@dataclass
class ReadPlan:
    described: ObjectDescribe
    output: list[str]  # columns delivered, Id first
    select: list[str]  # columns queried (output + cursor field + IsDeleted)
    schema: pa.Schema  # of ``select``
    cursor_field: str | None
    include_deleted: bool
    use_bulk: bool


class SalesforceTableReader:
    def __init__(self, api: SalesforceApi, describes: DescribeCache, include_deleted: bool) -> None:
        self.api = api
        self.describes = describes
        self.include_deleted = include_deleted
        self.bulk = SalesforceBulkReader(api)
        self.rest = SalesforceRestReader(api)

    def plan(self, table: str, columns: list[str] | None) -> ReadPlan:
        described = self.describes.describe(table)
        fields = self.describes.resolve_fields(described, columns)
        output = ["Id", *[f for f in fields if f != "Id"]] if "Id" in described.fields else fields
        extra = [described.cursor_field] if described.cursor_field else []
        include_deleted = self.include_deleted and described.has_is_deleted
        if include_deleted:
            extra.append("IsDeleted")
        chosen = output + [f for f in extra if f and f not in output]
        schema = pa.schema([pa.field(n, column_for(described.fields[n]).arrow_type) for n in chosen])
        return ReadPlan(
            described,
            output,
            chosen,
            schema,
            described.cursor_field,
            include_deleted,
            use_bulk=described.bulk_capable(chosen),
        )

    def read(self, table: str, columns: list[str] | None, cursor: Cursor | None) -> ReadStream:
        plan = self.plan(table, columns)
        stream = ReadStream(iter(()), cursor)
        stream._batches = self._run(plan, cursor, stream)
        return stream

    def read_columns(self, table: str, columns: list[str]) -> ReadStream:
        """``Id`` + ``columns`` of every live record, without a cursor window (a formula refresh)."""
        plan = self.plan(table, columns)
        plan.cursor_field = None
        plan.include_deleted = False
        plan.select = list(plan.output)
        plan.schema = pa.schema([plan.schema.field(name) for name in plan.select])
        plan.use_bulk = plan.described.bulk_capable(plan.select)
        stream = ReadStream(iter(()), None)
        stream._batches = self._run(plan, None, stream)
        return stream

    def source_keys(self, table: str) -> KeyStream:
        """Every live Id of ``table`` (Bulk ``SELECT Id``, REST if Bulk refuses the object)."""
        described = self.describes.describe(table)
        stream = KeyStream(iter(()))
        stream._batches = self._keys(described, stream)
        return stream

    def _keys(self, described: ObjectDescribe, stream: KeyStream) -> Iterator[pa.Array]:
        soql = select(described.name, ["Id"])
        schema = pa.schema([pa.field("Id", pa.string())])
        start = self.api.calls
        self.api.enforce_budget = True
        try:
            try:
                for batch in self.bulk.query(soql, ["Id"], False, self.api.tuning.key_page_records):
                    yield batch.column(0)
                return
            except UnsupportedBySource:
                pass  # an object Bulk refuses: list its Ids over REST
            for batch in self.rest.query(soql, schema, include_deleted=False):
                yield batch.column(0)
        except SourceLimitReached as exc:
            stream.stopped = exc.message
        finally:
            self.api.enforce_budget = False
            stream.api_calls = self.api.calls - start

    # --- windows and cursor ------------------------------------------------------------------
    def _lower(self, plan: ReadPlan, cursor: Cursor | None) -> datetime | None:
        if plan.cursor_field and cursor and cursor.get(SINCE):
            # a flow without backfill: nothing changed before its start, and no look-back below it
            return datetime.fromisoformat(str(cursor[SINCE]).replace("Z", "+00:00"))
        if not plan.cursor_field or not cursor or cursor.get("field") != plan.cursor_field:
            return None
        value = datetime.fromisoformat(str(cursor["value"]).replace("Z", "+00:00"))
        return value - timedelta(seconds=self.api.tuning.lookback_seconds)

    def _run(self, plan: ReadPlan, cursor: Cursor | None, stream: ReadStream) -> Iterator[ReadBatch]:
        windows: deque[Window] = deque([(self._lower(plan, cursor), None)])
        newest: datetime | None = None
        start = self.api.calls
        self.api.enforce_budget = True
        try:
            while windows:
                low, high = windows.popleft()
                try:
                    for batch in self._window(plan, low, high):
                        newest = _later(newest, self._max_cursor(plan, batch))
                        yield self._split(plan, batch)
                except QueryTimeout:
                    windows.extendleft(reversed(_halves(low, high)))
                    continue
                if plan.cursor_field and newest is not None:
                    stream.cursor = {"field": plan.cursor_field, "value": newest.isoformat()}
        except SourceLimitReached as exc:
            stream.stopped = exc.message
        finally:
            self.api.enforce_budget = False
            stream.api_calls = self.api.calls - start

    @staticmethod
    def _max_cursor(plan: ReadPlan, batch: pa.RecordBatch) -> datetime | None:
        if not plan.cursor_field or batch.num_rows == 0:
            return None
        value = pc.max(batch.column(plan.cursor_field)).as_py()
        return value if isinstance(value, datetime) else None

    # --- one window -----------------------------------------------------------------------------
    def _window(
        self, plan: ReadPlan, low: datetime | None, high: datetime | None
    ) -> Iterator[pa.RecordBatch]:
        keep = [f for f in ("Id", plan.cursor_field, "IsDeleted") if f and f in plan.select]
        overhead = len(select(plan.described.name, [], cursor_field=plan.cursor_field, lower=low, upper=high))
        chunks = chunk_fields(plan.select, keep, self.api.tuning.max_query_chars - overhead)
        if len(chunks) == 1:
            yield from self._query(plan, chunks[0], low, high)
            return
        joined: pa.Table | None = None
        for chunk in chunks:
            part = pa.Table.from_batches(list(self._query(plan, chunk, low, high)), schema=_sub(plan, chunk))
            if joined is None:
                joined = part
            else:
                joined = joined.join(
                    part.drop_columns([c for c in keep if c != "Id"]), "Id", join_type="left outer"
                )
        assert joined is not None
        yield from joined.select(plan.select).combine_chunks().to_batches(max_chunksize=100_000)

    def _query(
        self, plan: ReadPlan, fields: list[str], low: datetime | None, high: datetime | None
    ) -> Iterator[pa.RecordBatch]:
        soql = select(plan.described.name, fields, cursor_field=plan.cursor_field, lower=low, upper=high)
        schema = _sub(plan, fields)
        if plan.use_bulk:
            try:
                for batch in self.bulk.query(soql, fields, plan.include_deleted):
                    yield cast_batch(batch, schema)
                return
            except UnsupportedBySource:
                plan.use_bulk = False  # e.g. INVALIDENTITY: this object is REST-only; fall back once
        yield from self.rest.query(soql, schema, plan.include_deleted)

    def _split(self, plan: ReadPlan, batch: pa.RecordBatch) -> ReadBatch:
        deletes = pa.array([], pa.string())
        if plan.include_deleted:
            deleted = pc.fill_null(batch.column("IsDeleted"), False)
            if pc.any(deleted).as_py():
                deletes = pc.filter(batch.column("Id"), deleted)
                batch = batch.filter(pc.invert(deleted))
        return ReadBatch(upserts=batch.select(plan.output), deletes=deletes)


def _sub(plan: ReadPlan, fields: list[str]) -> pa.Schema:
    return pa.schema([plan.schema.field(f) for f in fields])


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a >= b else b


def _halves(low: datetime | None, high: datetime | None) -> list[Window]:
    start = low or EARLIEST
    end = high or datetime.now(UTC)
    if end - start <= MIN_WINDOW:
        raise QueryTimeout(
            "The query times out even on a one-second window; the object is too large to read."
        )
    middle = start + (end - start) / 2
    return [(low if low else start, middle), (middle, high)]
