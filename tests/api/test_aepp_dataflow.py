"""aepp (the community client) builds a whole Salesforce dataflow against `headwater serve`:
flowservice / catalog / dataprep create the source connection, dataset, target connection, mapping set
and flow, then start and read runs. The server explores the emulator over HTTPS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from served import clean_env, credentials, free_port, start_headwater, wait_healthy

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


@pytest.fixture
def served(salesforce_emulator: Any, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = clean_env(
        HEADWATER_CA_BUNDLE=str(salesforce_emulator.ca_file),
        HEADWATER_OUTBOUND_ALLOW=salesforce_emulator.host,
    )
    process = start_headwater("serve", "--port", str(port), "--data-dir", str(tmp_path), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        creds = credentials(tmp_path)
        yield url, creds
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _configure(url: str, creds: dict[str, str]) -> None:
    import aepp

    aepp.configure(
        org_id=creds["imsOrgId"],
        client_id=creds["clientId"],
        sandbox=creds["sandboxName"],
        environment="support",
        endpoint=url,
        accesstoken=creds["accessToken"],
    )
    aepp.config.config_object["connectionType"] = "support"  # see test_served_socket


def test_aepp_builds_a_dataflow(served: tuple[str, dict[str, str]], salesforce_emulator: Any) -> None:
    from aepp import catalog, dataprep, flowservice

    url, creds = served
    sf = salesforce_emulator
    _configure(url, creds)
    flows = flowservice.FlowService()
    base = flows.createConnection(
        data={
            "name": "aepp Salesforce",
            "auth": {
                "specName": "Basic Authentication",
                "params": {
                    "environmentUrl": sf.url,
                    "username": sf.username,
                    "password": sf.password,
                    "securityToken": sf.security_token,
                },
            },
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        }
    )
    source = flows.createSourceConnection(
        data={
            "name": "aepp source",
            "baseConnectionId": base["id"],
            "data": {"format": "tabular"},
            "params": {
                "tableName": "Account",
                "columns": [{"name": "Id", "type": "string"}, {"name": "Name", "type": "string"}],
            },
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        }
    )
    assert set(source) == {"id", "etag"}, source
    assert flows.getSourceConnection(source["id"])["params"]["tableName"] == "Account"
    cat = catalog.Catalog()
    created = cat.createDataSet(name="aepp accounts", schemaId="https://ns.adobe.com/acme/schemas/abc")
    dataset_id = created[0].rsplit("/", 1)[1]
    assert cat.getDataSet(dataset_id)[dataset_id]["name"] == "aepp accounts"
    assert dataset_id in cat.getDataSets()
    target = flows.createTargetConnection(
        data={
            "name": "aepp target",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": dataset_id},
            "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
        }
    )
    assert set(target) == {"id", "etag"}, target
    prep = dataprep.DataPrep()
    mapping = prep.createMappingSet(
        schemaId="https://ns.adobe.com/acme/schemas/abc",
        mappingList=[{"sourceType": "ATTRIBUTE", "source": "Name", "destination": "accountName"}],
    )
    assert mapping["version"] == 0, mapping
    assert prep.getMappingSet(mapping["id"])["mappings"][0]["source"] == "Name"
    flow = flows.createFlow(
        flow_spec_id=CRM_TO_AEP,
        obj={
            "name": "aepp dataflow",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [source["id"]],
            "targetConnectionIds": [target["id"]],
            "transformations": [
                {"name": "Mapping", "params": {"mappingId": mapping["id"], "mappingVersion": 0}}
            ],
            "scheduleParams": {"startTime": str(int(time.time()) + 3600), "frequency": "once"},
        },
    )
    assert set(flow) == {"id", "etag"}, flow
    assert flows.getFlow(flow["id"])["inheritedAttributes"]["targetConnections"][0]["id"] == target["id"]
    run = flows.createRun(flowId=flow["id"])
    run_id = run["items"][0]["id"]
    runs = flows.getRuns(prop=f"flowId=={flow['id']}")
    assert [r["id"] for r in runs] == [run_id]
    assert flows.getRun(run_id)[0]["flowId"] == flow["id"]
    disabled = flows.postFlowAction(flow["id"], "disable")
    assert disabled["id"] == flow["id"]
    assert flows.getFlow(flow["id"])["state"] == "disabled"
