"""Provision the demo's dataflows over the REST API, exactly as Adobe's tutorial does (contract §5.3-5.7).

Everything goes through the public API with a token from ``/ims/token/v3``: the demo is also a smoke test
of the product. Re-running finds the existing flows by name and creates nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from headwater.specs import CRM_TO_AEP_FLOW_SPEC_ID, DATA_LAKE_SPEC_ID, SALESFORCE_SPEC_ID

FLOWSERVICE = "/data/foundation/flowservice"
CATALOG = "/data/foundation/catalog"
CONVERSION = "/data/foundation/conversion"
SCHEMA_REF = "https://ns.adobe.com/headwater/schemas/demo"


class DemoError(Exception):
    """A step of the demo failed; the message says which and why (the API's own error text)."""


@dataclass(frozen=True)
class DemoObject:
    """One Salesforce object of the demo: the columns read and the mapping into the dataset."""

    name: str
    columns: tuple[str, ...]
    mappings: tuple[tuple[str, str, str], ...]  # (sourceType, source, destination)
    sample_columns: tuple[str, ...]  # what the sample query shows

    @property
    def flow_name(self) -> str:
        return f"Demo Salesforce {self.name}"

    @property
    def dataset_name(self) -> str:
        return f"Salesforce {self.name.lower()}s (demo)"


ACCOUNT = DemoObject(
    name="Account",
    columns=(
        "Id",
        "Name",
        "Industry",
        "Phone",
        "Domain__c",
        "BillingCity",
        "BillingCountry",
        "AnnualRevenue",
        "NumberOfEmployees",
        "LastModifiedDate",
    ),
    mappings=(
        ("ATTRIBUTE", "Id", "Id"),
        ("ATTRIBUTE", "Name", "name"),
        ("ATTRIBUTE", "Industry", "industry"),
        ("ATTRIBUTE", "Phone", "contact.phone"),
        ("EXPRESSION", "lower(Domain__c)", "web.domain"),
        ("EXPRESSION", 'concat(BillingCity, ", ", BillingCountry)', "address.cityCountry"),
        ("ATTRIBUTE", "AnnualRevenue", "revenue.annual"),
        ("ATTRIBUTE", "NumberOfEmployees", "revenue.employees"),
        ("CONSTANT", "salesforce-demo", "source.system"),
        ("ATTRIBUTE", "LastModifiedDate", "lastModified"),
    ),
    sample_columns=("name", "industry", "address.cityCountry"),
)
CONTACT = DemoObject(
    name="Contact",
    columns=(
        "Id",
        "AccountId",
        "FirstName",
        "LastName",
        "Email",
        "Title",
        "MailingCountry",
        "LeadSource",
        "LastModifiedDate",
    ),
    mappings=(
        ("ATTRIBUTE", "Id", "Id"),
        ("ATTRIBUTE", "AccountId", "accountId"),
        ("EXPRESSION", 'concat(FirstName, " ", LastName)', "person.name.fullName"),
        ("ATTRIBUTE", "LastName", "person.name.lastName"),
        ("EXPRESSION", "lower(Email)", "personalEmail.address"),
        ("EXPRESSION", "upper(MailingCountry)", "homeAddress.country"),
        ("ATTRIBUTE", "Title", "title"),
        ("ATTRIBUTE", "LeadSource", "leadSource"),
        ("CONSTANT", "salesforce-demo", "source.system"),
        ("ATTRIBUTE", "LastModifiedDate", "lastModified"),
    ),
    sample_columns=("person.name.fullName", "personalEmail.address", "title"),
)
OBJECTS = (ACCOUNT, CONTACT)


@dataclass
class DemoFlow:
    object: DemoObject
    flow_id: str
    dataset_id: str
    created: bool


class Api:
    """The REST API as the default client sees it; every non-2xx answer becomes a ``DemoError``."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, org_id: str, sandbox: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        answer = self.http.post(
            "/ims/token/v3",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        if answer.status_code != 200:
            raise DemoError(f"could not get an access token: {answer.text}")
        self.http.headers.update(
            {
                "Authorization": f"Bearer {answer.json()['access_token']}",
                "x-api-key": client_id,
                "x-gw-ims-org-id": org_id,
                "x-sandbox-name": sandbox,
            }
        )

    def call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                reason = body.get("errorMessage") or body.get("message") or response.text
            except ValueError:
                reason = response.text
            raise DemoError(f"{what} failed ({response.status_code}): {reason}")
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()


def provision(api: Api, base_connection_id: str, objects: tuple[DemoObject, ...] = OBJECTS) -> list[DemoFlow]:
    """The source connection, dataset, target connection, mapping set and flow of each object."""
    return [_existing_flow(api, item) or _create_flow(api, base_connection_id, item) for item in objects]


def _existing_flow(api: Api, item: DemoObject) -> DemoFlow | None:
    listed = api.call(
        "GET", f"{FLOWSERVICE}/flows", "listing flows", params={"property": f"name=={item.flow_name}"}
    )
    for flow in listed.get("items", []):
        target_id = flow["targetConnectionIds"][0]
        target = api.call(
            "GET", f"{FLOWSERVICE}/targetConnections/{target_id}", "reading a target connection"
        )
        return DemoFlow(item, flow["id"], target["items"][0]["params"]["dataSetId"], created=False)
    return None


def _create_flow(api: Api, base_connection_id: str, item: DemoObject) -> DemoFlow:
    source = api.call(
        "POST",
        f"{FLOWSERVICE}/sourceConnections",
        f"creating the {item.name} source connection",
        json={
            "name": f"Demo Salesforce {item.name} source",
            "baseConnectionId": base_connection_id,
            "data": {"format": "tabular"},
            "params": {
                "tableName": item.name,
                "columns": [{"name": c, "type": "string", "xdm": {"type": "String"}} for c in item.columns],
            },
            "connectionSpec": {"id": SALESFORCE_SPEC_ID, "version": "1.0"},
        },
    )
    created = api.call(
        "POST",
        f"{CATALOG}/dataSets",
        f"creating the {item.name} dataset",
        json={
            "name": item.dataset_name,
            "schemaRef": {"id": SCHEMA_REF, "contentType": "application/vnd.adobe.xed-full+json;version=1"},
        },
    )
    dataset_id = str(created[0]).rsplit("/", 1)[1]
    target = api.call(
        "POST",
        f"{FLOWSERVICE}/targetConnections",
        f"creating the {item.name} target connection",
        json={
            "name": f"Demo {item.name} dataset target",
            "data": {
                "schema": {"id": SCHEMA_REF, "version": "application/vnd.adobe.xed-full+json;version=1"}
            },
            "params": {"dataSetId": dataset_id},
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
        },
    )
    mapping = api.call(
        "POST",
        f"{CONVERSION}/mappingSets",
        f"creating the {item.name} mapping set",
        json={
            "version": 0,
            "xdmSchema": SCHEMA_REF,
            "xdmVersion": "1.0",
            "mappings": [
                {"sourceType": kind, "source": source, "destination": destination}
                for kind, source, destination in item.mappings
            ],
        },
    )
    flow = api.call(
        "POST",
        f"{FLOWSERVICE}/flows",
        f"creating the {item.name} dataflow",
        json={
            "name": item.flow_name,
            "description": f"Salesforce {item.name} into the lake, every hour (created by headwater demo)",
            "flowSpec": {"id": CRM_TO_AEP_FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [source["id"]],
            "targetConnectionIds": [target["id"]],
            "transformations": [
                {
                    "name": "Copy",
                    "params": {
                        "deltaColumn": {
                            "name": "LastModifiedDate",
                            "dateFormat": "YYYY-MM-DD",
                            "timezone": "UTC",
                        }
                    },
                },
                {"name": "Mapping", "params": {"mappingId": mapping["id"], "mappingVersion": 0}},
            ],
            # The first slot is due now, so the scheduler starts the first run (a full load) at once.
            "scheduleParams": {"startTime": str(int(time.time())), "frequency": "hour", "interval": 1},
        },
    )
    return DemoFlow(item, flow["id"], dataset_id, created=True)


def flow_runs(api: Api, flow_id: str) -> list[dict[str, Any]]:
    listed = api.call("GET", f"{FLOWSERVICE}/runs", "listing runs", params={"property": f"flowId=={flow_id}"})
    runs: list[dict[str, Any]] = listed.get("items", [])
    return runs


def get_run(api: Api, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = api.call("GET", f"{FLOWSERVICE}/runs/{run_id}", "reading a run")["items"][0]
    return run
