"""API server throughput: authenticated GET /connections/{id} and POST /connections vs. /health.

`headwater serve` runs in a subprocess exactly as by default (one uvicorn process, SQLite in a temp
data dir); 32 concurrent keep-alive clients on loopback (a minimal asyncio HTTP/1.1 client) hit each
endpoint for a fixed time. The trivial
unauthenticated /health of the same app, served the same way, is the floor measured in the same run.

    python -m bench api [--seconds=5] [--clients=32] [--rounds=5]

Each endpoint's seconds are split into interleaved rounds (health, spec, GET, POST, health, ...), so a
load swing on a shared machine hits every endpoint alike; ratios are also given per round.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _option(argv: list[str], name: str, default: float) -> float:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return float(arg.split("=", 1)[1])
    return default


def _connection_body(i: int) -> dict[str, Any]:
    return {
        "name": f"bench {i}",
        "auth": {"specName": "Basic Authentication",
                 "params": {"username": "u", "password": "p", "securityToken": "t"}},
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }  # fmt: skip


class _Conn:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def _request(method: str, port: int, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _load(
    port: int, clients: int, seconds: float, make: Callable[[int], bytes], expect: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal errors
        conn = _Conn(*await asyncio.open_connection("127.0.0.1", port))
        i = 0
        while time.perf_counter() < stop:
            raw = make(n * 1_000_000 + i)
            start = time.perf_counter()
            status = await conn.send(raw)
            latencies.append(time.perf_counter() - start)
            errors += status != expect
            i += 1
        conn.writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors}


def _merge(rounds: list[dict[str, Any]]) -> dict[str, float]:
    latencies = sorted(x for r in rounds for x in r["latencies"])
    return {
        "rps": len(latencies) / sum(r["elapsed"] for r in rounds),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
        "errors": sum(r["errors"] for r in rounds),
    }


def _ratio(endpoint: list[dict[str, Any]], floor: list[dict[str, Any]]) -> str:
    """Overall ratio, then per round (each round's floor measured right beside it): min/median/max."""
    per_round = sorted(
        (len(e["latencies"]) / e["elapsed"]) / (len(f["latencies"]) / f["elapsed"])
        for e, f in zip(endpoint, floor, strict=True)
    )
    overall = _merge(endpoint)["rps"] / _merge(floor)["rps"]
    return (
        f"{overall:.0%} (per round min {per_round[0]:.0%}, median {statistics.median(per_round):.0%}, "
        f"max {per_round[-1]:.0%})"
    )


def main(argv: list[str]) -> None:
    seconds, clients = _option(argv, "seconds", 5), int(_option(argv, "clients", 32))
    rounds = int(_option(argv, "rounds", 5))
    data_dir = tempfile.mkdtemp(prefix="hw-bench-")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")},
        "HEADWATER_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "headwater", "serve", "--port", str(port), "--data-dir", data_dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        _wait(url)
        creds = json.loads(subprocess.run(
            [sys.executable, "-m", "headwater", "credentials", "--data-dir", data_dir, "--json"],
            check=True, capture_output=True, text=True, env=env,
        ).stdout)  # fmt: skip
        headers = {
            "Authorization": f"Bearer {creds['accessToken']}",
            "x-api-key": creds["clientId"],
            "x-gw-ims-org-id": creds["imsOrgId"],
            "x-sandbox-name": creds["sandboxName"],
        }
        base = "/data/foundation/flowservice"
        created = httpx.post(url + base + "/connections", json=_connection_body(0), headers=headers).json()
        health = _request("GET", port, "/health", {})
        get_spec = _request("GET", port, f"{base}/connectionSpecs/{SALESFORCE}", headers)
        get_one = _request("GET", port, f"{base}/connections/{created['id']}", headers)
        cases: list[tuple[str, Callable[[int], bytes], int]] = [
            ("GET /health (trivial, no auth)", lambda i: health, 200),
            ("GET /connectionSpecs/{id} (auth, no DB)", lambda i: get_spec, 200),
            ("GET /connections/{id} (authenticated)", lambda i: get_one, 200),
            ("POST /connections (authenticated)",
             lambda i: _request("POST", port, f"{base}/connections", headers, json.dumps(_connection_body(i)).encode()),
             201),
        ]  # fmt: skip
        print(
            f"{clients} clients, {seconds:.0f} s per endpoint in {rounds} interleaved rounds, "
            "one uvicorn process (as `headwater serve`), SQLite (WAL)"
        )
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in cases}
        # Interleaved short rounds: on a shared machine the load moves by the second, and endpoints
        # measured one after another would each see a different machine.
        for _ in range(rounds):
            for name, make, expect in cases:
                samples[name].append(asyncio.run(_load(port, clients, seconds / rounds, make, expect)))
        print(f"{'endpoint':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, _, _ in cases:
            r = _merge(samples[name])
            print(f"{name:42} {r['rps']:9.0f} {r['p50']:8.1f} {r['p99']:8.1f} {int(r['errors']):7d}")
        floor, spec, by_id = (samples[cases[i][0]] for i in range(3))
        print(
            f"authenticated spec GET (header checks, no DB) = {_ratio(spec, floor)} of the trivial endpoint's rate"
        )
        print(f"authenticated GET = {_ratio(by_id, floor)} of the trivial endpoint's rate (target >= 50%)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not start")
