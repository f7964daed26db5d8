"""A run's staging area: its upserts and deletes as local Parquet files, appended batch by batch.

Memory stays flat: each ``write`` becomes row groups of the current part file. Every staged row gets a
sequence number (``_hw_seq``) in call order, so "the last one wins" is defined by the order in which the
run called ``write``/``delete`` (and, inside one batch, by row order).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from headwater.core.errors import TerminalError
from headwater.lake.files import delta_arrow_schema, open_parquet

SEQ = "_hw_seq"
DELETED = "_hw_deleted"
RESERVED = (SEQ, DELETED)
OWNER_FILE = "owner.json"
#: Rows per staged row group. Reading a row group back costs ~3x its decoded size at the peak
#: (compressed chunks, decoded pages, the arrays), so 16k ~1 KB rows peak at ~80 MB where 50k rows
#: measured ~210 MB; the commit writes each row group it reads as one row group of a Delta file.
ROW_GROUP_ROWS = 16_384


class RunStage:
    """Parquet part files under ``directory``.

    Each ``upserts-N.parquet`` holds the run's rows exactly as a Delta data file would (Delta types:
    microsecond timestamps, signed integers; zstd; row groups of ``ROW_GROUP_ROWS``), so the commit can
    adopt it into the table without re-encoding. Its sequence numbers live beside it in
    ``keys-N.parquet`` (primary key + ``_hw_seq``, row groups aligned with the part's). A new part starts
    when the batch schema changes or the part reaches ``target_size`` bytes.
    """

    def __init__(self, directory: Path, primary_key: str, target_size: int = 16 * 2**20) -> None:
        self.directory = directory
        self.primary_key = primary_key
        self.target_size = target_size
        directory.mkdir(parents=True, exist_ok=False)
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        (directory / OWNER_FILE).write_text(json.dumps(owner))
        self._seq = 0
        self._sink: pa.NativeFile | None = None
        self._writer: pq.ParquetWriter | None = None
        self._keys: pq.ParquetWriter | None = None
        self._writer_schema: pa.Schema | None = None
        self._deletes: pq.ParquetWriter | None = None
        self._buffer: list[tuple[pa.RecordBatch, pa.Array]] = []
        self._buffered = self._buffered_bytes = 0
        self._parts = 0
        self._patches: pq.ParquetWriter | None = None
        self._delete_keys: list[pa.Array] = []  # Arrow, not Python objects: ~26 bytes a text key
        self._patch_files = 0
        self.rows_staged = 0
        self.deletes_staged = 0
        self.patches_staged = 0

    def _next_seq(self, n: int) -> pa.Array:
        seq = pa.array(range(self._seq, self._seq + n), type=pa.int64())
        self._seq += n
        return seq

    def add_upserts(self, batch: pa.RecordBatch) -> None:
        check_batch(batch, self.primary_key)
        if batch.num_rows == 0:
            return
        if self._buffer and not batch.schema.equals(self._buffer[0][0].schema):
            self._flush()
        # sequence numbers now (call order), rows to disk in row groups of ROW_GROUP_ROWS: sources
        # hand over small batches (~1,500 rows per Bulk CSV chunk) and one row group per batch makes
        # slow, badly compressed files
        self._buffer.append((batch, self._next_seq(batch.num_rows)))
        self._buffered += batch.num_rows
        self._buffered_bytes += batch.nbytes
        self.rows_staged += batch.num_rows
        if self._buffered_bytes >= self.target_size:
            self._flush()
        elif self._buffered >= ROW_GROUP_ROWS:
            self._flush(whole_row_groups=True)

    def _flush(self, whole_row_groups: bool = False) -> None:
        """Write the buffered rows (only whole row groups of ``ROW_GROUP_ROWS`` if asked; the rest
        stays buffered) to the current part, opening a new part when needed."""
        if not self._buffer:
            return
        rows = pa.Table.from_batches([batch for batch, _ in self._buffer])
        seqs = pa.chunked_array([seq for _, seq in self._buffer], type=pa.int64())
        count = rows.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS if whole_row_groups else rows.num_rows
        rest = rows.slice(count)
        self._buffer = [
            (b, s) for b, s in zip(rest.to_batches(), _chunks(seqs.slice(count), rest), strict=True)
        ]
        self._buffered, self._buffered_bytes = rest.num_rows, rest.nbytes
        rows, seqs = _as_delta(rows.slice(0, count)), seqs.slice(0, count)
        if (
            self._writer is None
            or self._sink is None
            or not rows.schema.equals(self._writer_schema)
            or self._sink.tell() >= self.target_size
        ):
            self._open_part(rows)
        assert self._writer is not None and self._keys is not None
        keys = pa.Table.from_arrays([rows.column(self.primary_key), seqs], names=[self.primary_key, SEQ])
        # the same row count and row group size: the keys' row groups line up with the part's
        self._writer.write_table(rows, row_group_size=ROW_GROUP_ROWS)
        self._keys.write_table(keys, row_group_size=ROW_GROUP_ROWS)

    def _open_part(self, first: pa.Table) -> None:
        self._close_part()
        self._parts += 1
        schema = first.schema
        self._sink = pa.OSFile(str(self.directory / f"upserts-{self._parts:05d}.parquet"), "wb")
        self._writer = open_parquet(self._sink, schema, first)
        self._writer_schema = schema
        key_schema = pa.schema([schema.field(self.primary_key), pa.field(SEQ, pa.int64())])
        self._keys = pq.ParquetWriter(self.directory / f"keys-{self._parts:05d}.parquet", key_schema)

    def add_deletes(self, keys: pa.Array) -> None:
        if keys.null_count:
            raise TerminalError("a delete carries a null primary key")
        if len(keys) == 0:
            return
        batch = pa.RecordBatch.from_arrays([keys, self._next_seq(len(keys))], names=[self.primary_key, SEQ])
        if self._deletes is None:
            self._deletes = pq.ParquetWriter(self.directory / "deletes.parquet", batch.schema)
        elif not batch.schema.equals(self._deletes.schema):
            raise TerminalError("deleted keys of one run must all have the same type")
        self._deletes.write_batch(batch)
        self._delete_keys.append(keys)
        self.deletes_staged += len(keys)

    def staged_delete_keys(self) -> pa.Array | None:
        """Every key staged for deletion so far (None when none)."""
        if not self._delete_keys:
            return None
        return pa.concat_arrays([k.cast(self._delete_keys[0].type) for k in self._delete_keys])

    def add_patch(self, batch: pa.RecordBatch) -> None:
        """Stage new values for some columns of existing rows (resolved at commit, see ``lake/patch.py``)."""
        check_batch(batch, self.primary_key)
        if batch.num_rows == 0:
            return
        if self._patches is not None and not batch.schema.equals(self._patches.schema):
            self._patches.close()
            self._patches = None
        if self._patches is None:
            self._patch_files += 1
            path = self.directory / f"patch-{self._patch_files:05d}.parquet"
            self._patches = pq.ParquetWriter(path, batch.schema, compression="zstd")
        self._patches.write_batch(batch)
        self.patches_staged += batch.num_rows

    def patch_files(self) -> list[Path]:
        return sorted(self.directory.glob("patch-*.parquet"))

    def _close_part(self) -> None:
        for writer in (self._writer, self._keys):
            if writer is not None:
                writer.close()
        if self._sink is not None:
            self._sink.close()
        self._writer = self._keys = self._sink = None

    def seal(self) -> None:
        """Write what is buffered and close the open part files; the stage can then be read."""
        self._flush()
        self._close_part()
        if self._deletes is not None:
            self._deletes.close()
            self._deletes = None
        if self._patches is not None:
            self._patches.close()
            self._patches = None

    def upsert_files(self) -> list[Path]:
        return sorted(self.directory.glob("upserts-*.parquet"))

    @staticmethod
    def keys_file(part: Path) -> Path:
        return part.with_name(part.name.replace("upserts-", "keys-", 1))

    def delete_file(self) -> Path | None:
        path = self.directory / "deletes.parquet"
        return path if path.exists() else None

    def winners(self) -> pa.Array | None:
        """Sequence numbers of the last staged op for each key, or None when every key occurs once."""
        if not self.rows_staged and not self.deletes_staged:
            return None
        ops = self.final_ops()
        if ops.num_rows == self.rows_staged + self.deletes_staged:
            return None
        return ops.column(SEQ).combine_chunks()

    def final_ops(self) -> pa.Table:
        """The winning op of every staged key: ``primary key``, ``_hw_seq``, ``_hw_deleted``.

        Duplicates are found by sorting, not hashing: a hash aggregation of 1M text keys measured
        +130 MB of peak RSS, a sort +20 MB.
        """
        key_files = [self.keys_file(part) for part in self.upsert_files()]
        deletes = self.delete_file()
        key_tables = [
            pq.read_table(path, use_threads=False).append_column(
                DELETED, pa.repeat(path == deletes, pq.read_metadata(path).num_rows)
            )
            for path in [*key_files, deletes]
            if path is not None
        ]
        keys = pa.concat_tables(key_tables, promote_options="permissive").combine_chunks()
        del key_tables
        if keys.num_rows < 2:
            return keys
        order = pc.sort_indices(keys, sort_keys=[(self.primary_key, "ascending"), (SEQ, "ascending")])
        ordered = keys.take(order)
        del keys, order
        ids = ordered.column(self.primary_key).combine_chunks()
        # the last op of each run of equal keys wins (its sequence number is the highest)
        last = pc.not_equal(ids.slice(0, len(ids) - 1), ids.slice(1))
        if pc.all(last).as_py():
            return ordered
        return ordered.filter(pa.concat_arrays([last, pa.array([True])]))

    def part_has_losers(self, part: Path, winners: pa.Array | None) -> bool:
        """True when some staged row of ``part`` was overridden by a later op of the same key."""
        if winners is None:
            return False
        seqs = pq.read_table(self.keys_file(part), columns=[SEQ], use_threads=False).column(SEQ)
        return not pc.all(pc.is_in(seqs, value_set=winners)).as_py()

    def iter_upserts(self, part: Path, winners: pa.Array | None) -> Iterator[pa.RecordBatch]:
        """The rows of ``part`` that won, one row group at a time."""
        # whole row groups (of at most ROW_GROUP_ROWS): iter_batches re-slices across row groups and
        # buffers ahead, measured ~50 % more peak memory
        data = pq.ParquetFile(part)
        keys = pq.ParquetFile(self.keys_file(part)) if winners is not None else None
        for index in range(data.num_row_groups):
            batch = _one_batch(data.read_row_group(index, use_threads=False))
            if keys is not None and winners is not None:
                seqs = keys.read_row_group(index, columns=[SEQ], use_threads=False).column(SEQ)
                batch = batch.filter(pc.is_in(seqs, value_set=winners))
            if batch.num_rows:
                yield batch

    def iter_deletes(self, winners: pa.Array | None) -> Iterator[pa.Array]:
        """The deleted keys that won."""
        path = self.delete_file()
        if path is None:
            return
        part = pq.ParquetFile(path)
        for index in range(part.num_row_groups):
            batch = _one_batch(part.read_row_group(index, use_threads=False))
            if winners is not None:
                batch = batch.filter(pc.is_in(batch.column(SEQ), value_set=winners))
            if batch.num_rows:
                yield batch.column(self.primary_key)

    def discard(self) -> None:
        self._buffer, self._buffered, self._buffered_bytes = [], 0, 0
        self.seal()
        shutil.rmtree(self.directory, ignore_errors=True)


def _chunks(values: pa.ChunkedArray, like: pa.Table) -> list[pa.Array]:
    """``values`` cut into arrays as long as ``like``'s batches."""
    out, offset = [], 0
    for batch in like.to_batches():
        out.append(values.slice(offset, batch.num_rows).combine_chunks())
        offset += batch.num_rows
    return out


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)


def _as_delta(batch: pa.Table) -> pa.Table:
    """``batch`` in the types a Delta table stores (the part file can then become a data file as is);
    unchanged when a value does not fit (the commit then casts, and reports the value)."""
    schema = delta_arrow_schema(batch.schema)
    if schema.equals(batch.schema):
        return batch
    try:
        return batch.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return batch


def check_batch(batch: pa.RecordBatch, primary_key: str) -> None:
    names = batch.schema.names
    reserved = [name for name in names if name in RESERVED]
    if reserved:
        raise TerminalError(f"column name {reserved[0]!r} is reserved by the lake writer")
    if len(set(names)) != len(names):
        raise TerminalError("a batch has two columns with the same name")
    if primary_key not in names:
        raise TerminalError(f"the batch has no primary key column {primary_key!r}")
    if batch.column(primary_key).null_count:
        raise TerminalError(f"the primary key column {primary_key!r} has null values")


def owner_is_gone(run_dir: Path, max_age_s: float) -> bool:
    """True when a staging folder's run is dead (its process is gone on this host) or too old."""
    try:
        owner = json.loads((run_dir / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return time.time() - run_dir.stat().st_mtime > 60  # a folder that never got its owner file
    if time.time() - float(owner.get("started", 0)) > max_age_s:
        return True
    if owner.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
