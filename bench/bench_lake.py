"""Data lake: stream synthetic Account rows into a dataset through the run writer.

For each size (default 100k and 1M rows, ~40 mostly-string columns, 50k-row batches) three child
processes run one after the other, each sampled for RSS (psutil, every 20 ms):

* ``floor``: the same generated batches handed to plain ``write_deltalake`` (no staging, no merge);
* ``full``: a first run through ``RunWriter`` (stage to Parquet, collapse duplicates, adopt the staged
  files as Delta data files, one commit);
* ``incremental``: a second run where 1 % of the rows changed, spread evenly over the Ids (merge on Id:
  every table file holding a changed Id is rewritten without it, the run's rows are added, one commit).

A fourth child, ``generate``, only builds the batches: the cost every figure includes.

Usage: ``python -m bench lake [--rows=100000,1000000] [--batch=50000]``
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.compute as pc

COLUMNS = 40


_TEMPLATES: dict[tuple[int, int], dict[str, pa.Array]] = {}


def _template(n: int, version: int) -> dict[str, pa.Array]:
    """The wide string columns of an ``n``-row batch, built once and copied per batch (building text
    row by row is slower than the writer under test); batches repeat the values with other Ids."""
    key = (n, version)
    if key not in _TEMPLATES:
        text = pc.cast(pa.array(range(n), type=pa.int64()), pa.string())
        _TEMPLATES[key] = {
            f"Field{i:02d}__c": pc.binary_join_element_wise(f"value {i} v{version} of account ", text, "")
            for i in range(COLUMNS - 6)
        }
    return _TEMPLATES[key]


def account_batch(start: int, n: int, version: int = 0) -> pa.RecordBatch:
    """Rows ``start..start+n`` of a deterministic Account-like table; ``version`` changes the values."""
    ids = pa.array(range(start, start + n), type=pa.int64())
    text = pc.cast(ids, pa.string())
    arrays: dict[str, pa.Array] = {
        "Id": pc.binary_join_element_wise("001Hw", pc.utf8_lpad(text, 13, "0"), "")
    }
    # fresh buffers per batch (a copy of the cached text): a consumer that queues batches must pay
    # for them as it would for real source data, not share one set of buffers across all batches
    arrays.update({name: pa.concat_arrays([column]) for name, column in _template(n, version).items()})
    arrays["AnnualRevenue"] = pc.multiply(pc.cast(ids, pa.float64()), 1.5 + version)
    arrays["NumberOfEmployees"] = pc.add(ids, version)
    arrays["IsDeleted"] = pa.repeat(False, n)
    arrays["CreatedDate"] = pc.cast(pc.multiply(ids, 1000), pa.timestamp("ms", tz="UTC"))
    arrays["SystemModstamp"] = pc.cast(pc.add(pc.multiply(ids, 1000), version), pa.timestamp("ms", tz="UTC"))
    return pa.RecordBatch.from_pydict(arrays)


def batches(rows: int, batch: int, version: int = 0, step: int = 1) -> Iterator[pa.RecordBatch]:
    """Every ``step``-th slice of ``batch`` rows (step 100 = the 1 % that changed, spread evenly)."""
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        if step == 1:
            yield account_batch(start, n, version)
        else:
            picked = account_batch(start, n, version).take(pa.array(range(0, n, step)))
            yield picked


def child(mode: str, rows: int, batch: int, root: str) -> None:
    from deltalake import write_deltalake

    from headwater.lake import Lake

    dataset = Lake(root).dataset("BENCH@AdobeOrg", "prod", "accounts")
    started = time.perf_counter()
    written: object = None
    if mode == "generate":
        written = sum(b.num_rows for b in batches(rows, batch))
    elif mode == "floor":
        schema = account_batch(0, 1).schema
        reader = pa.RecordBatchReader.from_batches(schema, batches(rows, batch))
        write_deltalake(f"{root}/floor", reader, mode="append")
        written = rows
    else:
        version, step = (0, 1) if mode == "full" else (1, 100)
        writer = dataset.open_writer(mode)
        for b in batches(rows, batch, version, step):
            writer.write(b)
        result = writer.commit()
        written = (
            f"inserted={result.rows_inserted} updated={result.rows_updated} bytes={result.bytes_written}"
        )
    print(f"{time.perf_counter() - started:.3f} {written}", flush=True)


def measure(mode: str, rows: int, batch: int, root: str) -> tuple[float, str, float]:
    argv = [sys.executable, "-m", "bench.bench_lake", "--child", mode, str(rows), str(batch), root]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    watched = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    out = (proc.stdout.read() if proc.stdout else "").strip()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed ({proc.returncode}): {out}")
    seconds, _, detail = out.partition(" ")
    return float(seconds), detail, peak / 2**20


def main(argv: list[str]) -> None:
    sizes = [100_000, 1_000_000]
    batch = 50_000
    for arg in argv:
        if arg.startswith("--rows="):
            sizes = [int(x) for x in arg.split("=", 1)[1].split(",")]
        elif arg.startswith("--batch="):
            batch = int(arg.split("=", 1)[1])
    print(f"{COLUMNS} columns, batches of {batch} rows; RSS = peak of the child process")
    print(f"{'rows':>9} {'step':<12} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}  detail")
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-lake-") as root:
            for mode in ("generate", "floor", "full", "incremental"):
                seconds, detail, peak = measure(mode, rows, batch, root)
                landed = rows // 100 if mode == "incremental" else rows
                print(
                    f"{rows:>9} {mode:<12} {seconds:>8.2f} {landed / seconds:>10,.0f} {peak:>12.0f}  {detail}"
                )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main(sys.argv[1:])
