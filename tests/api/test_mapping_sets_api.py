"""Data Prep ``/mappingSets``: both request forms, versions, structural 1419 errors."""

from __future__ import annotations

import re

from api_support import CONVERSION, Caller, assert_flow_error, create_mapping_set, tutorial_mapping_set

NEW_FORM = {
    "mappings": [
        {
            "sourceType": "ATTRIBUTE",
            "source": "id",
            "destination": "_id",
            "name": "id",
            "description": "Identifier",
        },
        {
            "sourceType": "EXPRESSION",
            "source": 'concat(Id, "@acme.Salesforce")',
            "destination": "b2b.personKey.sourceKey",
        },
    ],
    "outputSchema": {
        "schemaRef": {
            "id": "https://ns.adobe.com/acme/schemas/89abc",
            "contentType": "application/vnd.adobe.xed-full+json;version=1",
        }
    },
}


def test_tutorial_form_creates_version_0(caller: Caller) -> None:
    created = create_mapping_set(caller, tutorial_mapping_set())
    assert set(created) == {"id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy"}
    assert re.fullmatch(r"[0-9a-f]{32}", created["id"]) and created["version"] == 0
    got = caller.get(f"{CONVERSION}/mappingSets/{created['id']}").json()
    assert got["id"] == created["id"] and got["version"] == 0
    assert got["xdmSchema"].endswith("417a33eg81a221bd10495920574gfa2d")
    assert [m["sourceAttribute"] for m in got["mappings"]] == ["first_name", "last_name", "email"]


def test_new_form_and_versions(caller: Caller) -> None:
    created = create_mapping_set(caller, NEW_FORM)
    path = f"{CONVERSION}/mappingSets/{created['id']}"
    response = caller.request("PUT", path, json={**NEW_FORM, "mappings": NEW_FORM["mappings"][:1]})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert len(caller.get(path).json()["mappings"]) == 1
    assert len(caller.get(path, params={"version": "0"}).json()["mappings"]) == 2
    assert caller.get(f"{path}/versions/1").json()["version"] == 1
    assert_flow_error(caller.get(path, params={"version": "7"}), "1412-400")


def test_structural_errors_are_1419(caller: Caller) -> None:
    bad = tutorial_mapping_set((("a", "x.y"), ("b", "x.y")))
    body = assert_flow_error(caller.post(f"{CONVERSION}/mappingSets", json=bad), "1419-400")
    assert body["report"]["reason"] == "DUPLICATE_DESTINATION"
    empty = {**NEW_FORM, "mappings": []}
    assert_flow_error(caller.post(f"{CONVERSION}/mappingSets", json=empty), "1419-400")
    no_schema = {"mappings": NEW_FORM["mappings"]}
    assert_flow_error(caller.post(f"{CONVERSION}/mappingSets", json=no_schema), "1000-400")


def test_scoped_and_deletable(caller: Caller, other_org: Caller) -> None:
    created = create_mapping_set(caller, NEW_FORM)
    path = f"{CONVERSION}/mappingSets/{created['id']}"
    assert_flow_error(other_org.get(path), "1439-404")
    assert caller.delete(path).status_code == 204
    assert_flow_error(caller.get(path), "1439-404")
