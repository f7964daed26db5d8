"""Catalog ``/dataSets``: the tutorial's create call, keyed reads, limit/start/properties, scoping."""

from __future__ import annotations

import re

from api_support import Caller, assert_flow_error

CATALOG = "/data/foundation/catalog"
# Verbatim from the Catalog docs (create-dataset.md), tenant placeholder filled in.
TUTORIAL_BODY = {
    "name": "LoyaltyMembersDataset",
    "schemaRef": {
        "id": "https://ns.adobe.com/acme/schemas/719c4e19184402c27595e65b931a142b",
        "contentType": "application/vnd.adobe.xed+json;version=1",
    },
}


def create(caller: Caller, **body: object) -> str:
    response = caller.post(f"{CATALOG}/dataSets?requestDataSource=true", json={**TUTORIAL_BODY, **body})
    assert response.status_code == 201, response.text
    (ref,) = response.json()
    assert re.fullmatch(r"@/dataSets/[0-9a-f]{24}", ref)
    assert response.headers["Location"].endswith(ref[1:])
    return str(ref.rsplit("/", 1)[1])


def test_create_and_get_keyed_by_id(caller: Caller) -> None:
    dataset_id = create(caller)
    response = caller.get(f"{CATALOG}/dataSets/{dataset_id}")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [dataset_id]
    item = body[dataset_id]
    assert item["name"] == "LoyaltyMembersDataset"
    assert item["schemaRef"] == TUTORIAL_BODY["schemaRef"]
    assert item["imsOrg"] == caller.org_id and item["version"] == "1.0.0"
    assert item["classification"]["dataBehavior"] == "record"
    assert item["tags"]["adobe/pqs/table"] == ["loyaltymembersdataset"]
    assert item["files"] == f"@/dataSetFiles?dataSetId={dataset_id}"
    assert isinstance(item["created"], int) and item["createdClient"] == caller.client_id
    trimmed = caller.get(f"{CATALOG}/dataSets/{dataset_id}", params={"properties": "name,schemaRef"}).json()
    assert trimmed == {dataset_id: {"name": "LoyaltyMembersDataset", "schemaRef": TUTORIAL_BODY["schemaRef"]}}


def test_list_limit_start_properties(caller: Caller) -> None:
    ids = [create(caller, name=f"Dataset {n}") for n in range(3)]
    everything = caller.get(f"{CATALOG}/dataSets").json()
    assert list(everything) == ids
    page = caller.get(f"{CATALOG}/dataSets", params={"limit": "2", "start": "1", "properties": "name"}).json()
    assert page == {ids[1]: {"name": "Dataset 1"}, ids[2]: {"name": "Dataset 2"}}
    named = caller.get(f"{CATALOG}/dataSets", params={"name": "Dataset 0"}).json()
    assert list(named) == [ids[0]]
    for bad in ("0", "101", "x"):
        assert_flow_error(caller.get(f"{CATALOG}/dataSets", params={"limit": bad}), "1000-400")


def test_scoped_by_org_and_sandbox(caller: Caller, other_org: Caller) -> None:
    dataset_id = create(caller)
    assert_flow_error(other_org.get(f"{CATALOG}/dataSets/{dataset_id}"), "1439-404")
    assert_flow_error(caller.in_sandbox("dev").get(f"{CATALOG}/dataSets/{dataset_id}"), "1439-404")
    assert caller.in_sandbox("dev").get(f"{CATALOG}/dataSets").json() == {}


def test_name_is_required_and_headers_are_checked(caller: Caller) -> None:
    assert_flow_error(
        caller.post(f"{CATALOG}/dataSets", json={"schemaRef": TUTORIAL_BODY["schemaRef"]}), "1000-400"
    )
    response = caller.get(f"{CATALOG}/dataSets", headers={"Authorization": None})
    assert response.status_code == 403 and response.json()["error_code"] == "403010"


def test_patch_tags_and_delete(caller: Caller) -> None:
    dataset_id = create(caller)
    ops = [{"op": "add", "path": "/tags/unifiedProfile", "value": ["enabled:true"]}]
    response = caller.patch(
        f"{CATALOG}/dataSets/{dataset_id}", json=ops, headers={"Content-Type": "application/json-patch+json"}
    )
    assert response.status_code == 200 and response.json() == [f"@/dataSets/{dataset_id}"]
    tags = caller.get(f"{CATALOG}/dataSets/{dataset_id}").json()[dataset_id]["tags"]
    assert tags["unifiedProfile"] == ["enabled:true"]
    assert caller.delete(f"{CATALOG}/dataSets/{dataset_id}").status_code == 200
    assert_flow_error(caller.get(f"{CATALOG}/dataSets/{dataset_id}"), "1439-404")
