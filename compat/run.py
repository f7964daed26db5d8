"""``make compat``: the peers' unmodified Salesforce clients against the emulator, each in its own
virtualenv, each landing every Account and Contact of a 200k-record org.

Clients: simple-salesforce (REST + Bulk 2.0 + COUNT()), Airbyte's source-salesforce (its CLI:
discover, read), Singer's tap-salesforce (its CLI, Bulk 1.0 CSV) and a dlt pipeline built as dlt's
verified source (simple-salesforce Bulk 1.0 JSON, ORDER BY the incremental key, DuckDB). Only the login
URL is pointed at the emulator: every client logs in at ``https://login.salesforce.com``, which
``connect_proxy.py`` (``HTTPS_PROXY``) tunnels to the emulator, whose certificate names that host and
whose CA the clients trust (``REQUESTS_CA_BUNDLE``). Not part of ``make test``: it installs packages
and takes minutes.

    .venv/bin/python compat/run.py [--rows 200000] [--clients simple-salesforce,airbyte,tap,dlt]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLIENTS = ("simple-salesforce", "airbyte", "tap", "dlt")
CREDENTIALS = {
    "username": "demo@headwater.example",
    "password": "headwater-demo",
    "security_token": "HWTOKEN123",
    "client_id": "headwater-demo-client",
    "client_secret": "headwater-demo-secret",
    "refresh_token": "headwater-demo-refresh-token",
}
START_DATE = "2015-01-01T00:00:00Z"  # before every generated record (2020-2024)
sys.path.insert(0, str(HERE))

from connect_proxy import ConnectProxy  # noqa: E402


def requirements() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (HERE / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, specs = line.partition(":")
            found[name.strip()] = specs.split()
    return found


def python_for_clients() -> str:
    """Python 3.11 (Airbyte's connector needs < 3.12 at the pinned versions): COMPAT_PYTHON, else a
    python3.11 on PATH or under pyenv, else this interpreter."""
    if os.environ.get("COMPAT_PYTHON"):
        return os.environ["COMPAT_PYTHON"]
    candidates = [
        shutil.which("python3.11"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python"))),
    ]
    return next((c for c in candidates if c), sys.executable)


def ensure_venv(work: Path, client: str, specs: list[str]) -> Path:
    venv = work / "venvs" / client
    stamp = venv / "compat-requirements.txt"
    if stamp.exists() and stamp.read_text() == " ".join(specs):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python_for_clients(), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *specs], check=True)
    stamp.write_text(" ".join(specs))
    return venv


def start_emulator(work: Path, rows: int) -> tuple[subprocess.Popen[str], int, Path]:
    data = work / "emulator"
    command = [
        str(ROOT / ".venv" / "bin" / "headwater"), "emulator", "salesforce", "--port", "0",
        "--data-dir", str(data), "--rows", f"Account={rows}", "--rows", f"Contact={rows}",
        "--tls-name", "login.salesforce.com", "--tls-name", "test.salesforce.com",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"listening on https://127\.0\.0\.1:(\d+)", line)
        if match:
            return process, int(match.group(1)), data / "tls" / "ca.pem"
    raise RuntimeError("the emulator did not start")


def client_env(proxy: ConnectProxy, ca_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        HTTPS_PROXY=proxy.url,
        https_proxy=proxy.url,
        REQUESTS_CA_BUNDLE=str(ca_file),
        SSL_CERT_FILE=str(ca_file),
        NO_PROXY="127.0.0.1,localhost",
        COMPAT_USERNAME=CREDENTIALS["username"],
        COMPAT_PASSWORD=CREDENTIALS["password"],
        COMPAT_SECURITY_TOKEN=CREDENTIALS["security_token"],
    )
    return env


def count_records(command: list[str], env: dict[str, str], log: Path) -> dict[str, set[str]]:
    """Run a Singer/Airbyte CLI in the log's folder (Airbyte downloads Bulk results into its working
    directory); collect the Ids of its RECORD messages per stream."""
    ids: dict[str, set[str]] = {}
    with log.open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env, cwd=log.parent)
        assert process.stdout is not None
        for line in process.stdout:
            if b'"RECORD"' not in line[:40]:
                if line.strip():
                    errors.write(line[:2000].decode("utf-8", "replace"))
                continue
            message = orjson.loads(line)
            if "stream" in message:  # Singer: {"type": "RECORD", "stream": ..., "record": {...}}
                stream, data = message["stream"], message["record"]
            else:  # Airbyte: {"type": "RECORD", "record": {"stream": ..., "data": {...}}}
                stream, data = message["record"]["stream"], message["record"]["data"]
            ids.setdefault(stream, set()).add(data["Id"])
        code = process.wait()
    if code != 0:
        raise RuntimeError(f"{command[0]} exited {code}; see {log}")
    return ids


def run_airbyte(venv: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    folder = work / "airbyte"
    folder.mkdir(exist_ok=True)
    config = {
        "client_id": CREDENTIALS["client_id"],
        "client_secret": CREDENTIALS["client_secret"],
        "refresh_token": CREDENTIALS["refresh_token"],
        "start_date": START_DATE,
        "is_sandbox": False,
        # Bulk 2.0 for objects with compound fields too (they are left out): the path whose paging reads
        # Sforce-Locator; without it Airbyte reads Account and Contact over REST
        "force_use_bulk_api": True,
    }
    (folder / "config.json").write_text(json.dumps(config))
    binary = str(venv / "bin" / "source-salesforce")
    discovered = subprocess.run(
        [binary, "discover", "--config", str(folder / "config.json")],
        env=env, capture_output=True, check=True, cwd=folder,
    )  # fmt: skip
    catalog = next(
        orjson.loads(line)["catalog"] for line in discovered.stdout.splitlines() if b'"CATALOG"' in line[:40]
    )
    streams = [
        {"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
        for s in catalog["streams"]
        if s["name"] in ("Account", "Contact")
    ]
    (folder / "catalog.json").write_text(json.dumps({"streams": streams}))
    command = [
        binary,
        "read",
        "--config",
        str(folder / "config.json"),
        "--catalog",
        str(folder / "catalog.json"),
    ]
    ids = count_records(command, env, folder / "read.log")
    return {name: len(ids.get(name, ())) for name in ("Account", "Contact")}


def run_tap(venv: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    folder = work / "tap"
    folder.mkdir(exist_ok=True)
    config = {
        "client_id": CREDENTIALS["client_id"],
        "client_secret": CREDENTIALS["client_secret"],
        "refresh_token": CREDENTIALS["refresh_token"],
        "start_date": START_DATE,
        "api_type": "BULK",
        "select_fields_by_default": True,
    }
    (folder / "config.json").write_text(json.dumps(config))
    binary = str(venv / "bin" / "tap-salesforce")
    discovered = subprocess.run(
        [binary, "--config", str(folder / "config.json"), "--discover"],
        env=env,
        capture_output=True,
        check=True,
    )
    catalog = json.loads(discovered.stdout)
    catalog["streams"] = [s for s in catalog["streams"] if s["stream"] in ("Account", "Contact")]
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    (folder / "catalog.json").write_text(json.dumps(catalog))
    command = [binary, "--config", str(folder / "config.json"), "--properties", str(folder / "catalog.json")]
    ids = count_records(command, env, folder / "sync.log")
    return {name: len(ids.get(name, ())) for name in ("Account", "Contact")}


def run_script(venv: Path, script: str, work: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    folder = work / script.removesuffix(".py")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    done = subprocess.run(
        [str(venv / "bin" / "python"), str(HERE / "clients" / script), *args, str(folder)],
        env=env, capture_output=True, text=True, cwd=folder,
    )  # fmt: skip
    (folder / "run.log").write_text(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{script} exited {done.returncode}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".compat")
    args = parser.parse_args()
    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    chosen = [c.strip() for c in args.clients.split(",") if c.strip()]
    specs = requirements()
    venvs = {client: ensure_venv(work, client, specs[client]) for client in chosen}
    emulator, port, ca_file = start_emulator(work, args.rows)
    proxy = ConnectProxy(port).start()
    env = client_env(proxy, ca_file)
    results: dict[str, Any] = {}
    failed = False
    try:
        for client in chosen:
            started = time.monotonic()
            try:
                if client == "airbyte":
                    counts = run_airbyte(venvs[client], work, env)
                elif client == "tap":
                    counts = run_tap(venvs[client], work, env)
                elif client == "dlt":
                    counts = run_script(venvs[client], "dlt_pipeline.py", work, env)
                else:
                    counts = run_script(venvs[client], "simple_salesforce_client.py", work, env)
            except Exception as exc:  # report every client, then fail
                counts = {"error": str(exc)[-1500:]}
            elapsed = time.monotonic() - started
            ok = counts.get("Account") == args.rows and counts.get("Contact") == args.rows
            failed |= not ok
            results[client] = {**counts, "seconds": round(elapsed, 1), "ok": ok}
            print(
                f"{client:18} {'OK  ' if ok else 'FAIL'} {json.dumps(counts)} in {elapsed:.1f} s", flush=True
            )
    finally:
        proxy.stop()
        emulator.terminate()
        emulator.wait(30)
    (work / "results.json").write_text(json.dumps({"rows": args.rows, "clients": results}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
