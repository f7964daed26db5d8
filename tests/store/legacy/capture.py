"""Capture a store built by an older Headwater, for the migration test (``test_migration_from_0002.py``).

Run it with the older checkout's interpreter, against that checkout's own ``headwater`` command:

    git worktree add ../hw-old <commit>            # e.g. 6ad86a1, the last commit on schema 0002
    (cd ../hw-old && make setup)
    ../hw-old/.venv/bin/python tests/store/legacy/capture.py ../hw-old/.venv/bin/headwater OUT.json

It talks to the old code only through its CLI and its HTTP API (so it keeps working whatever the old code's
internals were): it starts the Salesforce emulator and ``headwater serve`` on a fresh data directory,
creates every kind of resource in two sandboxes (connections, source and target connections, datasets,
mapping sets with two versions, enabled/disabled/once flows, successful and failed runs), stops the
server, and writes one JSON file with

* ``tables``: every row of every table of the SQLite store, values as JSON (bytes base64, text as is);
* ``responses``: the API's answer to every by-id GET and every list GET it made, keyed by path;
* ``secret_key``: the Fernet key the store's secrets are sealed with;
* ``revision``: the Alembic revision of the captured store.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

FLOW = "/data/foundation/flowservice"
CATALOG = "/data/foundation/catalog"
CONVERSION = "/data/foundation/conversion"
SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
SCHEMA = "https://ns.adobe.com/acme/schemas/417a33eg81a221bd10495920574gfa2d"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, verify: Any = True, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(url, verify=verify, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s")


class Api:
    def __init__(self, base: str, creds: dict[str, str], sandbox: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.creds = creds
        self.sandbox = sandbox
        self.responses: dict[str, Any] = {}

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.creds['accessToken']}",
            "x-api-key": self.creds["clientId"],
            "x-gw-ims-org-id": self.creds["imsOrgId"],
            "x-sandbox-name": self.sandbox,
        }

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, headers=self.headers(), **kwargs)
        if response.status_code >= 300:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def record(self, path: str) -> Any:
        body = self.call("GET", path)
        self.responses[f"{self.sandbox} {path}"] = body
        return body


def build(api: Api, emulator: dict[str, str], *, runs: bool) -> dict[str, Any]:
    auth = {
        "environmentUrl": emulator["url"],
        "username": emulator["username"],
        "password": emulator["password"],
        "securityToken": emulator["token"],
    }
    base = api.call(
        "POST",
        f"{FLOW}/connections",
        json={
            "name": "ACME Salesforce",
            "description": "the CRM",
            "auth": {"specName": "Basic Authentication", "params": auth},
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        },
    )["id"]
    spare = api.call(
        "POST",
        f"{FLOW}/connections",
        json={
            "name": "Spare account",
            "auth": {"specName": "Basic Authentication", "params": auth},
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        },
    )
    api.http.patch(
        f"{FLOW}/connections/{spare['id']}",
        headers={**api.headers(), "If-Match": spare["etag"]},
        json=[{"op": "replace", "path": "/name", "value": "Spare account (renamed)"}],
    ).raise_for_status()
    sources, targets, mappings, datasets = [], [], [], []
    for table, columns in (("Account", ("Id", "Name", "Phone")), ("Contact", ("Id", "FirstName", "Email"))):
        sources.append(
            api.call(
                "POST",
                f"{FLOW}/sourceConnections",
                json={
                    "name": f"{table} source",
                    "baseConnectionId": base,
                    "data": {"format": "tabular"},
                    "params": {
                        "tableName": table,
                        "columns": [
                            {"name": c, "type": "string", "xdm": {"type": "String"}} for c in columns
                        ],
                    },
                    "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
                },
            )["id"]
        )
        created = api.call(
            "POST",
            f"{CATALOG}/dataSets?requestDataSource=true",
            json={
                "name": f"{table} dataset",
                "schemaRef": {"id": SCHEMA, "contentType": "application/vnd.adobe.xed-full+json;version=1"},
            },
        )
        datasets.append(created[0].rsplit("/", 1)[1])
        targets.append(
            api.call(
                "POST",
                f"{FLOW}/targetConnections",
                json={
                    "name": f"{table} target",
                    "data": {
                        "schema": {"id": SCHEMA, "version": "application/vnd.adobe.xed-full+json;version=1"}
                    },
                    "params": {"dataSetId": datasets[-1]},
                    "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
                },
            )["id"]
        )
        first = {
            "xdmSchema": SCHEMA,
            "xdmVersion": "1.0",
            "mappings": [
                {"sourceType": "ATTRIBUTE", "source": "Id", "destination": "key.sourceID"},
                {"sourceType": "ATTRIBUTE", "source": columns[1], "destination": "name"},
            ],
        }
        mapping = api.call("POST", f"{CONVERSION}/mappingSets", json=first)["id"]
        second = {
            "outputSchema": {
                "schemaRef": {"id": SCHEMA, "contentType": "application/vnd.adobe.xed+json;version=1"}
            },
            "mappings": [
                *first["mappings"],
                {"sourceType": "EXPRESSION", "source": f"lower({columns[2]})", "destination": "extra"},
            ],
        }
        api.call("PUT", f"{CONVERSION}/mappingSets/{mapping}", json=second)
        mappings.append(mapping)
    api.http.patch(
        f"{CATALOG}/dataSets/{datasets[0]}",
        headers=api.headers(),
        json=[{"op": "add", "path": "/tags/team", "value": ["crm"]}],
    ).raise_for_status()

    def flow(index: int, name: str, schedule: dict[str, Any], version: int) -> str:
        transformations: list[dict[str, Any]] = [
            {"name": "Mapping", "params": {"mappingId": mappings[index], "mappingVersion": version}}
        ]
        if schedule["frequency"] != "once":
            delta = {
                "deltaColumn": {"name": "LastModifiedDate", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
            }
            transformations.insert(0, {"name": "Copy", "params": delta})
        return str(
            api.call(
                "POST",
                f"{FLOW}/flows",
                json={
                    "name": name,
                    "description": f"{name} flow",
                    "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
                    "sourceConnectionIds": [sources[index]],
                    "targetConnectionIds": [targets[index]],
                    "transformations": transformations,
                    "scheduleParams": schedule,
                },
            )["id"]
        )

    start = str(int(time.time()) + 3600)
    hourly = flow(0, "Accounts hourly", {"startTime": start, "frequency": "hour", "interval": "1"}, 0)
    once = flow(1, "Contacts once", {"startTime": start, "frequency": "once"}, 1)
    disabled = flow(0, "Accounts (paused)", {"startTime": start, "frequency": "day", "interval": 1}, 1)
    api.call("POST", f"{FLOW}/flows/{disabled}/action?op=disable")
    flows = [hourly, once, disabled]
    run_ids: list[str] = []
    if runs:
        run_ids.append(api.call("POST", f"{FLOW}/runs", json={"flowId": once})["items"][0]["id"])
        wait_runs(api, run_ids)
        # A second run that fails: the base connection's password no longer works.
        current = api.call("GET", f"{FLOW}/connections/{base}")["items"][0]
        api.http.patch(
            f"{FLOW}/connections/{base}",
            headers={**api.headers(), "If-Match": current["etag"]},
            json=[{"op": "replace", "path": "/auth/params/password", "value": "wrong-password"}],
        ).raise_for_status()
        run_ids.append(
            api.call(
                "POST",
                f"{FLOW}/runs",
                json={"flowId": once, "params": {"windowStartTime": "1600000000", "windowEndTime": start}},
            )["items"][0]["id"]
        )
        wait_runs(api, run_ids)
    return {
        "connections": [base, spare["id"]],
        "sourceConnections": sources,
        "targetConnections": targets,
        "dataSets": datasets,
        "mappingSets": mappings,
        "flows": flows,
        "runs": run_ids,
    }


def wait_runs(api: Api, run_ids: list[str], timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = [
            api.call("GET", f"{FLOW}/runs/{r}")["items"][0]["metrics"]["statusSummary"]["status"]
            for r in run_ids
        ]
        if all(s in ("success", "failed") for s in states):
            return
        time.sleep(1)
    raise SystemExit(f"runs {run_ids} did not finish")


def record_all(api: Api, made: dict[str, Any]) -> None:
    for kind in ("connections", "sourceConnections", "targetConnections", "flows", "runs"):
        for resource_id in made[kind]:
            api.record(f"{FLOW}/{kind}/{resource_id}")
        api.record(f"{FLOW}/{kind}")
        api.record(f"{FLOW}/{kind}?count=true")
    api.record(f"{FLOW}/runs?property=flowId=={made['flows'][1]}")
    api.record(f"{FLOW}/flows?property=state==disabled")
    api.record(f"{FLOW}/connections?orderby=-name&limit=1")
    for dataset in made["dataSets"]:
        api.record(f"{CATALOG}/dataSets/{dataset}")
    api.record(f"{CATALOG}/dataSets")
    for mapping in made["mappingSets"]:
        api.record(f"{CONVERSION}/mappingSets/{mapping}")
        api.record(f"{CONVERSION}/mappingSets/{mapping}?version=0")


def dump_tables(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    tables: dict[str, Any] = {}
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for name in names:
        rows = []
        for row in db.execute(f'SELECT * FROM "{name}"'):
            rows.append(
                {
                    key: {"b64": base64.b64encode(row[key]).decode()}
                    if isinstance(row[key], bytes)
                    else row[key]
                    for key in row.keys()  # noqa: SIM118 (sqlite3.Row is not a mapping)
                }
            )
        tables[name] = rows
    db.close()
    return tables


def main(headwater: str, out: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="hw-capture-"))
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    sf_port, port = free_port(), free_port()
    emulator = subprocess.Popen(
        [headwater, "emulator", "salesforce", "--port", str(sf_port), "--data-dir", str(work / "sf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "HEADWATER_SECRET_KEY": key,
        "HEADWATER_DATA_DIR": str(work / "data"),
        "HEADWATER_PORT": str(port),
        "HEADWATER_CA_BUNDLE": str(work / "sf" / "tls" / "ca.pem"),
    }
    server = None
    try:
        wait_for(f"https://127.0.0.1:{sf_port}/", verify=False)
        sandbox = subprocess.run(
            [headwater, "credentials", "--json"], env=env, capture_output=True, text=True
        )
        creds = json.loads(sandbox.stdout)
        subprocess.run(
            [headwater, "sandboxes", "create", "--org", creds["imsOrgId"], "dev"], env=env, check=True
        )
        server = subprocess.Popen(
            [headwater, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(f"http://127.0.0.1:{port}/health")
        creds = json.loads(
            subprocess.run(
                [headwater, "credentials", "--json"], env=env, capture_output=True, text=True
            ).stdout
        )
        sf = {
            "url": f"https://127.0.0.1:{sf_port}",
            "username": "demo@headwater.example",
            "password": "headwater-demo",
            "token": "HWTOKEN123",
        }
        responses: dict[str, Any] = {}
        made: dict[str, Any] = {}
        for name, runs in (("prod", True), ("dev", False)):
            api = Api(f"http://127.0.0.1:{port}", creds, name)
            made[name] = build(api, sf, runs=runs)
            record_all(api, made[name])
            responses.update(api.responses)
        server.send_signal(signal.SIGINT)
        server.wait(60)
        database = work / "data" / "headwater.db"
        tables = dump_tables(database)
        revision = tables["alembic_version"][0]["version_num"]
        Path(out).write_text(
            json.dumps(
                {
                    "revision": revision,
                    "secret_key": key,
                    "made": made,
                    "tables": tables,
                    "responses": responses,
                },
                indent=1,
                sort_keys=True,
            )
        )
        print(
            f"captured revision {revision}: {sum(len(v) for v in tables.values())} rows, {len(responses)} answers"
        )
    finally:
        for process in (server, emulator):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
