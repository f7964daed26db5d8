"""Salesforce emulator: serve an Account Bulk 2.0 job over HTTPS and download every page with httpx.

For each size (default 100k and 1M rows) the emulator runs as a subprocess (``headwater emulator
salesforce``): a first start generates the org; a second start reuses it, so the serving figures and
the RSS sampled (psutil, every 20 ms) are those of serving, not of generating. Figures:

* cold pass: job + first download (each page rendered once to CSV on disk, then streamed);
* warm pass: the same pages downloaded again (served from disk);
* floor: the very same page files from a trivial static HTTPS file server (Python's http.server
  wrapped in TLS), downloaded by the same client, in the same run.

Usage: ``python -m bench emulator [--rows=100000,1000000] [--max-records=50000]``
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from headwater.emulators.salesforce.catalog import find_object

V = "/services/data/v62.0"
STATIC_SERVER = """
import http.server, ssl, sys, functools
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
handler.func.log_message = lambda *a: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[3], sys.argv[4])
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _start_emulator(data_dir: Path, rows: int) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    args = ["--port", str(port), "--data-dir", str(data_dir), "--rows", f"Account={rows}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "emulator", "salesforce", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "admin API" in line:
            break
    else:
        raise RuntimeError("emulator did not start")
    return process, f"https://127.0.0.1:{port}"


def _download(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[int, dict[str, str]]:
    size = 0
    with client.stream("GET", url, params=params) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(1 << 20):
            size += len(chunk)
        return size, dict(response.headers)


def _all_pages(client: httpx.Client, job_id: str, max_records: int) -> tuple[int, int, int]:
    locator, total_bytes, total_rows, pages = "", 0, 0, 0
    while locator != "null":
        params = {"maxRecords": str(max_records), **({"locator": locator} if locator else {})}
        size, headers = _download(client, f"{V}/jobs/query/{job_id}/results", params)
        total_bytes += size
        total_rows += int(headers["sforce-numberofrecords"])
        locator = headers["sforce-locator"]
        pages += 1
    return total_rows, total_bytes, pages


def _figures(label: str, rows: int, size: int, seconds: float) -> str:
    return f"{label:<34} {rows:>9,} rows {size / 1e6:>8.1f} MB {seconds:>7.2f} s {rows / seconds:>11,.0f} rows/s {size / 1e6 / seconds:>7.1f} MB/s"


def _floor(directory: Path, tls_dir: Path, ca: ssl.SSLContext) -> tuple[int, float]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STATIC_SERVER,
            str(port),
            str(directory),
            str(tls_dir / "server.pem"),
            str(tls_dir / "server-key.pem"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        files = sorted(directory.glob("*.csv"))
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=ca, timeout=300) as client:
            started = time.perf_counter()
            size = sum(_download(client, f"/{f.name}", {})[0] for f in files)
            return size, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()


def run_size(rows: int, max_records: int, root: Path) -> dict[str, Any]:
    data_dir = root / f"account-{rows}"
    account = find_object("Account")
    assert account is not None
    fields = [f.name for f in account.fields if f.type not in ("address", "location")]
    generation_started = time.perf_counter()
    process, url = _start_emulator(data_dir, rows)
    generation = time.perf_counter() - generation_started
    process.terminate()
    process.wait()

    process, url = _start_emulator(data_dir, rows)  # reuses the generated org: serving figures only
    sampler = RssSampler(process.pid)
    ca = ssl.create_default_context(cafile=str(data_dir / "tls" / "ca.pem"))
    try:
        with httpx.Client(base_url=url, verify=ca, timeout=600) as client:
            token = client.post(
                "/services/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=("headwater-demo-client", "headwater-demo-secret"),
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            job = client.post(
                f"{V}/jobs/query",
                json={"operation": "query", "query": f"SELECT {', '.join(fields)} FROM Account"},
            ).json()
            while client.get(f"{V}/jobs/query/{job['id']}").json()["state"] != "JobComplete":
                time.sleep(0.05)
            job_seconds = time.perf_counter() - started
            got_rows, size, pages = _all_pages(client, job["id"], max_records)
            cold = time.perf_counter() - started
            started = time.perf_counter()
            _all_pages(client, job["id"], max_records)
            warm = time.perf_counter() - started
        assert got_rows == rows, (got_rows, rows)
        floor_size, floor_seconds = _floor(data_dir / "jobs" / job["id"], data_dir / "tls", ca)
        assert floor_size == size, (floor_size, size)
    finally:
        process.terminate()
        process.wait()
        peak = sampler.stop()
    print(f"--- Account x {rows:,} ({len(fields)} columns, {pages} pages of <= {max_records:,} rows)")
    print(
        f"generation (first start, incl. TLS + org): {generation:.1f} s; job to JobComplete: {job_seconds:.2f} s"
    )
    print(_figures("emulator cold (render + serve)", rows, size, cold))
    print(_figures("emulator warm (serve from disk)", rows, size, warm))
    print(_figures("floor: static HTTPS file server", rows, floor_size, floor_seconds))
    print(
        f"warm / floor MB/s: {floor_seconds / warm * 100:.0f} %; emulator peak RSS while serving: {peak / 2**20:.0f} MiB",
        flush=True,
    )
    return {"rows": rows, "peak": peak}


def main(argv: list[str]) -> None:
    options = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    sizes = [int(s) for s in options.get("rows", "100000,1000000").split(",")]
    max_records = int(options.get("max-records", "50000"))
    root = Path(tempfile.mkdtemp(prefix="hw-bench-emulator-"))
    try:
        results = [run_size(rows, max_records, root) for rows in sizes]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if len(results) > 1:
        ratio = results[-1]["peak"] / results[0]["peak"]
        print(f"peak RSS {results[-1]['rows']:,} rows / {results[0]['rows']:,} rows: {ratio:.2f}x")
