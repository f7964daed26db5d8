"""Salesforce connector: full extraction from the emulator into Arrow, next to a floor in the same run.

Bulk path, for each size (default 100k and 1M Account rows, all non-compound columns):

* connector: ``SalesforceConnector.read("Account")`` -- Bulk 2.0 job, poll, every CSV page streamed
  into Arrow and cast to the declared types;
* floor: the same SOQL as a Bulk job created with a bare httpx client, the same pages (same
  ``maxRecords``) downloaded and parsed with ``pyarrow.csv.open_csv`` (all columns as text), no
  connector logic. Both include the emulator's job and first-render time, so both are "cold".

REST path: ``Invoice__c`` x 200k (its base64 field makes it REST-only), connector vs a bare loop over
``nextRecordsUrl`` parsing each page with orjson.

Each measurement runs in its own child process, so peak RSS (``ru_maxrss``) is that run's alone.
Usage: ``python -m bench connector [--rows=100000,1000000] [--rest-rows=200000] [--repeat=3]``
"""

from __future__ import annotations

import json
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.bench_emulator import _start_emulator

CLIENT = ("headwater-demo-client", "headwater-demo-secret")
VERSION = "62.0"
# Scan__c (base64) keeps the read on REST. Notes__c and the formula Total__c are left out: with the
# emulator's former 64 MB DuckDB memory its REST cursor snapshot ran out of memory on 200k rows with them
# (the limit is a setting now, 512 MB by default); kept as is so the figures stay comparable.
REST_COLUMNS = [
    "Name", "Account__c", "Amount__c", "Tax_Rate__c", "Status__c", "Due_Date__c", "Paid__c",
    "Paid_At__c", "Quantity__c", "Line_Count__c", "Scan__c",
]  # fmt: skip


def _connector(url: str, ca: str) -> Any:
    from headwater.connectors.salesforce.connector import SalesforceConnector
    from headwater.core.settings import Settings

    params = {"environmentUrl": url, "clientId": CLIENT[0], "clientSecret": CLIENT[1], "apiVersion": VERSION}
    settings = Settings(ca_bundle=Path(ca), outbound_allow=urlsplit(url).netloc)  # the emulator on loopback
    return SalesforceConnector.from_auth("OAuth2 Client Credential", params, settings)


def child_connector(url: str, ca: str, sobject: str, columns: list[str] | None = None) -> dict[str, Any]:
    connector = _connector(url, ca)
    plan = connector.reader.plan(sobject, columns)
    started = time.perf_counter()
    rows = arrow_bytes = 0
    for batch in connector.read(sobject, columns, None):
        assert batch.upserts is not None
        rows += batch.upserts.num_rows
        arrow_bytes += batch.upserts.nbytes
    seconds = time.perf_counter() - started
    connector.close()
    return {"rows": rows, "seconds": seconds, "arrow_bytes": arrow_bytes, "bulk": plan.use_bulk}


def _soql(url: str, ca: str, sobject: str, columns: list[str] | None = None) -> str:
    from headwater.connectors.salesforce.soql import select

    connector = _connector(url, ca)
    plan = connector.reader.plan(sobject, columns)
    connector.close()
    return select(plan.described.name, plan.select)


@contextmanager
def _bare_client(url: str, ca: str) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca), timeout=600)
    try:
        _login(client)
        yield client
    finally:
        client.close()


def _login(client: httpx.Client) -> None:
    token = client.post("/services/oauth2/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"


class _Chunks:
    """Minimal file object over an httpx byte iterator (the floor's only glue code)."""

    def __init__(self, response: httpx.Response) -> None:
        self.chunks = response.iter_bytes(1 << 20)
        self.rest = b""
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        while len(self.rest) < max(size, 1):
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.rest += chunk
        out, self.rest = (self.rest, b"") if size < 0 else (self.rest[:size], self.rest[size:])
        return out


def child_bulk_floor(url: str, ca: str, soql: str, names: list[str], max_records: int) -> dict[str, Any]:
    read = pacsv.ReadOptions(block_size=4 << 20)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[""])
    with _bare_client(url, ca) as client:
        v = f"/services/data/v{VERSION}"
        started = time.perf_counter()
        job = client.post(f"{v}/jobs/query", json={"operation": "query", "query": soql}).json()
        while client.get(f"{v}/jobs/query/{job['id']}").json()["state"] != "JobComplete":
            time.sleep(0.05)
        rows = size = 0
        locator = ""
        while locator != "null":
            params = {"maxRecords": str(max_records), **({"locator": locator} if locator else {})}
            with client.stream("GET", f"{v}/jobs/query/{job['id']}/results", params=params) as response:
                locator = response.headers["Sforce-Locator"]
                size += int(response.headers.get("Content-Length", 0))
                reader = pacsv.open_csv(
                    _Chunks(response), read_options=read, parse_options=parse, convert_options=convert
                )
                rows += sum(batch.num_rows for batch in reader)
        seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "csv_bytes": size}


def child_rest_floor(url: str, ca: str, soql: str) -> dict[str, Any]:
    with _bare_client(url, ca) as client:
        started = time.perf_counter()
        rows = 0
        path: str | None = f"/services/data/v{VERSION}/query/"
        params: dict[str, str] | None = {"q": soql}
        while path:
            body = orjson.loads(client.get(path, params=params).content)
            if not isinstance(body, dict):
                raise RuntimeError(f"REST page failed: {body}")
            rows += len(body["records"])
            path, params = (None if body["done"] else body["nextRecordsUrl"]), None
        seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds}


def _child(kind: str, *args: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; returns its figures plus its peak RSS."""
    code = (
        "import json, sys, resource; from bench import bench_connector as b; "
        f"r = b.{kind}(*json.loads(sys.argv[1])); "
        "r['rss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024; print(json.dumps(r))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _best(
    kind_a: tuple[Any, ...], kind_b: tuple[Any, ...], repeat: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alternate the two measurements ``repeat`` times; keep each one's fastest run (the machine is
    shared, so the minimum is the least disturbed figure) and its largest peak RSS."""
    runs_a, runs_b = [], []
    for _ in range(repeat):
        runs_a.append(_child(*kind_a))
        runs_b.append(_child(*kind_b))
    best_a = dict(min(runs_a, key=lambda r: r["seconds"]), rss=max(r["rss"] for r in runs_a))
    best_b = dict(min(runs_b, key=lambda r: r["seconds"]), rss=max(r["rss"] for r in runs_b))
    return best_a, best_b


def _line(label: str, r: dict[str, Any], size: int | None = None) -> str:
    rate = r["rows"] / r["seconds"]
    mb = f"{size / 1e6 / r['seconds']:7.1f} MB/s" if size else " " * 12
    return f"  {label:<30} {r['rows']:>9,} rows {r['seconds']:7.2f} s {rate:>10,.0f} rows/s {mb}  peak RSS {r['rss'] / 2**20:6.0f} MiB"


def bulk_size(rows: int, root: Path, max_records: int, repeat: int) -> dict[str, Any]:
    data_dir = root / f"account-{rows}"
    process, url = _start_emulator(data_dir, rows)
    ca = str(data_dir / "tls" / "ca.pem")
    try:
        soql = _soql(url, ca, "Account")
        names = soql.split("SELECT ", 1)[1].split(" FROM ", 1)[0].split(", ")
        floor, ours = _best(
            ("child_bulk_floor", url, ca, soql, names, max_records),
            ("child_connector", url, ca, "Account"),
            repeat,
        )
    finally:
        process.terminate()
        process.wait()
    assert ours["rows"] == floor["rows"] == rows and ours["bulk"], (ours, floor)
    print(f"--- Bulk path: Account x {rows:,} ({len(names)} columns, pages of {max_records:,} rows)")
    print(_line("floor: httpx + pyarrow.csv", floor, floor["csv_bytes"]))
    print(_line("connector (Arrow, typed)", ours, floor["csv_bytes"]))
    ratio = (ours["rows"] / ours["seconds"]) / (floor["rows"] / floor["seconds"])
    print(
        f"  connector / floor rows/s: {ratio:.0%}; Arrow output {ours['arrow_bytes'] / 1e6:,.0f} MB",
        flush=True,
    )
    return {"rows": rows, "ours": ours, "floor": floor, "ratio": ratio}


def rest_size(rows: int, root: Path, repeat: int) -> None:
    data_dir = root / f"invoice-{rows}"
    process, url = _start_emulator_objects(data_dir, {"Invoice__c": rows, "Account": 1000})
    ca = str(data_dir / "tls" / "ca.pem")
    try:
        soql = _soql(url, ca, "Invoice__c", REST_COLUMNS)
        floor, ours = _best(
            ("child_rest_floor", url, ca, soql),
            ("child_connector", url, ca, "Invoice__c", REST_COLUMNS),
            repeat,
        )
    finally:
        process.terminate()
        process.wait()
    assert ours["rows"] == floor["rows"] == rows and not ours["bulk"], (ours, floor)
    print(
        f"--- REST path: Invoice__c x {rows:,}, {len(REST_COLUMNS) + 1} columns (query + nextRecordsUrl, 2,000 rows a page)"
    )
    print(_line("floor: httpx + orjson loop", floor))
    print(_line("connector (Arrow, typed)", ours))
    ratio = (ours["rows"] / ours["seconds"]) / (floor["rows"] / floor["seconds"])
    print(f"  connector / floor rows/s: {ratio:.0%}", flush=True)


def _start_emulator_objects(data_dir: Path, rows: dict[str, int]) -> tuple[subprocess.Popen[str], str]:
    """Like bench_emulator's starter, with several objects sized."""
    from bench.bench_emulator import _free_port

    port = _free_port()
    args = ["--port", str(port), "--data-dir", str(data_dir)]
    for name, count in rows.items():
        args += ["--rows", f"{name}={count}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "emulator", "salesforce", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "admin API" in line:
            return process, f"https://127.0.0.1:{port}"
    raise RuntimeError("emulator did not start")


def main(argv: list[str]) -> None:
    options = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    sizes = [int(x) for x in options.get("rows", "100000,1000000").split(",")]
    rest_rows = int(options.get("rest-rows", "200000"))
    max_records = int(options.get("max-records", "100000"))
    repeat = int(options.get("repeat", "3"))
    print(f"(best of {repeat} alternating runs each; peak RSS is the largest of the runs)")
    with tempfile.TemporaryDirectory(prefix="bench-connector-") as tmp:
        results = [bulk_size(n, Path(tmp), max_records, repeat) for n in sizes]
        if len(results) > 1:
            small, big = results[0]["ours"]["rss"], results[-1]["ours"]["rss"]
            print(f"connector peak RSS {sizes[-1]:,} / {sizes[0]:,} rows: {big / small:.2f}x")
        if rest_rows:
            rest_size(rest_rows, Path(tmp), repeat)
    _ = resource  # imported for the child processes' figures


if __name__ == "__main__":
    main(sys.argv[1:])
