"""``/targetConnections``: COL-CRM's Data Lake request; spec and dataset checks."""

from __future__ import annotations

from api_support import SALESFORCE, Caller, assert_flow_error, create_dataset, target_connection_body


def test_create_get_patch_delete(caller: Caller) -> None:
    dataset = create_dataset(caller)
    response = caller.post("/targetConnections", json=target_connection_body(dataset))
    assert response.status_code == 201, response.text
    created = response.json()
    item = caller.get(f"/targetConnections/{created['id']}").json()["items"][0]
    assert item["params"] == {"dataSetId": dataset}
    assert item["data"]["schema"]["version"] == "application/vnd.adobe.xed-full+json;version=1"
    assert item["etag"] == created["etag"]
    listed = caller.get("/targetConnections", params={"property": f"params.dataSetId=={dataset}"}).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    other = create_dataset(caller, "second")
    ops = [{"op": "replace", "path": "/params/dataSetId", "value": other}]
    patched = caller.patch(
        f"/targetConnections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert patched.status_code == 200, patched.text
    bad = [{"op": "replace", "path": "/params/dataSetId", "value": "5c8c3c555033b814b69f947f"}]
    response = caller.patch(
        f"/targetConnections/{created['id']}", json=bad, headers={"If-Match": patched.json()["etag"]}
    )
    assert_flow_error(response, "1325-400")
    assert caller.delete(f"/targetConnections/{created['id']}").status_code == 204


def test_only_the_data_lake_spec(caller: Caller) -> None:
    body = target_connection_body(create_dataset(caller))
    body["connectionSpec"]["id"] = SALESFORCE
    assert_flow_error(caller.post("/targetConnections", json=body), "1307-400")


def test_dataset_must_exist_in_scope(caller: Caller, other_org: Caller) -> None:
    body = target_connection_body("5c8c3c555033b814b69f947f")  # the tutorial's id: not ours
    assert_flow_error(caller.post("/targetConnections", json=body), "1325-400")
    mine = create_dataset(caller)
    assert_flow_error(other_org.post("/targetConnections", json=target_connection_body(mine)), "1325-400")
    assert_flow_error(
        caller.in_sandbox("dev").post("/targetConnections", json=target_connection_body(mine)), "1325-400"
    )
    missing = target_connection_body(mine)
    missing["params"] = {}
    assert_flow_error(caller.post("/targetConnections", json=missing), "1324-400")
