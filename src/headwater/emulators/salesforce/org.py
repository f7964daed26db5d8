"""The synthetic org kept in one DuckDB file: generation, queries, job result pages and mutations.

Invariants:
* Generation is one vectorised ``CREATE TABLE ... AS SELECT ... FROM range(n)`` per object, so the
  same seed and sizes always give the same data, and millions of rows take seconds.
* The file is reused across restarts when seed and sizes match (mutations survive a restart).
* Every mutation advances ``SystemModstamp`` and ``LastModifiedDate`` to a strictly increasing "now".
* Bulk job results are materialised once into a table, and each result page is rendered once to a
  CSV file on disk; nothing holds a whole result in Python memory.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from headwater.core.errors import HeadwaterError

from .catalog import OBJECTS, find_object
from .schema import Field, SObject, id_checksum, salesforce_id
from .state import DEFAULT_MEMORY_LIMIT, check_memory_limit

__all__ = ["DEFAULT_MEMORY_LIMIT", "Org", "RecordError", "check_memory_limit", "id_checksum", "salesforce_id"]

SNAPSHOT_BATCH_ROWS = 10_000
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}


class RecordError(HeadwaterError):
    """A mutation the org refuses (unknown object, field or id); ``code`` is Salesforce's errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Org:
    def __init__(
        self,
        path: Path,
        *,
        seed: int = 42,
        rows: dict[str, int] | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.path = path
        self.seed = seed
        self.rows = {o.name: o.default_rows for o in OBJECTS}
        for name, count in (rows or {}).items():
            sobject = find_object(name)
            if sobject is None:
                raise RecordError("INVALID_TYPE", f"unknown object {name!r}")
            self.rows[sobject.name] = int(count)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Generation gets room to be fast; serving then runs in a bounded buffer pool (a setting) so that
        # the process's memory does not grow with the org's size. Sorts and snapshots larger than the
        # pool spill to ``<org>.spill/`` instead of failing.
        spill = path.with_name(path.name + ".spill")
        shutil.rmtree(spill, ignore_errors=True)
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": "1GB",
            "threads": 2,
            "temp_directory": str(spill),
        }
        self._db = duckdb.connect(str(path), config=config)
        self._clock_lock = threading.Lock()
        self._last_now = datetime(1970, 1, 1)
        self._ensure_generated()
        self._db.execute(f"SET memory_limit = '{check_memory_limit(memory_limit)}'")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._db.cursor()
        try:
            yield cur
        finally:
            cur.close()

    # --- generation
    def _fingerprint(self) -> str:
        return json.dumps({"seed": self.seed, "rows": self.rows, "schema": 1}, sort_keys=True)

    def _ensure_generated(self) -> None:
        with self.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS __org (fingerprint VARCHAR)")
            found = cur.execute("SELECT fingerprint FROM __org").fetchall()
            if found and found[0][0] == self._fingerprint():
                return
            self._generate(cur)

    def _generate(self, cur: duckdb.DuckDBPyConnection) -> None:
        counts = " ".join(f"WHEN '{o.name}' THEN {max(self.rows[o.name], 1)}" for o in OBJECTS)
        cur.execute(f"CREATE OR REPLACE TEMP MACRO sf_seed() AS {int(self.seed)}")
        cur.execute(f"CREATE OR REPLACE TEMP MACRO sf_rows(o) AS CASE o {counts} END")
        cur.execute("DROP TABLE IF EXISTS __seq; DROP TABLE IF EXISTS __deleted_log")
        for sobject in OBJECTS:
            columns = ", ".join(
                f'CAST({f.gen} AS {f.storage_type}) AS "{f.name}"' for f in sobject.stored_fields()
            )
            cur.execute(
                f'CREATE OR REPLACE TABLE "{sobject.name}" AS SELECT {columns} FROM range({self.rows[sobject.name]}) r(i)'
            )
        cur.execute("CREATE TABLE __seq (object VARCHAR PRIMARY KEY, next BIGINT)")
        cur.executemany("INSERT INTO __seq VALUES (?, ?)", [[o.name, self.rows[o.name]] for o in OBJECTS])
        cur.execute("CREATE TABLE __deleted_log (object VARCHAR, id VARCHAR, deleted_date TIMESTAMP)")
        cur.execute("DELETE FROM __org")
        cur.execute("INSERT INTO __org VALUES (?)", [self._fingerprint()])

    # --- reads
    def fetch(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    # --- bulk job results
    def snapshot(self, target: Path, sql: str, params: list[Any]) -> list[int]:
        """Stream a query's rows (all VARCHAR) into an Arrow IPC file; return the row count of each batch.

        The file is the job's frozen result: later mutations do not change its pages.
        """
        tmp = target.with_suffix(".part")
        sizes: list[int] = []
        with self.cursor() as cur:
            reader = cur.sql(sql, params=params).to_arrow_reader(SNAPSHOT_BATCH_ROWS)
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as writer:
                for batch in reader:
                    if batch.num_rows:
                        writer.write_batch(batch)
                        sizes.append(batch.num_rows)
        tmp.replace(target)
        return sizes

    @staticmethod
    def read_rows(snapshot: Path, sizes: list[int], offset: int, limit: int) -> list[tuple[Any, ...]]:
        """Rows [offset, offset+limit) of a snapshot as tuples (only the covering batches are read)."""
        rows: list[tuple[Any, ...]] = []
        with pa.OSFile(str(snapshot)) as source, pa.ipc.open_file(source) as reader:
            start = 0
            for index, size in enumerate(sizes):
                end = start + size
                if end > offset and start < offset + limit:
                    lo, hi = max(offset - start, 0), min(offset + limit - start, size)
                    columns = [c.to_pylist() for c in reader.get_batch(index).slice(lo, hi - lo).columns]
                    rows.extend(zip(*columns, strict=True))
                start = end
        return rows

    @staticmethod
    def render_page(
        snapshot: Path,
        sizes: list[int],
        offset: int,
        limit: int,
        target: Path,
        delimiter: str,
        line_ending: str,
    ) -> int:
        """Write rows [offset, offset+limit) of a snapshot as a CSV page with its own header.

        Every value is quoted, nulls are empty cells; only the batches the page covers are read.
        """
        options = pacsv.WriteOptions(
            include_header=True,
            delimiter=DELIMITERS[delimiter],
            eol="\r\n" if line_ending == "CRLF" else "\n",
            quoting_style="all_valid",
        )
        tmp = target.with_suffix(".part")
        written = 0
        with (
            pa.OSFile(str(snapshot)) as source,
            pa.ipc.open_file(source) as reader,
            pa.OSFile(str(tmp), "wb") as out,
            pacsv.CSVWriter(out, reader.schema, write_options=options) as writer,
        ):
            start = 0
            for index, size in enumerate(sizes):
                end = start + size
                if end > offset and start < offset + limit:
                    batch = reader.get_batch(index)
                    lo = max(offset - start, 0)
                    hi = min(offset + limit - start, size)
                    writer.write_batch(batch.slice(lo, hi - lo))
                    written += hi - lo
                start = end
        tmp.replace(target)
        return written

    # --- mutations
    def now(self) -> datetime:
        """A strictly increasing UTC timestamp with millisecond precision (naive, as stored)."""
        with self._clock_lock:
            wall = datetime.now(UTC).replace(tzinfo=None)
            current = wall.replace(microsecond=wall.microsecond // 1000 * 1000)
            if current <= self._last_now:
                current = self._last_now + timedelta(milliseconds=1)
            self._last_now = current
            return current

    def insert(self, object_name: str, values: dict[str, Any]) -> str:
        sobject = self._object(object_name)
        fields = self._writable(sobject, values)
        with self.cursor() as cur:
            cur.execute("BEGIN")
            row = cur.execute(
                "UPDATE __seq SET next = next + 1 WHERE object = ? RETURNING next - 1", [sobject.name]
            ).fetchone()
            assert row is not None
            record_id = salesforce_id(sobject.key_prefix, int(row[0]))
            now = self.now()
            user = self._any_user(cur)
            data: dict[str, Any] = {
                "Id": record_id,
                "IsDeleted": False,
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "CreatedById": user,
                "LastModifiedById": user,
            }
            if sobject.field("OwnerId") is not None:
                data["OwnerId"] = user
            data.update({f.name: _coerce(f, values[key]) for key, f in fields})
            names = ", ".join(f'"{n}"' for n in data)
            cur.execute(
                f'INSERT INTO "{sobject.name}" ({names}) VALUES ({", ".join("?" for _ in data)})',
                list(data.values()),
            )
            cur.execute("COMMIT")
        return record_id

    def update(self, object_name: str, record_id: str, values: dict[str, Any]) -> None:
        sobject = self._object(object_name)
        fields = self._writable(sobject, values)
        now = self.now()
        assignments = [f'"{f.name}" = ?' for _, f in fields] + [
            '"LastModifiedDate" = ?',
            '"SystemModstamp" = ?',
        ]
        params = [_coerce(f, values[key]) for key, f in fields] + [now, now, record_id]
        self._change(
            sobject,
            f'UPDATE "{sobject.name}" SET {", ".join(assignments)} WHERE "Id" = ? AND NOT "IsDeleted" RETURNING "Id"',
            params,
            record_id,
        )

    def delete(self, object_name: str, record_id: str) -> None:
        sobject = self._object(object_name)
        now = self.now()
        self._change(
            sobject,
            f'UPDATE "{sobject.name}" SET "IsDeleted" = true, "SystemModstamp" = ? WHERE "Id" = ? AND NOT "IsDeleted" RETURNING "Id"',
            [now, record_id],
            record_id,
        )
        with self.cursor() as cur:
            cur.execute("INSERT INTO __deleted_log VALUES (?, ?, ?)", [sobject.name, record_id, now])

    def purge(self, object_name: str | None = None) -> int:
        """Empty the recycle bin (hard delete); return how many records went."""
        targets = [self._object(object_name)] if object_name else list(OBJECTS)
        removed = 0
        with self.cursor() as cur:
            for sobject in targets:
                rows = cur.execute(
                    f'DELETE FROM "{sobject.name}" WHERE "IsDeleted" RETURNING "Id"'
                ).fetchall()
                removed += len(rows)
        return removed

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        sobject = self._object(object_name)
        with self.cursor() as cur:
            result = cur.execute(f'SELECT * FROM "{sobject.name}" WHERE "Id" = ?', [record_id])
            row = result.fetchone()
            if row is None:
                return None
            names = [d[0] for d in result.description or []]
        return dict(zip(names, row, strict=True))

    def deleted_between(self, object_name: str, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        return [
            (str(r[0]), r[1])
            for r in self.fetch(
                "SELECT id, deleted_date FROM __deleted_log WHERE object = ? AND deleted_date >= ? AND deleted_date < ? ORDER BY deleted_date",
                [object_name, start, end],
            )
        ]

    def updated_between(self, object_name: str, start: datetime, end: datetime) -> list[str]:
        sobject = self._object(object_name)
        return [
            str(r[0])
            for r in self.fetch(
                f'SELECT "Id" FROM "{sobject.name}" WHERE NOT "IsDeleted" AND "SystemModstamp" >= ? AND "SystemModstamp" < ? ORDER BY "SystemModstamp", "Id"',
                [start, end],
            )
        ]

    # --- helpers
    def _object(self, name: str) -> SObject:
        sobject = find_object(name)
        if sobject is None:
            raise RecordError("NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'")
        return sobject

    def _writable(self, sobject: SObject, values: dict[str, Any]) -> list[tuple[str, Field]]:
        result = []
        for key in values:
            f = sobject.field(key)
            if f is None:
                raise RecordError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}"
                )
            if not f.stored or f.system:
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {f.name}."
                )
            result.append((key, f))
        return result

    def _change(self, sobject: SObject, sql: str, params: list[Any], record_id: str) -> None:
        with self.cursor() as cur:
            if not cur.execute(sql, params).fetchall():
                raise RecordError(
                    "ENTITY_IS_DELETED" if self._exists(cur, sobject, record_id) else "NOT_FOUND",
                    f"{sobject.name} {record_id} not found or deleted",
                )

    def _exists(self, cur: duckdb.DuckDBPyConnection, sobject: SObject, record_id: str) -> bool:
        return bool(cur.execute(f'SELECT 1 FROM "{sobject.name}" WHERE "Id" = ?', [record_id]).fetchall())

    def _any_user(self, cur: duckdb.DuckDBPyConnection) -> str | None:
        row = cur.execute('SELECT "Id" FROM "User" ORDER BY "Id" LIMIT 1').fetchone()
        return str(row[0]) if row else None


def _coerce(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "datetime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    if f.type == "datetime" and isinstance(value, datetime) and value.tzinfo:
        return value.astimezone(UTC).replace(tzinfo=None)
    if f.type == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value
