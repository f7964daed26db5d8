"""Hard-delete reconciliation: what listing a large object's Ids costs, and the anti-join's time and memory.

Setup (not measured): the emulator with N Accounts (default 1M), a dataset holding every Account Id
(landed by the lake's run writer), then D records hard-deleted at the source (deleted + purged).
Measured in a child process (its own peak RSS): ``SalesforceConnector.source_keys("Account")`` (Bulk
2.0 ``SELECT Id``: job, polls, result pages) streamed into ``RunWriter.reconcile`` (Parquet key file,
DuckDB anti-join against the table's Ids, deletes staged) and the commit. Reported: the source API
calls, seconds, peak RSS, and
the deletes found (must equal D). The API calls (each request the listing sent, by kind: job create,
status polls, result pages, job delete) are also shown for other page sizes (``maxRecords``).

Usage: ``python -m bench reconcile [--rows=1000000] [--deleted=1000] [--pages=100000,500000,1000000]``
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from bench.bench_emulator import _start_emulator

CLIENT = ("headwater-demo-client", "headwater-demo-secret")


def _option(argv: list[str], name: str, default: str) -> str:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


def _connector(url: str, ca: str, page_records: int) -> Any:
    from headwater.connectors.salesforce.client import Tuning
    from headwater.connectors.salesforce.connector import SalesforceConnector
    from headwater.core.settings import Settings

    params = {"environmentUrl": url, "clientId": CLIENT[0], "clientSecret": CLIENT[1], "apiVersion": "62.0"}
    tuning = Tuning(key_page_records=page_records)
    return SalesforceConnector.from_auth(
        "OAuth2 Client Credential", params, Settings(ca_bundle=Path(ca)), tuning
    )


def child(url: str, ca: str, lake_root: str, page_records: int, commit: bool) -> dict[str, Any]:
    from headwater.lake import Lake

    connector = _connector(url, ca, page_records)
    connector.check()  # login and describeGlobal: not part of the reconciliation's cost
    connector.describes.describe("Account")
    writer = Lake(lake_root).dataset("BENCH@AdobeOrg", "prod", "accounts").open_writer("reconcile")
    sent: list[str] = []  # every request the listing sends, by kind
    connector.client.event_hooks["request"] = [lambda request: sent.append(_kind(request))]
    started = time.perf_counter()
    keys = connector.source_keys("Account")
    found = writer.reconcile(keys, lambda: keys.complete)
    listed = time.perf_counter() - started
    result = writer.commit() if commit else None
    if not commit:
        writer.abort()
    seconds = time.perf_counter() - started
    connector.close()
    return {
        "page_records": page_records,
        "found": found,
        "api_calls": keys.api_calls,
        "requests": {kind: sent.count(kind) for kind in ("create", "poll", "page", "delete")},
        "seconds_list_and_join": round(listed, 2),
        "seconds_with_commit": round(seconds, 2),
        "deleted_in_commit": result.rows_deleted if result else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _kind(request: httpx.Request) -> str:
    path = request.url.path
    if request.method == "POST":
        return "create"
    if request.method == "DELETE":
        return "delete"
    return "page" if path.endswith("/results") else "poll"


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        url, ca, lake_root, pages, commit = argv[1:6]
        print(json.dumps(child(url, ca, lake_root, int(pages), commit == "1")))
        return
    rows = int(_option(argv, "rows", "1000000"))
    deleted = int(_option(argv, "deleted", "1000"))
    page_sizes = [int(p) for p in _option(argv, "pages", "100000,500000,1000000").split(",")]
    from headwater.emulators.salesforce.schema import salesforce_id
    from headwater.lake import Lake

    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as folder:
        data_dir = Path(folder) / "emulator"
        process, url = _start_emulator(data_dir, rows)
        ca = str(data_dir / "tls" / "ca.pem")
        try:
            lake_root = str(Path(folder) / "lake")
            writer = Lake(lake_root).dataset("BENCH@AdobeOrg", "prod", "accounts").open_writer("load")
            for start in range(0, rows, 100_000):
                ids = [salesforce_id("001", i) for i in range(start, min(start + 100_000, rows))]
                writer.write(pa.record_batch({"Id": ids, "Name": [f"Account {i}" for i in range(len(ids))]}))
            writer.commit()
            with httpx.Client(base_url=url, verify=ca, timeout=120) as admin:
                step = max(rows // deleted, 1)
                for number in range(0, step * deleted, step):
                    gone = salesforce_id("001", number)
                    assert admin.delete(f"/__emulator__/records/Account/{gone}").status_code == 204
                assert admin.post("/__emulator__/purge", json={}).json()["purged"] == deleted
                print(
                    f"reconcile: {rows:,} Accounts at the source and in the dataset, {deleted:,} hard-deleted"
                )
                for index, pages in enumerate(page_sizes):
                    commit = index == len(page_sizes) - 1
                    command = [
                        sys.executable,
                        "-m",
                        "bench.bench_reconcile",
                        "--child",
                        url,
                        ca,
                        lake_root,
                        str(pages),
                        "1" if commit else "0",
                    ]
                    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                    print(out.strip().splitlines()[-1])
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
