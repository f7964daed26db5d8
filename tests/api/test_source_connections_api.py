"""``/sourceConnections`` against the Salesforce emulator: COL-CRM's request, explore-checked columns."""

from __future__ import annotations

from typing import Any

from api_support import (
    SALESFORCE,
    Caller,
    assert_flow_error,
    basic_connection,
    create_connection,
    new_caller,
    salesforce_connection,
    source_connection_body,
)


def _create(caller: Caller, body: dict[str, Any]) -> Any:
    return caller.post("/sourceConnections", json=body)


def test_create_get_list_patch_delete(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    response = _create(sf_caller, source_connection_body(base))
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "etag"} and created["etag"].startswith('"')
    item = sf_caller.get(f"/sourceConnections/{created['id']}").json()["items"][0]
    assert item["baseConnectionId"] == base and item["state"] == "enabled"
    assert item["data"] == {"format": "tabular", "schema": None}
    assert item["params"]["tableName"] == "Account"
    assert item["inheritedAttributes"] == {
        "baseConnection": {"id": base, "connectionSpec": {"id": SALESFORCE, "version": "1.0"}}
    }
    assert item["etag"] == created["etag"] and item["imsOrgId"] == sf_caller.org_id
    listed = sf_caller.get("/sourceConnections", params={"property": f"baseConnectionId=={base}"}).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    by_column = sf_caller.get("/sourceConnections", params={"property": "params.columns[].name==Phone"})
    assert [i["id"] for i in by_column.json()["items"]] == [created["id"]]
    ops = [{"op": "replace", "path": "/params/columns/0/name", "value": "Website"}]
    patched = sf_caller.patch(
        f"/sourceConnections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["etag"] != created["etag"]
    stale = sf_caller.patch(
        f"/sourceConnections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert_flow_error(stale, "1404-412")
    assert sf_caller.delete(f"/sourceConnections/{created['id']}").status_code == 204
    assert_flow_error(sf_caller.get(f"/sourceConnections/{created['id']}"), "1439-404")


def test_unknown_table_is_1330(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    body = assert_flow_error(
        _create(sf_caller, source_connection_body(base, table="NoSuchObject__c")), "1330-400"
    )
    assert body["errorMessage"] == "No columns were found for table NoSuchObject__c."


def test_unknown_column_is_1330_naming_it(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    response = _create(sf_caller, source_connection_body(base, columns=("Id", "first_name")))
    assert "first_name" in assert_flow_error(response, "1330-400")["errorMessage"]


def test_patch_to_unknown_column_is_refused(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    created = _create(sf_caller, source_connection_body(base)).json()
    ops = [{"op": "add", "path": "/params/columns/-", "value": {"name": "Bogus", "type": "string"}}]
    response = sf_caller.patch(
        f"/sourceConnections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert_flow_error(response, "1330-400")
    frozen = [{"op": "replace", "path": "/connectionSpec/id", "value": "x"}]
    response = sf_caller.patch(
        f"/sourceConnections/{created['id']}", json=frozen, headers={"If-Match": created["etag"]}
    )
    assert_flow_error(response, "1414-400")


def test_format_must_be_tabular(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    body = source_connection_body(base)
    body["data"] = {"format": "parquet_xdm"}
    assert_flow_error(_create(sf_caller, body), "1327-400")


def test_base_connection_must_exist_in_the_same_sandbox(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    assert_flow_error(_create(sf_caller.in_sandbox("dev"), source_connection_body(base)), "1411-400")
    assert_flow_error(_create(sf_caller, source_connection_body("no-such-connection")), "1411-400")
    missing = source_connection_body(base)
    del missing["baseConnectionId"]
    assert_flow_error(_create(sf_caller, missing), "1304-400")


def test_spec_id_typo_of_the_tutorial_is_refused(sf_caller: Caller, sf_emulator: Any) -> None:
    base = salesforce_connection(sf_caller, sf_emulator)
    body = source_connection_body(base)
    body["connectionSpec"]["id"] = "ccfc0fee1-7dc0-40ef-b73e-d8b134c436f5"  # COL-CRM's verbatim typo
    assert_flow_error(_create(sf_caller, body), "1413-400")


def test_other_org_cannot_use_the_base_connection(sf_caller: Caller, sf_app: Any, sf_client: Any) -> None:
    other = new_caller(sf_app, sf_client)
    mine = create_connection(sf_caller, basic_connection())["id"]
    assert_flow_error(_create(other, source_connection_body(mine)), "1411-400")
