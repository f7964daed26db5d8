"""A dataflow run end to end: Salesforce emulator -> connector -> executor -> lake (one Delta commit).

For each size (default 100k and 1M Account rows, all non-compound columns), in the same run:

* extraction floor: the connector alone draining ``read("Account")`` (``bench_connector``'s child);
* full run: a stored flow executed by ``RunExecutor`` with the production plan builder (store
  resolution, connector, lake run writer), on a fresh SQLite store and lake;
* incremental run: 1 % of the rows updated at the source (emulator admin API), then a second run.

Each measurement runs in its own interpreter, so peak RSS (``ru_maxrss``) is that run's alone.
Usage: ``python -m bench dataflow [--rows=100000,1000000] [--changed=0.01]``
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
from urllib.parse import urlsplit

import httpx

from bench.bench_connector import CLIENT, VERSION
from bench.bench_emulator import _start_emulator


def _setup(url: str, ca: str, data_dir: str) -> tuple[Any, Any, str, str]:
    """A store with one once-flow from the emulator's Account table into dataset ``accounts``."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from headwater.core.scope import Scope
    from headwater.core.settings import load_settings
    from headwater.flows.runs import register_flow
    from headwater.store import db, tenants
    from headwater.store.crypto import SecretBox, load_secret_key
    from headwater.store.models import Flow
    from headwater.store.testing import ONCE, stored_dataflow

    allow = urlsplit(url).netloc  # the emulator on loopback, through the outbound policy
    settings = load_settings(data_dir=Path(data_dir), ca_bundle=Path(ca), outbound_allow=allow)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    box = SecretBox(load_secret_key(settings))
    with Session(engine) as session, session.begin():
        org = tenants.default_org(session) or tenants.create_org(session, "Bench", is_default=True)
        scope = Scope(org.id, "prod", "bench")
        existing = session.scalars(sa.select(Flow.id).where(Flow.org_id == org.id)).first()
        if existing:
            return settings, engine, org.id, existing
        flow_id = stored_dataflow(
            session,
            box,
            scope,
            auth_spec="OAuth2 Client Credential",
            auth_params={"environmentUrl": url, "clientId": CLIENT[0], "apiVersion": VERSION},
            secrets={"clientSecret": CLIENT[1]},
            table="Account",
            columns=[],
            dataset_id="accounts",
        )
        register_flow(session, flow_id=flow_id, org_id=org.id, sandbox_name="prod", schedule_params=ONCE)
        return settings, engine, org.id, flow_id


def child_run(url: str, ca: str, data_dir: str) -> dict[str, Any]:
    from headwater.flows.runs import create_run_for_flow, get_run
    from headwater.runtime.executor import RunExecutor
    from headwater.runtime.plans import dataflow_plan_builder

    settings, engine, org_id, flow_id = _setup(url, ca, data_dir)
    with engine.begin() as conn:
        run_id = create_run_for_flow(conn, flow_id=flow_id, org_id=org_id, sandbox_name="prod")["id"]
    executor = RunExecutor(engine, dataflow_plan_builder(settings, engine), "bench")
    started = time.perf_counter()
    status = executor.execute(run_id)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        doc = get_run(conn, run_id=run_id, org_id=org_id, sandbox_name="prod")
    if status != "success":
        raise RuntimeError(f"run ended {status}: {doc['metrics']['statusSummary']}")
    summary = doc["metrics"]["recordSummary"]
    lake = Path(settings.resolved_lake_root) / org_id / "prod" / "accounts"
    return {
        "rows": summary["inputRecordCount"],
        "written": summary["outputRecordCount"],
        "seconds": seconds,
        "lake": str(lake),
    }


def child_extract(url: str, ca: str) -> dict[str, Any]:
    from bench.bench_connector import child_connector

    return child_connector(url, ca, "Account")


def _child(kind: str, *args: Any) -> dict[str, Any]:
    code = (
        "import json, sys, resource; from bench import bench_dataflow as b; "
        f"r = b.{kind}(*json.loads(sys.argv[1])); "
        "r['rss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024; print(json.dumps(r))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _change_rows(url: str, ca: str, lake: str, fraction: float) -> int:
    """Rename every (1/fraction)-th Account through the emulator's admin API."""
    from deltalake import DeltaTable

    ids = sorted(DeltaTable(lake).to_pyarrow_table(columns=["Id"])["Id"].to_pylist())
    step = max(1, round(1 / fraction))
    chosen = ids[::step]
    with httpx.Client(base_url=url, verify=ca, timeout=30) as client:
        for record_id in chosen:
            client.patch(
                f"/__emulator__/records/Account/{record_id}", json={"Name": f"Changed {record_id}"}
            ).raise_for_status()
    return len(chosen)


def _line(label: str, r: dict[str, Any]) -> str:
    return (
        f"  {label:<34} {r['rows']:>9,} rows {r['seconds']:7.2f} s {r['rows'] / r['seconds']:>10,.0f} rows/s"
        f"  peak RSS {r['rss'] / 2**20:6.0f} MiB"
    )


def one_size(rows: int, root: Path, fraction: float) -> dict[str, Any]:
    data_dir = root / f"account-{rows}"
    process, url = _start_emulator(data_dir, rows)
    ca = str(data_dir / "tls" / "ca.pem")
    store_dir = str(root / f"store-{rows}")
    try:
        extract = _child("child_extract", url, ca)
        full = _child("child_run", url, ca, store_dir)
        changed = _change_rows(url, ca, full["lake"], fraction)
        incremental = _child("child_run", url, ca, store_dir)
    finally:
        process.terminate()
        process.wait()
    print(f"--- Account x {rows:,}")
    print(_line("floor: connector extraction only", extract))
    print(_line("full run (connector -> lake)", full))
    print(
        _line(f"incremental run ({changed:,} changed)", incremental) + f"  wrote {incremental['written']:,}"
    )
    ratio = (full["rows"] / full["seconds"]) / (extract["rows"] / extract["seconds"])
    print(
        f"  full run / extraction rows/s: {ratio:.0%}; incremental time / full: {incremental['seconds'] / full['seconds']:.0%}",
        flush=True,
    )
    return {"full": full, "extract": extract, "incremental": incremental}


def main(argv: list[str]) -> None:
    options = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    sizes = [int(x) for x in options.get("rows", "100000,1000000").split(",")]
    fraction = float(options.get("changed", "0.01"))
    with tempfile.TemporaryDirectory(prefix="bench-dataflow-") as tmp:
        results = [one_size(n, Path(tmp), fraction) for n in sizes]
    if len(results) > 1:
        small, big = results[0]["full"]["rss"], results[-1]["full"]["rss"]
        print(f"full run peak RSS {sizes[-1]:,} / {sizes[0]:,} rows: {big / small:.2f}x")
    _ = resource
