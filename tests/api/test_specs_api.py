"""Connection specs and flow specs, as contract §5.1, §7.2 and §7.6 show them."""

from __future__ import annotations

from api_support import SALESFORCE, Caller, assert_flow_error

DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


def test_salesforce_spec_by_name(caller: Caller) -> None:
    response = caller.get("/connectionSpecs?property=name==%22salesforce%22")
    assert response.status_code == 200
    [spec] = response.json()["items"]
    assert spec["id"] == SALESFORCE and spec["providerId"] == "0ed90a81-07f4-4586-8190-b40eccef1c5a"
    auth = {a["name"]: a["spec"] for a in spec["authSpec"]}
    assert set(auth) == {"Basic Authentication", "OAuth2 Client Credential"}
    basic = auth["Basic Authentication"]["properties"]
    assert set(basic) == {"environmentUrl", "username", "password", "securityToken", "apiVersion"}
    assert basic["password"]["format"] == basic["securityToken"]["format"] == "password"
    oauth = auth["OAuth2 Client Credential"]["properties"]
    assert set(oauth) == {"environmentUrl", "clientId", "clientSecret", "apiVersion", "includeDeletedObjects"}
    assert oauth["clientSecret"]["format"] == "password"
    assert spec["sourceSpec"]["spec"]["required"] == ["tableName", "columns"]
    assert spec["exploreSpec"]["name"] == "Tabular"
    assert set(spec["exploreSpec"]["responseSpec"]) == {"root", "table"}
    assert spec["exploreSpec"]["requestSpec"]["properties"]["objectType"]["enum"] == ["table", "root"]


def test_spec_by_id_and_data_lake(caller: Caller) -> None:
    assert caller.get(f"/connectionSpecs/{SALESFORCE}").json()["items"][0]["name"] == "salesforce"
    assert caller.get(f"/connectionSpecs/{DATA_LAKE}").json()["items"][0]["id"] == DATA_LAKE
    assert len(caller.get("/connectionSpecs").json()["items"]) >= 2


def test_flow_specs(caller: Caller) -> None:
    [spec] = caller.get("/flowSpecs?property=name==%22CRMToAEP%22").json()["items"]
    assert spec["id"] == CRM_TO_AEP
    assert SALESFORCE in spec["sourceConnectionSpecIds"] and spec["targetConnectionSpecIds"] == [DATA_LAKE]
    assert caller.get(f"/flowSpecs/{CRM_TO_AEP}").json()["items"][0]["name"] == "CRMToAEP"


def test_unknown_specs_are_404(caller: Caller) -> None:
    assert_flow_error(caller.get("/connectionSpecs/nope"), "1439-404")
    assert_flow_error(caller.get("/flowSpecs/nope"), "1439-404")


def test_specs_need_auth(caller: Caller) -> None:
    assert caller.get("/connectionSpecs", headers={"Authorization": None}).status_code == 403


def test_openapi_describes_the_api(caller: Caller) -> None:
    doc = caller.http.get("/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/data/foundation/flowservice/connections",
        "/data/foundation/flowservice/connections/{connection_id}",
        "/data/foundation/flowservice/connectionSpecs",
        "/ims/token/v3",
    ):
        assert path in paths
    create = paths["/data/foundation/flowservice/connections"]["post"]
    assert "connectionSpec" in create["requestBody"]["content"]["application/json"]["schema"]["properties"]
