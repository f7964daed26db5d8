"""``/flows``: COL-CRM's dataflow request, every validation error, PATCH/actions/delete, runtime state."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from api_support import (
    CONVERSION,
    Caller,
    DataflowParts,
    assert_flow_error,
    create_dataset,
    dataflow_parts,
    flow_body,
    target_connection_body,
    tutorial_mapping_set,
)
from fastapi import FastAPI

from headwater.flows.runs import flow_state


@pytest.fixture
def parts(sf_caller: Caller, sf_emulator: Any) -> DataflowParts:
    return dataflow_parts(sf_caller, sf_emulator)


def _runtime_state(app: FastAPI, flow_id: str) -> dict[str, Any] | None:
    with app.state.headwater.engine.connect() as conn:
        return flow_state(conn, flow_id)


def test_create_and_get(sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI) -> None:
    body = flow_body(parts)
    response = sf_caller.post("/flows", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    flow = sf_caller.get(f"/flows/{created['id']}").json()["items"][0]
    assert flow["state"] == "enabled" and flow["etag"] == created["etag"]
    assert flow["scheduleParams"] == body["scheduleParams"]  # echoed as sent (strings)
    assert flow["transformations"] == body["transformations"]
    assert flow["runs"] == f"/runs?property=flowId=={created['id']}"
    assert flow["lastOperation"]["operation"] == "create"
    assert "lastRunDetails" not in flow
    inherited = flow["inheritedAttributes"]
    assert inherited["sourceConnections"][0]["baseConnection"]["id"] == parts.base
    assert inherited["targetConnections"] == [
        {
            "id": parts.target,
            "connectionSpec": {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c", "version": "1.0"},
        }
    ]
    state = _runtime_state(sf_app, created["id"])
    assert state is not None and state["enabled"] and state["org_id"] == sf_caller.org_id
    listed = sf_caller.get("/flows", params={"property": f"sourceConnectionIds[]=={parts.source}"}).json()
    assert [f["id"] for f in listed["items"]] == [created["id"]]


def _schedule(**params: Any) -> dict[str, Any]:
    return {"startTime": str(int(time.time()) + 60), **params}


ERRORS = [
    ("1321-400", lambda b, p: b.update(sourceConnectionIds=[p.source, p.source])),
    ("1321-400", lambda b, p: b.update(targetConnectionIds=[p.target, p.target])),
    ("1320-400", lambda b, p: b.update(sourceConnectionIds=[])),
    ("1410-400", lambda b, p: b.update(state="enabled")),
    (
        "1413-400",
        lambda b, p: b.update(flowSpec={"id": "9753525b-82c7-4dce-8a9b-5ccfce2b9876", "version": "1.0"}),
    ),
    ("1411-400", lambda b, p: b.update(sourceConnectionIds=["missing"])),
    ("1411-400", lambda b, p: b.update(sourceConnectionIds=[p.target])),
    (
        "1360-400",
        lambda b, p: b.update(
            scheduleParams={"startTime": "1567411548", "frequency": "minute", "interval": "30"}
        ),
    ),
    ("1362-400", lambda b, p: b.update(scheduleParams=_schedule(frequency="minute", interval="5"))),
    ("1361-400", lambda b, p: b.update(scheduleParams=_schedule(frequency="once", interval="30"))),
    ("1364-400", lambda b, p: b.update(scheduleParams=_schedule(frequency="once", backfill="true"))),
    ("1397-400", lambda b, p: b.update(scheduleParams=_schedule(frequency="fortnight", interval="1"))),
    ("1359-400", lambda b, p: b.update(scheduleParams={"frequency": "day", "interval": "1"})),
    ("1317-400", lambda b, p: b.update(scheduleParams={})),
    ("1367-400", lambda b, p: b["transformations"][0]["params"].pop("deltaColumn")),
    ("1368-400", lambda b, p: b["transformations"][0]["params"].update(mode="append")),
    ("1369-400", lambda b, p: b.update(scheduleParams=_schedule(frequency="once"))),
    (
        "1370-400",
        lambda b, p: b["transformations"][1]["params"].update(mappingId="0b090130b58b4819afc78b6dc98b484d"),
    ),
    ("1412-400", lambda b, p: b["transformations"][1]["params"].update(mappingVersion=2)),
    ("1000-400", lambda b, p: b["transformations"].append({"name": "Explode", "params": {}})),
]


@pytest.mark.parametrize(("code", "change"), ERRORS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ERRORS)])
def test_validation_errors(sf_caller: Caller, parts: DataflowParts, code: str, change: Any) -> None:
    body = copy.deepcopy(flow_body(parts))
    change(body, parts)
    assert_flow_error(sf_caller.post("/flows", json=body), code)
    assert sf_caller.get("/flows").json()["items"] == []


def test_mapping_must_match_source_columns(sf_caller: Caller, parts: DataflowParts) -> None:
    response = sf_caller.post(f"{CONVERSION}/mappingSets", json=tutorial_mapping_set())  # first_name, ...
    assert response.status_code == 200
    body = flow_body(parts)
    body["transformations"][1]["params"]["mappingId"] = response.json()["id"]
    error = assert_flow_error(sf_caller.post("/flows", json=body), "1419-400")
    assert error["report"]["reason"] == "UNKNOWN_SOURCE_FIELD"


def test_connections_of_another_sandbox_are_refused(sf_caller: Caller, parts: DataflowParts) -> None:
    dev = sf_caller.in_sandbox("dev")
    assert_flow_error(dev.post("/flows", json=flow_body(parts)), "1411-400")


def test_patch_examples_of_the_docs(sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI) -> None:
    created = sf_caller.post("/flows", json=flow_body(parts)).json()
    path = f"/flows/{created['id']}"
    generation = _runtime_state(sf_app, created["id"])["generation"]  # type: ignore[index]
    ops = [
        {"op": "replace", "path": "/scheduleParams/frequency", "value": "day"},
        {"op": "replace", "path": "/scheduleParams/interval", "value": "1"},
        {"op": "replace", "path": "/name", "value": "Database Dataflow Feb2021"},
        {"op": "replace", "path": "/description", "value": "Database dataflow for testing update API"},
    ]
    assert_flow_error(sf_caller.patch(path, json=ops), "1403-400")
    response = sf_caller.patch(path, json=ops, headers={"If-Match": created["etag"]})
    assert response.status_code == 200, response.text
    flow = sf_caller.get(path).json()["items"][0]
    assert flow["name"] == "Database Dataflow Feb2021" and flow["scheduleParams"]["frequency"] == "day"
    assert (
        flow["lastOperation"]["operation"] == "update" and flow["lastOperation"]["ops"][0]["value"] == "day"
    )
    state = _runtime_state(sf_app, created["id"])
    assert state is not None and state["generation"] == generation + 1
    assert state["schedule_params"]["frequency"] == "day"
    version_2 = [
        {
            "op": "replace",
            "path": "/transformations/1",
            "value": {"name": "Mapping", "params": {"mappingId": parts.mapping, "mappingVersion": 2}},
        }
    ]
    assert_flow_error(sf_caller.patch(path, json=version_2, headers={"If-Match": flow["etag"]}), "1412-400")
    bad = [{"op": "replace", "path": "/scheduleParams/frequency", "value": "minute"}]  # interval 1 < 15
    assert_flow_error(sf_caller.patch(path, json=bad, headers={"If-Match": flow["etag"]}), "1362-400")
    frozen = [{"op": "replace", "path": "/sourceConnectionIds", "value": [parts.source]}]
    assert_flow_error(sf_caller.patch(path, json=frozen, headers={"If-Match": flow["etag"]}), "1414-400")


def test_enable_disable_without_content_type(
    sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI
) -> None:
    created = sf_caller.post("/flows", json=flow_body(parts)).json()
    path = f"/flows/{created['id']}/action"
    response = sf_caller.post(path, params={"op": "disable"})  # aepp's postFlowAction: no body, no type
    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"] and response.json()["etag"] != created["etag"]
    flow = sf_caller.get(f"/flows/{created['id']}").json()["items"][0]
    assert flow["state"] == "disabled" and flow["lastOperation"]["operation"] == "disable"
    assert _runtime_state(sf_app, created["id"])["enabled"] is False  # type: ignore[index]
    assert sf_caller.post(path, params={"op": "ENABLE"}).status_code == 200
    assert _runtime_state(sf_app, created["id"])["enabled"] is True  # type: ignore[index]
    assert_flow_error(sf_caller.post(path, params={"op": "explode"}), "1435-400")


def test_delete_rules(sf_caller: Caller, parts: DataflowParts, sf_app: FastAPI) -> None:
    created = sf_caller.post("/flows", json=flow_body(parts)).json()
    body = assert_flow_error(sf_caller.delete(f"/connections/{parts.base}"), "1418-400")
    assert parts.base in body["errorMessage"]
    assert_flow_error(sf_caller.delete(f"/sourceConnections/{parts.source}"), "1447-400")
    assert_flow_error(sf_caller.delete(f"/targetConnections/{parts.target}"), "1447-400")
    assert sf_caller.delete(f"/flows/{created['id']}").status_code == 204
    assert _runtime_state(sf_app, created["id"]) is None
    assert_flow_error(sf_caller.get(f"/flows/{created['id']}"), "1439-404")
    assert sf_caller.delete(f"/sourceConnections/{parts.source}").status_code == 204
    assert sf_caller.delete(f"/connections/{parts.base}").status_code == 204


def test_target_of_another_dataset_still_works(sf_caller: Caller, parts: DataflowParts) -> None:
    other = sf_caller.post(
        "/targetConnections", json=target_connection_body(create_dataset(sf_caller, "b"))
    ).json()
    body = flow_body(parts)
    body["targetConnectionIds"] = [other["id"]]
    assert sf_caller.post("/flows", json=body).status_code == 201
