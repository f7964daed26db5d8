"""A Salesforce dataflow built with aepp, the community Python client, unchanged, against Headwater.

    headwater serve --demo                      # another terminal: the service + a "Demo Salesforce" account
    headwater credentials --json > creds.json
    python examples/aepp_dataflow.py http://127.0.0.1:8080 creds.json

Creates a source connection (Account: Id, Name, Industry), a dataset, a target connection, a mapping set
and a run-once dataflow on the "Demo Salesforce" account, starts the run, waits for it and prints its
record counts and where the rows landed. (aepp is `pip install aepp`; it is in Headwater's dev extra.)
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
SCHEMA = "https://ns.adobe.com/headwater/schemas/example"


def configure(base_url: str, creds: dict[str, str]) -> None:
    import aepp

    aepp.configure(
        org_id=creds["imsOrgId"],
        client_id=creds["clientId"],
        sandbox=creds["sandboxName"],
        environment="support",  # aepp then sends every call to `endpoint`
        endpoint=base_url,
        accesstoken=creds["accessToken"],
    )
    aepp.config.config_object["connectionType"] = "support"


def main(argv: list[str]) -> None:
    from aepp import catalog, dataprep, flowservice

    base_url, creds_file = argv
    with open(creds_file) as handle:
        configure(base_url, json.load(handle))
    flows = flowservice.FlowService()
    accounts = [c for c in flows.getConnections() if c["name"] == "Demo Salesforce"]
    if not accounts:
        raise SystemExit("no 'Demo Salesforce' account: start the server with `headwater serve --demo`")
    source = flows.createSourceConnection(
        data={
            "name": "aepp example: Account",
            "baseConnectionId": accounts[0]["id"],
            "data": {"format": "tabular"},
            "params": {
                "tableName": "Account",
                "columns": [{"name": n, "type": "string"} for n in ("Id", "Name", "Industry")],
            },
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        }
    )
    created = catalog.Catalog().createDataSet(name="aepp example accounts", schemaId=SCHEMA)
    dataset_id = created[0].rsplit("/", 1)[1]
    target = flows.createTargetConnection(
        data={
            "name": "aepp example: dataset",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": dataset_id},
            "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
        }
    )
    mapping = dataprep.DataPrep().createMappingSet(
        schemaId=SCHEMA,
        mappingList=[
            {"sourceType": "ATTRIBUTE", "source": "Id", "destination": "Id"},
            {"sourceType": "ATTRIBUTE", "source": "Name", "destination": "account.name"},
            {"sourceType": "EXPRESSION", "source": "upper(Industry)", "destination": "account.industry"},
        ],
    )
    flow = flows.createFlow(
        flow_spec_id=CRM_TO_AEP,
        obj={
            "name": "aepp example dataflow",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [source["id"]],
            "targetConnectionIds": [target["id"]],
            "transformations": [
                {"name": "Mapping", "params": {"mappingId": mapping["id"], "mappingVersion": 0}}
            ],
            "scheduleParams": {"startTime": str(int(time.time()) + 3600), "frequency": "once"},
        },
    )
    print(f"dataflow {flow['id']} -> dataset {dataset_id}")
    run_id = flows.createRun(flowId=flow["id"])["items"][0]["id"]
    run = wait(flows, run_id)
    records = run["metrics"]["recordSummary"]
    print(
        f"run {run_id}: {run['metrics']['statusSummary']['status']}, "
        f"{records['inputRecordCount']} records in, {records['outputRecordCount']} out, "
        f"{records['failedRecordCount']} failed"
    )
    print(f"read them: headwater query 'SELECT account.name, account.industry FROM \"{dataset_id}\" LIMIT 5'")


def wait(flows: Any, run_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = flows.getRun(run_id)[0]
        if run["metrics"]["statusSummary"]["status"] in ("success", "failed"):
            return run
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} did not finish within {timeout:.0f} s")
        time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1:])
