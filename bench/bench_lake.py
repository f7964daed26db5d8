"""Data lake write path: a full run and a 1 % incremental run through RunWriter vs. plain write_deltalake.

Each scenario runs in its own subprocess so peak RSS (psutil, sampled every 20 ms, whole process)
is the scenario's own. Rows are synthetic Account-like records: 40 columns, mostly strings.

    python -m bench lake [--rows=1000000] [--batch=50000] [--small=100000]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.compute as pc

STRING_COLS = 30
NUMERIC_COLS = 9


def batches(rows: int, batch: int, start: int = 0, tag: str = "v1") -> Iterator[pa.RecordBatch]:
    for lo in range(start, start + rows, batch):
        n = min(batch, start + rows - lo)
        ids = pa.array([f"001{i:015d}" for i in range(lo, lo + n)])
        cols: dict[str, pa.Array] = {"Id": ids}
        for c in range(STRING_COLS):
            cols[f"Field{c}__c"] = pc.binary_join_element_wise(f"{tag} value {c} for ", ids, "")
        for c in range(NUMERIC_COLS):
            cols[f"Amount{c}"] = pc.multiply(pa.array(range(lo, lo + n), pa.int64()), c)
        yield pa.RecordBatch.from_pydict(cols)


def _child(scenario: str, root: str, rows: int, batch: int) -> dict[str, Any]:
    from deltalake import write_deltalake

    from headwater.lake import Lake

    ds = Lake(root).dataset("org", "prod", "accounts")
    start = time.perf_counter()
    if scenario == "floor":
        first = next(batches(rows, batch))
        reader = pa.RecordBatchReader.from_batches(first.schema, batches(rows, batch))
        write_deltalake(f"{root}/floor", reader, mode="append")
        written = rows
    else:
        run = ds.run_writer()
        if scenario == "full":
            for b in batches(rows, batch):
                run.write(b)
        else:  # incremental: 1 % of rows changed, spread as one contiguous block
            for b in batches(rows // 100, batch, start=rows // 3, tag="v2"):
                run.write(b)
        written = run.commit().rows_written
    return {"seconds": time.perf_counter() - start, "rows_written": written}


def _measure(scenario: str, root: str, rows: int, batch: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bench_lake", "--child", scenario, root, str(rows), str(batch)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    watched, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{scenario} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = peak / 2**20
    return result


def _line(name: str, rows: int, r: dict[str, Any]) -> None:
    rate = r["rows_written"] / r["seconds"] if r["seconds"] else 0.0
    print(
        f"{name:<34} rows={rows:>9,} written={r['rows_written']:>9,} {r['seconds']:7.2f}s "
        f"{rate:>10,.0f} rows/s  peak RSS {r['peak_rss_mb']:6.0f} MB",
        flush=True,
    )


def main(argv: list[str]) -> None:
    opts = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    rows, batch, small = (
        int(opts.get("rows", 1_000_000)),
        int(opts.get("batch", 50_000)),
        int(opts.get("small", 100_000)),
    )
    with tempfile.TemporaryDirectory() as big_root, tempfile.TemporaryDirectory() as small_root:
        _line("floor: write_deltalake", rows, _measure("floor", big_root, rows, batch))
        _line("headwater full run (first load)", rows, _measure("full", big_root, rows, batch))
        _line("headwater incremental 1 % (merge)", rows, _measure("incremental", big_root, rows, batch))
        _line("headwater full run (first load)", small, _measure("full", small_root, small, batch))
        _line("headwater incremental 1 % (merge)", small, _measure("incremental", small_root, small, batch))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        scenario, root, n, size = sys.argv[2:6]
        print(json.dumps(_child(scenario, root, int(n), int(size))))
    else:
        main(sys.argv[1:])
