"""``GET /connections/{id}/test`` and ``/explore`` against the Salesforce emulator over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import SALESFORCE, Caller, assert_flow_error, create_connection, make_settings, new_caller
from fastapi import FastAPI
from starlette.testclient import TestClient

from headwater.api.app import create_app
from headwater.store import db


@pytest.fixture
def sf_caller(salesforce_emulator: Any, tmp_path: Path, secret_key: str) -> Iterator[Caller]:
    settings = make_settings(
        tmp_path / "data",
        secret_key,
        ca_bundle=salesforce_emulator.ca_file,
        outbound_allow=salesforce_emulator.host,  # the emulator on loopback, through the outbound policy
    )
    engine = db.make_engine(f"sqlite:///{tmp_path / 'headwater.db'}")
    app: FastAPI = create_app(settings, engine=engine)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield new_caller(app, http)
    engine.dispose()


def _connection(caller: Caller, sf: Any, spec: str = "basic", **override: Any) -> str:
    if spec == "basic":
        params = {
            "environmentUrl": sf.url,
            "username": sf.username,
            "password": sf.password,
            "securityToken": sf.security_token,
        }
        name = "Basic Authentication"
    else:
        params = {
            "environmentUrl": sf.url,
            "clientId": sf.client_id,
            "clientSecret": sf.client_secret,
            "apiVersion": "60.0",
            "includeDeletedObjects": True,
        }
        name = "OAuth2 Client Credential"
    body = {
        "name": "ACME Salesforce account",
        "auth": {"specName": name, "params": {**params, **override}},
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }
    return str(create_connection(caller, body)["id"])


@pytest.mark.parametrize("spec", ["basic", "oauth"])
def test_connection_test_ok(sf_caller: Caller, salesforce_emulator: Any, spec: str) -> None:
    connection = _connection(sf_caller, salesforce_emulator, spec)
    response = sf_caller.get(f"/connections/{connection}/test")
    assert response.status_code == 200
    assert response.json() == {"result": True}


def test_wrong_credentials_are_stored_and_test_false(sf_caller: Caller, salesforce_emulator: Any) -> None:
    connection = _connection(sf_caller, salesforce_emulator, password="Wrong-Pass-99")
    response = sf_caller.get(f"/connections/{connection}/test")
    assert response.status_code == 200
    body = response.json()
    assert body["result"] is False
    assert "wrong username, password or security token" in body["reason"]
    assert "Wrong-Pass-99" not in response.text


def test_wrong_credentials_explore_is_a_flow_error(sf_caller: Caller, salesforce_emulator: Any) -> None:
    connection = _connection(sf_caller, salesforce_emulator, "oauth", clientSecret="nope-secret")
    response = sf_caller.get(f"/connections/{connection}/explore", params={"objectType": "root"})
    body = assert_flow_error(response, "1390-400")
    assert "nope-secret" not in response.text and "client credentials" in body["errorMessage"]


def test_explore_root_is_a_bare_array(sf_caller: Caller, salesforce_emulator: Any) -> None:
    connection = _connection(sf_caller, salesforce_emulator)
    response = sf_caller.get(f"/connections/{connection}/explore", params={"objectType": "root"})
    assert response.status_code == 200
    items = response.json()
    assert isinstance(items, list)
    assert {
        "type": "table",
        "name": "Invoice",
        "path": "Invoice__c",
        "canPreview": True,
        "canFetchSchema": True,
    } in items


def test_explore_table_and_preview(sf_caller: Caller, salesforce_emulator: Any) -> None:
    connection = _connection(sf_caller, salesforce_emulator)
    path = f"/connections/{connection}/explore"
    schema = sf_caller.get(path, params={"objectType": "table", "object": "Invoice__c"}).json()
    assert schema["format"] == "flat" and "data" not in schema
    columns = {c["name"]: c for c in schema["schema"]["columns"]}
    assert columns["Amount__c"] == {
        "name": "Amount__c",
        "type": "double",
        "xdm": {"type": "number"},
        "meta": {"originalType": "currency"},
    }
    preview = sf_caller.get(
        path, params={"objectType": "table", "object": "Invoice__c", "preview": "true"}
    ).json()
    assert 0 < len(preview["data"]) <= 100
    assert set(preview["data"][0]) == set(columns)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"objectType": "table", "object": "NoSuchObject__c"}, "1003-404"),
        ({"objectType": "table", "object": "Account WHERE Id != null"}, "1003-404"),
        ({"objectType": "table"}, "1337-400"),
        ({"objectType": "folder"}, "1358-400"),
        ({}, "1358-400"),
        ({"objectType": "table", "object": "Account", "preview": "maybe"}, "1000-400"),
    ],
)
def test_explore_bad_requests(
    sf_caller: Caller, salesforce_emulator: Any, params: dict[str, str], code: str
) -> None:
    connection = _connection(sf_caller, salesforce_emulator)
    assert_flow_error(sf_caller.get(f"/connections/{connection}/explore", params=params), code)


def test_unknown_connection(sf_caller: Caller) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert_flow_error(sf_caller.get(f"/connections/{missing}/test"), "1439-404")
    assert_flow_error(
        sf_caller.get(f"/connections/{missing}/explore", params={"objectType": "root"}), "1439-404"
    )


def test_edited_connection_is_not_served_from_the_pool(sf_caller: Caller, salesforce_emulator: Any) -> None:
    connection = _connection(sf_caller, salesforce_emulator)
    assert sf_caller.get(f"/connections/{connection}/test").json() == {"result": True}
    etag = sf_caller.get(f"/connections/{connection}").json()["items"][0]["etag"]
    patch = [{"op": "replace", "path": "/auth/params/password", "value": "changed-wrong"}]
    response = sf_caller.patch(f"/connections/{connection}", json=patch, headers={"If-Match": etag})
    assert response.status_code == 200, response.text
    assert sf_caller.get(f"/connections/{connection}/test").json()["result"] is False
