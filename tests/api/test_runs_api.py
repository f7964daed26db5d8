"""``/runs`` over the runtime, and Adobe's tutorial walked end to end through the API (emulator → lake)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from api_support import (
    CATALOG,
    CONVERSION,
    CRM_TO_AEP,
    Caller,
    DataflowParts,
    assert_flow_error,
    dataflow_parts,
    flow_body,
    new_caller,
    salesforce_connection,
    source_connection_body,
    target_connection_body,
    tutorial_mapping_set,
)
from deltalake import DeltaTable
from fastapi import FastAPI

from headwater.core.errors import ConfigurationError
from headwater.flows.dataflow import Dataflow
from headwater.lake import Lake
from headwater.runtime.executor import RunExecutor
from headwater.runtime.plans import dataflow_plan_builder
from headwater.runtime.ports import RunContext


def once_flow(caller: Caller, parts: DataflowParts) -> str:
    body = flow_body(parts, startTime=str(int(time.time()) + 60), frequency="once")
    body["transformations"] = body["transformations"][1:]  # once: no deltaColumn (1369)
    response = caller.post("/flows", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def executor(app: FastAPI, *, with_lake: bool) -> RunExecutor:
    state = app.state.headwater
    lake = Lake(state.settings.resolved_lake_root)

    def writer(dataflow: Dataflow, context: RunContext) -> Any:
        return lake.dataset(dataflow.org_id, dataflow.sandbox_name, dataflow.dataset_id).open_writer(
            context.run_id
        )

    def no_writer(dataflow: Dataflow, context: RunContext) -> Any:
        raise ConfigurationError(f"Run {context.run_id}: no lake writer is configured.")

    builder = dataflow_plan_builder(
        state.settings, state.engine, open_writer=writer if with_lake else no_writer
    )
    return RunExecutor(state.engine, builder, "api-test-worker", heartbeat_seconds=1.0)


@pytest.fixture
def parts(sf_caller: Caller, sf_emulator: Any) -> DataflowParts:
    return dataflow_parts(sf_caller, sf_emulator)


def test_on_demand_run_fail_and_retrigger(sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI) -> None:
    flow_id = once_flow(sf_caller, parts)
    response = sf_caller.post("/runs", json={"flowId": flow_id, "status": "active"})  # aepp's createRun body
    assert response.status_code == 201, response.text
    (created,) = response.json()["items"]
    assert set(created) == {"id", "etag"}
    listed = sf_caller.get("/runs", params={"property": f"flowId=={flow_id}"}).json()["items"]
    assert [run["id"] for run in listed] == [created["id"]]
    run = sf_caller.get(f"/runs/{created['id']}").json()["items"][0]
    assert run["flowId"] == flow_id and run["metrics"]["statusSummary"]["status"] == "scheduled"
    assert_flow_error(
        sf_caller.post(f"/runs/{created['id']}/action", params={"op": "re_trigger"}), "1387-400"
    )
    # No lake writer configured: the run fails, which the flow and the run then show.
    assert executor(sf_app, with_lake=False).execute(created["id"]) == "failed"
    flow = sf_caller.get(f"/flows/{flow_id}").json()["items"][0]
    assert flow["lastRunDetails"]["id"] == created["id"] and flow["lastRunDetails"]["state"] == "failed"
    failed = sf_caller.get(
        "/runs", params=[("property", f"flowId=={flow_id}"), ("property", "state==failed")]
    )
    assert [r["id"] for r in failed.json()["items"]] == [created["id"]]
    again = sf_caller.post(f"/runs/{created['id']}/action", params={"op": "RE_TRIGGER"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == created["id"] and again.json()["etag"] != created["etag"]
    assert sf_caller.get(f"/runs/{created['id']}").json()["items"][0]["state"] == "scheduled"


def test_run_errors(sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI, sf_client: Any) -> None:
    periodic = sf_caller.post("/flows", json=flow_body(parts)).json()["id"]
    assert_flow_error(sf_caller.post("/runs", json={"flowId": periodic}), "1386-400")
    assert_flow_error(
        sf_caller.post("/runs", json={"flowId": "3abea21c-7e36-4be1-bec1-d3bad0e3e0de"}), "1430-400"
    )
    assert_flow_error(sf_caller.post("/runs", json={"params": {}}), "1446-400")
    once = once_flow(sf_caller, parts)
    window = {"windowStartTime": "1651584991", "windowEndTime": "1651584000"}
    assert_flow_error(sf_caller.post("/runs", json={"flowId": once, "params": window}), "1381-400")
    run_id = sf_caller.post("/runs", json={"flowId": once}).json()["items"][0]["id"]
    other = new_caller(sf_app, sf_client)
    assert_flow_error(other.get(f"/runs/{run_id}"), "1439-404")
    assert other.get("/runs", params={"property": f"flowId=={once}"}).json()["items"] == []
    assert_flow_error(other.post("/runs", json={"flowId": once}), "1430-400")
    assert_flow_error(sf_caller.post(f"/runs/{run_id}/action", params={"op": "cancel"}), "1435-400")
    sf_caller.post(f"/flows/{once}/action", params={"op": "disable"})
    assert_flow_error(sf_caller.post(f"/runs/{run_id}/action", params={"op": "re_trigger"}), "1388-400")


def test_tutorial_walk_lands_accounts(sf_caller: Caller, sf_emulator: Any, sf_app: FastAPI) -> None:
    """Adobe's Salesforce tutorial, call by call: base connection, explore, source connection, dataset,
    target connection, mapping, flow spec lookup, flow, run — then the run lands in the lake."""
    base = salesforce_connection(sf_caller, sf_emulator)
    assert sf_caller.get(f"/connections/{base}/test").json() == {"result": True}
    root = sf_caller.get(f"/connections/{base}/explore", params={"objectType": "root"}).json()
    assert "Account" in {item["path"] for item in root}
    table = sf_caller.get(f"/connections/{base}/explore", params={"objectType": "table", "object": "Account"})
    columns = [c["name"] for c in table.json()["schema"]["columns"]]
    assert {"Id", "Name", "Phone"} <= set(columns)
    source = sf_caller.post(
        "/sourceConnections", json=source_connection_body(base, columns=("Id", "Name", "Phone"))
    )
    assert source.status_code == 201, source.text
    dataset = (
        sf_caller.post(
            f"{CATALOG}/dataSets?requestDataSource=true",
            json={
                "name": "Salesforce accounts",
                "schemaRef": {"id": "https://ns.adobe.com/acme/schemas/abc"},
            },
        )
        .json()[0]
        .rsplit("/", 1)[1]
    )
    target = sf_caller.post("/targetConnections", json=target_connection_body(dataset))
    assert target.status_code == 201, target.text
    mapping = sf_caller.post(
        f"{CONVERSION}/mappingSets",
        json=tutorial_mapping_set((("Id", "accountKey.sourceID"), ("Name", "accountName"))),
    ).json()
    spec = sf_caller.get("/flowSpecs", params={"property": 'name=="CRMToAEP"'}).json()["items"][0]
    assert spec["id"] == CRM_TO_AEP
    parts = DataflowParts(base, source.json()["id"], target.json()["id"], dataset, mapping["id"])
    flow_id = once_flow(sf_caller, parts)
    run_id = sf_caller.post("/runs", json={"flowId": flow_id}).json()["items"][0]["id"]
    assert executor(sf_app, with_lake=True).execute(run_id) == "success"
    run = sf_caller.get(f"/runs/{run_id}").json()["items"][0]
    accounts = sf_emulator.sql('SELECT count(*) FROM "Account" WHERE NOT "IsDeleted"')[0][0]
    assert run["state"] == "success"
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == accounts
    lake = Path(sf_app.state.headwater.settings.resolved_lake_root) / sf_caller.org_id / "prod" / dataset
    landed = DeltaTable(str(lake)).to_pyarrow_table()
    # The mapping set shaped the rows: Id -> accountKey.sourceID (nested), Name -> accountName; the
    # primary key stays top-level, and the unmapped Phone does not land.
    assert landed.num_rows == accounts and set(landed.column_names) == {"Id", "accountKey", "accountName"}
    source = sf_emulator.sql('SELECT "Id", "Name" FROM "Account" WHERE NOT "IsDeleted" ORDER BY "Id"')
    rows = landed.sort_by("Id").to_pylist()
    assert [(r["Id"], r["accountKey"]["sourceID"], r["accountName"]) for r in rows] == [
        (account_id, account_id, name) for account_id, name in source
    ]
    assert sf_caller.get(f"/flows/{flow_id}").json()["items"][0]["lastRunDetails"]["state"] == "success"


def test_a_run_executes_its_flows_mapping_version(
    sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI
) -> None:
    """The flow was created with version 0 of its mapping set; version 1 (PUT afterwards) maps other
    columns. The run lands version 0's columns; a flow created without mappingVersion pins the latest."""
    flow_id = once_flow(
        sf_caller, parts
    )  # mappingVersion 0: Id, Name, Phone -> accountKey, accountName, accountPhone
    newer = tutorial_mapping_set((("Name", "renamed"),))
    assert (
        sf_caller.request("PUT", f"{CONVERSION}/mappingSets/{parts.mapping}", json=newer).json()["version"]
        == 1
    )
    run_id = sf_caller.post("/runs", json={"flowId": flow_id}).json()["items"][0]["id"]
    assert executor(sf_app, with_lake=True).execute(run_id) == "success"
    lake = (
        Path(sf_app.state.headwater.settings.resolved_lake_root) / sf_caller.org_id / "prod" / parts.dataset
    )
    assert set(DeltaTable(str(lake)).schema().to_arrow().names) == {
        "Id",
        "accountKey",
        "accountName",
        "accountPhone",
    }

    body = flow_body(parts, startTime=str(int(time.time()) + 60), frequency="once")
    body["transformations"] = [{"name": "Mapping", "params": {"mappingId": parts.mapping}}]
    latest = sf_caller.post("/flows", json=body).json()["id"]
    with sf_app.state.headwater.sessions() as session:
        from headwater.store.models import Flow

        assert session.get(Flow, latest).mapping_version == 1  # type: ignore[union-attr]
    assert_flow_error(
        sf_caller.post(
            "/flows",
            json={
                **body,
                "transformations": [
                    {"name": "Mapping", "params": {"mappingId": parts.mapping, "mappingVersion": 7}}
                ],
            },
        ),
        "1412-400",
    )
