"""List endpoints at scale: the same four requests on a small and on a large store, SQLite and PostgreSQL.

    python -m bench listing [--large-flows=10000] [--large-runs=1000000] [--requests=50] [--db=sqlite,postgres]

For each database, a small store (100 flows, 1,000 runs) and a large one (10,000 flows, 1,000,000 runs;
as many base, source and target connections as flows; 0.1 % of the runs failed) are bulk-loaded through
the store (``store.testing`` rows, batched inserts), then the API answers, in-process (the ASGI app
driven by Starlette's test client, so only the server's work is timed):

* ``GET /flows?limit=20`` (a page of flows with their inherited connections and last runs),
* ``GET /connections?limit=20&property=name==<the oldest connection's name>``,
* ``GET /runs?limit=20&property=flowId==<a flow>``,
* ``GET /runs?property=state==failed&count=true`` (an exact count).

The planner's statistics are refreshed after the load, as a running deployment has them (PostgreSQL's
autovacuum; the runtime's ``refresh_statistics`` on SQLite). Each is timed ``--requests`` times after a
warm-up; the median is compared with the small store's
median for the same request (the floor, measured in the same run). Target: large / small <= 2.0.
PostgreSQL is the server at ``HEADWATER_TEST_POSTGRES_URL`` (default 127.0.0.1:5432/test), in a
schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

POSTGRES_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 10_000


def _option(argv: list[str], name: str, default: str) -> str:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


@contextmanager
def _engine(kind: str) -> Iterator[Any]:
    import sqlalchemy as sa

    from headwater.store import db

    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="hw-bench-listing-")
        engine = db.make_engine(f"sqlite:///{folder}/headwater.db")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"hw_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(POSTGRES_URL, schema=schema)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _load(engine: Any, org_id: str, flows: int, runs_total: int) -> dict[str, str]:
    """Bulk-load ``flows`` flows (each with its own base, source and target connection) and
    ``runs_total`` finished runs spread evenly over them. Returns the ids the requests need."""
    import sqlalchemy as sa

    from headwater.store.models import Connection, Dataset, Flow, SourceConnection, TargetConnection
    from headwater.store.runtime_tables import runs
    from headwater.store.testing import DATA_LAKE, SALESFORCE, ensure_tenant, flow_values, run_values

    sandbox, t0 = "prod", 1_700_000_000_000
    with engine.begin() as conn:
        ensure_tenant(conn, org_id, sandbox)
        conn.execute(
            sa.insert(Dataset).values(
                **_meta(Dataset, "bench-dataset", org_id, t0),
                name="bench",
                tags={},
                extra={},
                schema_ref=None,
            )
        )
    for start in range(0, flows, BATCH):
        numbers = range(start, min(start + BATCH, flows))
        with engine.begin() as conn:
            conn.execute(
                sa.insert(Connection),
                [
                    {
                        **_meta(Connection, f"c{i}", org_id, t0 + i),
                        "name": f"account {i:06d}",
                        "connection_spec_id": SALESFORCE,
                        "connection_spec_version": "1.0",
                        "auth_spec_name": "Basic Authentication",
                        "auth_params": {"username": f"user{i}"},
                        "secrets": None,
                    }
                    for i in numbers
                ],
            )
            conn.execute(
                sa.insert(SourceConnection),
                [
                    {
                        **_meta(SourceConnection, f"s{i}", org_id, t0 + i),
                        "name": f"source {i}",
                        "base_connection_id": f"c{i}",
                        "connection_spec_id": SALESFORCE,
                        "connection_spec_version": "1.0",
                        "data": {"format": "tabular"},
                        "params": {"tableName": "Account", "columns": [{"name": "Id"}]},
                        "provider_ref_id": None,
                    }
                    for i in numbers
                ],
            )
            conn.execute(
                sa.insert(TargetConnection),
                [
                    {
                        **_meta(TargetConnection, f"t{i}", org_id, t0 + i),
                        "name": f"target {i}",
                        "base_connection_id": None,
                        "connection_spec_id": DATA_LAKE,
                        "connection_spec_version": "1.0",
                        "data": {},
                        "params": {"dataSetId": "bench-dataset"},
                        "dataset_id": "bench-dataset",
                    }
                    for i in numbers
                ],
            )
            conn.execute(
                sa.insert(Flow),
                [
                    flow_values(
                        f"f{i}",
                        org_id,
                        sandbox,
                        {"startTime": "1700000000", "frequency": "hour", "interval": "1"},
                        name=f"flow {i:06d}",
                        created_at=t0 + i,
                        source_connection_id=f"s{i}",
                        target_connection_id=f"t{i}",
                    )
                    for i in numbers
                ],
            )
    failed_every = 1000
    for start in range(0, runs_total, BATCH):
        with engine.begin() as conn:
            conn.execute(
                sa.insert(runs),
                [
                    run_values(
                        f"r{n}",
                        f"f{n % flows}",
                        org_id,
                        sandbox,
                        created_at=t0 + n,
                        status="failed" if n % failed_every == 7 else "success",
                        records=n % 500,
                    )
                    for n in range(start, min(start + BATCH, runs_total))
                ],
            )
    return {"oldest": "account 000000", "flow": f"f{flows // 2}"}


def _meta(model: Any, row_id: str, org_id: str, created: int) -> dict[str, Any]:
    return {
        "id": row_id,
        "org_id": org_id,
        "sandbox_name": "prod",
        "state": "enabled",
        "etag": f'"{row_id}"',
        "created_at": created,
        "updated_at": created,
        "created_by": "bench@AdobeID",
        "updated_by": "bench@AdobeID",
        "created_client": "bench",
        "updated_client": "bench",
        **({"description": None} if hasattr(model, "description") else {}),
    }


def _timings(kind: str, flows: int, runs_total: int, requests: int) -> dict[str, float]:
    from cryptography.fernet import Fernet
    from starlette.testclient import TestClient

    from headwater.api.app import create_app
    from headwater.core.settings import load_settings
    from headwater.store import db, tenants

    with _engine(kind) as engine:
        db.upgrade(engine)
        settings = load_settings(data_dir=Path(tempfile.mkdtemp()), secret_key=Fernet.generate_key().decode())
        app = create_app(settings, engine=engine)
        state = app.state.headwater
        with state.sessions() as session, session.begin():
            org = tenants.create_org(session, "Bench Org")
            issued = tenants.create_client(session, org.id)
        started = time.perf_counter()
        ids = _load(engine, org.id, flows, runs_total)
        loaded = time.perf_counter() - started
        # What a running deployment has: PostgreSQL's autovacuum analyzes; on SQLite the runtime
        # refreshes the planner's statistics every ten minutes (store.db.refresh_statistics).
        if kind == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            db.refresh_statistics(engine)
        with TestClient(app) as http:
            token = http.post(
                "/ims/token/v3",
                data={
                    "grant_type": "client_credentials",
                    "client_id": issued.client_id,
                    "client_secret": issued.client_secret,
                },
            ).json()["access_token"]
            headers = {
                "Authorization": f"Bearer {token}",
                "x-api-key": issued.client_id,
                "x-gw-ims-org-id": org.id,
                "x-sandbox-name": "prod",
            }
            base = "/data/foundation/flowservice"
            cases = {
                "GET /flows?limit=20": f"{base}/flows?limit=20",
                "GET /connections?limit=20&property=name==<oldest>": f"{base}/connections?limit=20&property=name=={ids['oldest']}",
                "GET /runs?limit=20&property=flowId==<id>": f"{base}/runs?limit=20&property=flowId=={ids['flow']}",
                "GET /runs?property=state==failed&count=true": f"{base}/runs?property=state==failed&count=true",
            }
            medians: dict[str, float] = {}
            for name, path in cases.items():
                for _ in range(5):
                    assert http.get(path, headers=headers).status_code == 200
                samples = []
                for _ in range(requests):
                    start = time.perf_counter()
                    response = http.get(path, headers=headers)
                    samples.append(time.perf_counter() - start)
                    assert response.status_code == 200, response.text
                medians[name] = statistics.median(samples) * 1000
            count = http.get(cases["GET /runs?property=state==failed&count=true"], headers=headers).json()[
                "count"
            ]
        expected = sum(1 for n in range(runs_total) if n % 1000 == 7)
        assert count == expected, (count, expected)
        print(
            f"  {kind}: {flows:,} flows / {runs_total:,} runs loaded in {loaded:.1f} s; failed runs counted: {count:,}"
        )
        return medians


def main(argv: list[str]) -> None:
    large_flows = int(_option(argv, "large-flows", "10000"))
    large_runs = int(_option(argv, "large-runs", "1000000"))
    requests = int(_option(argv, "requests", "50"))
    kinds = [
        k.replace("postgres", "postgresql").replace("postgresqlql", "postgresql")
        for k in _option(argv, "db", "sqlite,postgres").split(",")
    ]
    print(f"median of {requests} requests each, in-process; small = 100 flows / 1,000 runs; "
          f"large = {large_flows:,} flows / {large_runs:,} runs")  # fmt: skip
    verdicts = []
    for kind in kinds:
        small = _timings(kind, 100, 1_000, requests)
        large = _timings(kind, large_flows, large_runs, requests)
        print(f"  {'request':52} {'small ms':>9} {'large ms':>9} {'large/small':>12}")
        for name in small:
            ratio = large[name] / small[name]
            verdicts.append(ratio <= 2.0)
            print(f"  {name:52} {small[name]:9.2f} {large[name]:9.2f} {ratio:11.2f}x")
    print("target: every large/small <= 2.0x —", "met" if all(verdicts) else "NOT met")
