"""A stored dataflow executed for real: Salesforce emulator over HTTPS → connector → executor → Delta.

Full run, then inserts, updates and deletes at the source, then an incremental run: the table equals
the source each time. (All real: the store, the connector, the lake's run writer.)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable
from sqlalchemy.orm import Session

from headwater.core.scope import Scope
from headwater.core.settings import load_settings
from headwater.flows.runs import create_run_for_flow, get_run, register_flow
from headwater.runtime.executor import RunExecutor
from headwater.runtime.monitor import create_due_runs
from headwater.runtime.plans import dataflow_plan_builder
from headwater.store import db, tenants
from headwater.store.crypto import SecretBox, load_secret_key
from headwater.store.testing import ONCE, stored_dataflow, stored_mapping_set

COLUMNS = ["Id", "Name", "Industry", "AnnualRevenue", "SystemModstamp"]
pytestmark = pytest.mark.slow


def truth(sf: Any) -> dict[str, str | None]:
    return {row[0]: row[1] for row in sf.sql('SELECT "Id", "Name" FROM "Account" WHERE NOT "IsDeleted"')}


def read_lake(path: Path) -> pa.Table:
    return DeltaTable(str(path)).to_pyarrow_table()


def lake_names(path: Path) -> dict[str, str | None]:
    table = read_lake(path)
    return dict(zip(table["Id"].to_pylist(), table["Name"].to_pylist(), strict=True))


def store_flow(
    session: Session,
    box: SecretBox,
    scope: Scope,
    sf: Any,
    transformations: list[Any] | None = None,
    schedule: dict[str, Any] | None = None,
    mapping: tuple[str, int] | None = None,
) -> str:
    flow_id = stored_dataflow(
        session,
        box,
        scope,
        auth_spec="OAuth2 Client Credential",
        auth_params={
            "environmentUrl": sf.url,
            "clientId": sf.client_id,
            "apiVersion": "60.0",
            "includeDeletedObjects": True,
        },
        secrets={"clientSecret": sf.client_secret},
        table="Account",
        columns=COLUMNS,
        dataset_id="accounts-ds",
        transformations=transformations,
        schedule=schedule,
        mapping=mapping,
    )
    register_flow(
        session,
        flow_id=flow_id,
        org_id=scope.org_id,
        sandbox_name="prod",
        schedule_params=schedule or ONCE,
    )
    return flow_id


def test_emulated_salesforce_account_flow_lands_and_stays_in_sync(
    salesforce_emulator: Any, tmp_path: Path
) -> None:
    sf = salesforce_emulator
    settings = load_settings(data_dir=tmp_path / "data", ca_bundle=sf.ca_file, outbound_allow=sf.host)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    box = SecretBox(load_secret_key(settings))
    with Session(engine) as session, session.begin():
        org_id = tenants.create_org(session, "Dataflow Org").id
        scope = Scope(org_id, "prod", "client-1")
        flow_id = store_flow(session, box, scope, sf)

    executor = RunExecutor(engine, dataflow_plan_builder(settings, engine), "w1")
    lake = Path(settings.resolved_lake_root) / org_id / "prod" / "accounts-ds"

    def run_once() -> dict[str, Any]:
        with engine.begin() as conn:
            run_id = create_run_for_flow(conn, flow_id=flow_id, org_id=org_id, sandbox_name="prod")["id"]
        assert executor.execute(run_id) == "success"
        with engine.connect() as conn:
            return get_run(conn, run_id=run_id, org_id=org_id, sandbox_name="prod")

    first = run_once()
    assert lake_names(lake) == truth(sf)
    assert set(read_lake(lake).column_names) == set(COLUMNS)
    assert first["metrics"]["recordSummary"]["outputRecordCount"] == len(truth(sf))

    ids = sorted(truth(sf))
    added = sf.insert("Account", Name="Brand new account")
    sf.update("Account", ids[0], Name="Renamed account")
    sf.delete("Account", ids[1])

    second = run_once()
    landed = lake_names(lake)
    assert landed == truth(sf)
    assert landed[ids[0]] == "Renamed account" and added in landed and ids[1] not in landed
    assert (
        second["metrics"]["recordSummary"]["inputRecordCount"]
        < first["metrics"]["recordSummary"]["inputRecordCount"]
    )
    assert second["metrics"]["recordSummary"]["extensions"] == {"deletedRecordCount": 1}
    assert pc.count_distinct(read_lake(lake)["Id"]).as_py() == read_lake(lake).num_rows


def test_mapping_set_shapes_the_landed_rows_with_the_flows_version(
    salesforce_emulator: Any, tmp_path: Path
) -> None:
    """The run executes the mapping version the flow names, though a newer version exists."""
    sf = salesforce_emulator
    settings = load_settings(data_dir=tmp_path / "data", ca_bundle=sf.ca_file, outbound_allow=sf.host)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    box = SecretBox(load_secret_key(settings))
    mappings = [
        {"sourceType": "ATTRIBUTE", "source": "Name", "destination": "account.name"},
        {"sourceType": "EXPRESSION", "source": "lower(Industry)", "destination": "account.industry"},
        {"sourceAttribute": "AnnualRevenue", "destinationXdmPath": "revenue", "sourceType": "ATTRIBUTE"},
    ]
    with Session(engine) as session, session.begin():
        org_id = tenants.create_org(session, "Mapping Org").id
        scope = Scope(org_id, "prod", "client-1")
        newer = [{"sourceType": "ATTRIBUTE", "source": "Name", "destination": "renamed"}]
        mapping_id = stored_mapping_set(session, scope, [mappings, newer])
        flow_id = store_flow(
            session,
            box,
            scope,
            sf,
            [{"name": "Mapping", "params": {"mappingId": mapping_id, "mappingVersion": 0}}],
            mapping=(mapping_id, 0),
        )
    with engine.begin() as conn:
        run_id = create_run_for_flow(conn, flow_id=flow_id, org_id=org_id, sandbox_name="prod")["id"]
    assert RunExecutor(engine, dataflow_plan_builder(settings, engine), "w1").execute(run_id) == "success"

    landed = read_lake(Path(settings.resolved_lake_root) / org_id / "prod" / "accounts-ds")
    assert set(landed.column_names) == {"account", "revenue", "Id"}
    expected = {
        row[0]: (row[1], row[2].lower() if row[2] is not None else None)
        for row in sf.sql('SELECT "Id", "Name", "Industry" FROM "Account" WHERE NOT "IsDeleted"')
    }
    got = {row["Id"]: (row["account"]["name"], row["account"]["industry"]) for row in landed.to_pylist()}
    assert got == expected


def test_backfill_false_lands_only_records_changed_since_the_start(
    salesforce_emulator: Any, tmp_path: Path
) -> None:
    sf = salesforce_emulator
    settings = load_settings(data_dir=tmp_path / "data", ca_bundle=sf.ca_file, outbound_allow=sf.host)
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    box = SecretBox(load_secret_key(settings))
    ids = sorted(truth(sf))
    sf.update("Account", ids[2], Name="Changed before the start")
    start = int(time.time()) + 1
    while time.time() < start:
        time.sleep(0.05)
    sf.update("Account", ids[3], Name="Changed after the start")
    added = sf.insert("Account", Name="Created after the start")
    schedule = {"startTime": str(start), "frequency": "minute", "interval": 15, "backfill": False}
    with Session(engine) as session, session.begin():
        org_id = tenants.create_org(session, "No Backfill Org").id
        store_flow(session, box, Scope(org_id, "prod", "client-1"), sf, schedule=schedule)
    # without backfill the first run is slot 1, due one period after the start (the monitor makes it)
    (run_id,) = create_due_runs(engine, now_seconds=start + 15 * 60 + 1)
    assert RunExecutor(engine, dataflow_plan_builder(settings, engine), "w1").execute(run_id) == "success"

    landed = lake_names(Path(settings.resolved_lake_root) / org_id / "prod" / "accounts-ds")
    changed_since_start = {
        row[0]
        for row in sf.sql(
            'SELECT "Id" FROM "Account" WHERE NOT "IsDeleted" AND "SystemModstamp" >= ?',
            [datetime.fromtimestamp(start, UTC).replace(tzinfo=None)],
        )
    }
    assert set(landed) == changed_since_start
    assert landed[ids[3]] == "Changed after the start" and landed[added] == "Created after the start"
    assert ids[2] not in landed and ids[0] not in landed  # older records are not backfilled
    assert len(landed) < len(truth(sf))
    with engine.connect() as conn:
        run = get_run(conn, run_id=run_id, org_id=org_id, sandbox_name="prod")
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == len(changed_since_start)
