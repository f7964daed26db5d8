"""``headwater demo`` and ``headwater serve --demo``, run as a newcomer runs them (subprocesses)."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest
from deltalake import DeltaTable

from served import clean_env, credentials, free_port, start_headwater, wait_healthy

pytestmark = pytest.mark.slow
ROWS = "Account=300,Contact=300"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def headwater(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = clean_env(COLUMNS="200")  # rich wraps at the terminal width; keep the printed lines whole
    return subprocess.run(
        [sys.executable, "-m", "headwater", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def demo(data_dir: Path) -> str:
    result = headwater(
        "demo",
        "--data-dir",
        str(data_dir),
        "--port",
        "0",
        "--emulator-port",
        "0",
        "--rows",
        ROWS,
        "--exit-after-run",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


KINDS = {
    "connections": "connections",
    "sourceConnections": "source_connections",
    "targetConnections": "target_connections",
    "dataSets": "datasets",
    "mappingSets": "mapping_sets",
    "flows": "flows",
}


def resource_counts(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "headwater.db") as db:
        return {
            kind: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for kind, table in KINDS.items()
        }


def datasets(data_dir: Path) -> dict[str, DeltaTable]:
    """The demo's Delta tables by the object they hold (lake/<org>/<sandbox>/<dataset id>)."""
    found = {}
    for folder in (data_dir / "lake").glob("*/*/*"):
        if not DeltaTable.is_deltatable(str(folder)):
            continue  # the lake's own folders (staging)
        table = DeltaTable(str(folder))
        names = set(table.schema().to_arrow().names)
        found["Contact" if "person" in names else "Account"] = table
    return found


def test_demo_lands_account_and_contact_and_is_idempotent(tmp_path: Path) -> None:
    first = demo(tmp_path)
    assert "Account 'Demo Salesforce' created" in first
    assert "Dataflow 'Demo Salesforce Account' created" in first and "success: 300 records written" in first
    assert "headwater query --data-dir" in first and "Acme Corp" in first  # the sample query ran

    org = duckdb.connect(str(tmp_path / "demo-salesforce" / "org.duckdb"), read_only=True)
    tables = datasets(tmp_path)
    assert set(tables) == {"Account", "Contact"}
    for name, table in tables.items():
        live = org.execute(f'SELECT count(*) FROM "{name}" WHERE NOT "IsDeleted"').fetchone()
        assert live is not None and table.to_pyarrow_table().num_rows == live[0] == 300
    # The mapping ran: concat/lower/upper/constants into nested columns, keyed by Id.
    accounts = {row["Id"]: row for row in tables["Account"].to_pyarrow_table().to_pylist()}
    source = org.execute(
        'SELECT "Id", "BillingCity", "BillingCountry", "Domain__c" FROM "Account"'
    ).fetchall()
    for record_id, city, country, domain in source:
        landed = accounts[record_id]
        assert landed["address"]["cityCountry"] == f"{city or ''}, {country or ''}"
        assert landed["web"]["domain"] == (domain.lower() if domain else None)
        assert landed["source"]["system"] == "salesforce-demo"
    contacts = tables["Contact"].to_pyarrow_table().to_pylist()
    emails = dict(org.execute('SELECT "Id", "Email" FROM "Contact"').fetchall())
    assert all(
        c["personalEmail"]["address"] == (emails[c["Id"]] or "").lower() or not emails[c["Id"]]
        for c in contacts
    )
    org.close()
    counts = resource_counts(tmp_path)
    assert counts == {
        "connections": 1,
        "sourceConnections": 2,
        "dataSets": 2,
        "targetConnections": 2,
        "mappingSets": 2,
        "flows": 2,
    }

    # Between two demos a record changes in the org (the emulator keeps it on disk).
    org = duckdb.connect(str(tmp_path / "demo-salesforce" / "org.duckdb"))
    (changed,) = org.execute('SELECT min("Id") FROM "Account"').fetchone() or ("",)
    org.execute(
        'UPDATE "Account" SET "Name" = \'Renamed Co\', "SystemModstamp" = now()::TIMESTAMP, '
        '"LastModifiedDate" = now()::TIMESTAMP WHERE "Id" = ?',
        [changed],
    )
    org.close()

    second = demo(tmp_path)  # the same data dir: everything is found, nothing created twice
    assert (
        "Account 'Demo Salesforce' found" in second and "Dataflow 'Demo Salesforce Contact' found" in second
    )
    assert resource_counts(tmp_path) == counts
    assert "success: 300 records written" not in second  # an incremental run: only what changed
    tables = datasets(tmp_path)
    assert {name: t.to_pyarrow_table().num_rows for name, t in tables.items()} == {
        "Account": 300,
        "Contact": 300,
    }
    renamed = [r for r in tables["Account"].to_pyarrow_table().to_pylist() if r["Id"] == changed]
    assert [r["name"] for r in renamed] == ["Renamed Co"]


def test_demo_reports_a_busy_port_clearly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = headwater(
            "demo", "--data-dir", str(tmp_path), "--port", str(port), "--emulator-port", "0", "--rows", "Account=10",
            "--exit-after-run",
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_serve_demo_adds_a_working_demo_account(tmp_path: Path) -> None:
    port = free_port()
    process = start_headwater("serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=120)
        creds = credentials(tmp_path)
        headers = {
            "Authorization": f"Bearer {creds['accessToken']}",
            "x-api-key": creds["clientId"],
            "x-gw-ims-org-id": creds["imsOrgId"],
            "x-sandbox-name": creds["sandboxName"],
        }
        base = url + "/data/foundation/flowservice"
        listed = httpx.get(base + "/connections", headers=headers).json()["items"]
        (account,) = [c for c in listed if c["name"] == "Demo Salesforce"]
        assert account["auth"]["params"]["password"] == "*****"  # masked like every secret
        tested = httpx.get(f"{base}/connections/{account['id']}/test", headers=headers, timeout=60)
        assert tested.status_code == 200, tested.text
        # examples/aepp_dataflow.py builds and runs a dataflow on that account with aepp, unchanged.
        creds_file = tmp_path / "creds.json"
        creds_file.write_text(json.dumps(creds))
        example = subprocess.run(
            [sys.executable, str(EXAMPLES / "aepp_dataflow.py"), url, str(creds_file)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert example.returncode == 0, example.stdout + example.stderr
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "Demo Salesforce emulator at https://127.0.0.1:" in output
    assert "headwater-demo" not in output  # the emulator's password is never printed by serve
    org = duckdb.connect(str(tmp_path / "demo-salesforce" / "org.duckdb"), read_only=True)  # free now
    accounts = org.execute('SELECT count(*) FROM "Account" WHERE NOT "IsDeleted"').fetchone()
    org.close()
    assert accounts is not None and accounts[0] > 0
    assert f"success, {accounts[0]} records in, {accounts[0]} out, 0 failed" in example.stdout
