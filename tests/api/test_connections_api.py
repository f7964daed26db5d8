"""Base connections: the seed tutorial verbatim, CRUD, validation and every PATCH/DELETE error path."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from api_support import (
    BASE,
    SALESFORCE,
    Caller,
    assert_flow_error,
    basic_connection,
    create_connection,
    make_settings,
)

# The seed tutorial's -d body, verbatim (placeholders left as the tutorial shows them).
SEED_BODY = b"""{
        "name": "Salesforce Connection",
        "description": "Connection for Salesforce account",
        "auth": {
            "specName": "Basic Authentication",
            "params": {
                "username": "{USERNAME}",
                "password": "{PASSWORD}",
                "securityToken": "{SECURITY_TOKEN}"
            }
        },
        "connectionSpec": {
            "id": "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5",
            "version": "1.0"
        }
    }"""
ETAG = re.compile(r'^"[0-9a-f]{8}-0000-0200-0000-[0-9a-f]{12}"$')


def test_seed_request_creates_and_get_masks_secrets(caller: Caller) -> None:
    response = caller.post("/connections", content=SEED_BODY, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "etag"} and ETAG.match(created["etag"])
    assert response.headers["location"].endswith(f"/connections/{created['id']}")
    got = caller.get(f"/connections/{created['id']}")
    assert got.status_code == 200
    item = got.json()["items"][0]
    params = item["auth"]["params"]
    assert params["username"] == "{USERNAME}"
    assert params["password"] != "{PASSWORD}" and params["securityToken"] != "{SECURITY_TOKEN}"
    assert set(params["password"]) == {"*"}
    for key in ("createdBy", "updatedBy", "createdClient", "updatedClient"):
        assert item[key]
    assert item["createdClient"] == caller.client_id
    assert isinstance(item["createdAt"], int) and item["createdAt"] == item["updatedAt"] > 1_600_000_000_000
    assert item["sandboxName"] == "prod" and item["imsOrgId"] == caller.org_id
    assert item["state"] == "enabled"
    assert item["version"] == item["etag"] == created["etag"]
    assert item["connectionSpec"] == {"id": SALESFORCE, "version": "1.0"}
    assert b"PASSWORD" not in got.content


def test_oauth_client_credential_connection(caller: Caller) -> None:
    body = {
        "name": "ACME Salesforce account",
        "auth": {
            "specName": "OAuth2 Client Credential",
            "params": {
                "environmentUrl": "https://acme-enterprise-3126.my.salesforce.com",
                "clientId": "xxxx",
                "clientSecret": "very-secret-client",
                "apiVersion": "60.0",
                "includeDeletedObjects": True,
            },
        },
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }
    created = create_connection(caller, body)
    params = caller.get(f"/connections/{created['id']}").json()["items"][0]["auth"]["params"]
    assert params["clientSecret"] == "*****" and params["clientId"] == "xxxx"
    assert params["includeDeletedObjects"] is True


def test_unknown_spec_is_1413(caller: Caller) -> None:
    body = basic_connection()
    body["connectionSpec"]["id"] = "00000000-0000-0000-0000-000000000000"
    assert_flow_error(caller.post("/connections", json=body), "1413-400")


def test_unknown_auth_spec_is_1415(caller: Caller) -> None:
    body = basic_connection()
    body["auth"]["specName"] = "authConnection"
    error = assert_flow_error(caller.post("/connections", json=body), "1415-400")
    assert "'authConnection'" in error["errorMessage"] and SALESFORCE in error["errorMessage"]


def test_missing_required_param_names_the_field(caller: Caller) -> None:
    body = basic_connection()
    del body["auth"]["params"]["securityToken"]
    error = assert_flow_error(caller.post("/connections", json=body), "1304-400")
    assert "securityToken" in error["errorMessage"]


def test_wrongly_typed_param_names_the_field_and_hides_the_value(caller: Caller) -> None:
    body = basic_connection()
    body["auth"]["params"]["password"] = 12345678
    error = assert_flow_error(caller.post("/connections", json=body), "1304-400")
    assert "password" in error["errorMessage"] and "12345678" not in orjson.dumps(error).decode()


def test_oauth_requires_api_version(caller: Caller) -> None:
    body = {
        "name": "x",
        "auth": {
            "specName": "OAuth2 Client Credential",
            "params": {"environmentUrl": "https://a", "clientId": "c", "clientSecret": "s"},
        },
        "connectionSpec": {"id": SALESFORCE},
    }
    error = assert_flow_error(caller.post("/connections", json=body), "1304-400")
    assert "apiVersion" in error["errorMessage"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "1405-400"),
        (b"{not json", "1000-400"),
        (b"[]", "1000-400"),
        (b'{"name": "x"}', "1000-400"),
        (
            b'{"name": "x", "connectionSpec": {"id": "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"}, "bogus": 1}',
            "1000-400",
        ),
    ],
)
def test_malformed_bodies(caller: Caller, content: bytes, code: str) -> None:
    response = caller.post("/connections", content=content, headers={"Content-Type": "application/json"})
    assert_flow_error(response, code)


def test_unknown_field_is_named(caller: Caller) -> None:
    body = {**basic_connection(), "bogus": 1}
    error = assert_flow_error(caller.post("/connections", json=body), "1000-400")
    assert "bogus" in error["errorMessage"]


def test_get_unknown_connection_is_flow_404(caller: Caller) -> None:
    error = assert_flow_error(caller.get("/connections/does-not-exist"), "1439-404")
    assert error["report"]["id"] == "does-not-exist" and error["report"]["type"] == "connections"


def test_patch_as_in_adobe_docs(caller: Caller) -> None:
    created = create_connection(caller)
    ops = [
        {
            "op": "replace",
            "path": "/auth/params",
            "value": {
                "username": "salesforce-connector-username",
                "password": "{NEW_PASSWORD}",
                "securityToken": "{NEW_SECURITY_TOKEN}",
            },
        },
        {"op": "replace", "path": "/name", "value": "Test salesforce connection"},
        {"op": "add", "path": "/description", "value": "A test salesforce connection"},
    ]
    response = caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]})
    assert response.status_code == 200
    assert response.json()["id"] == created["id"] and response.json()["etag"] != created["etag"]
    item = caller.get(f"/connections/{created['id']}").json()["items"][0]
    assert item["name"] == "Test salesforce connection"
    assert item["description"] == "A test salesforce connection"
    assert item["auth"]["params"]["username"] == "salesforce-connector-username"
    assert item["etag"] == response.json()["etag"] and item["updatedAt"] >= item["createdAt"]


def test_patch_single_op_object_unquoted_etag_uppercase_op(caller: Caller) -> None:
    created = create_connection(caller)
    response = caller.patch(
        f"/connections/{created['id']}",
        json={"op": "REPLACE", "path": "/name", "value": "renamed"},
        headers={"If-Match": created["etag"].strip('"')},
    )
    assert response.status_code == 200, response.text
    assert caller.get(f"/connections/{created['id']}").json()["items"][0]["name"] == "renamed"


def test_patch_leaf_keeps_other_secrets(app: Any, caller: Caller) -> None:
    created = create_connection(caller)
    ops = [{"op": "replace", "path": "/auth/params/username", "value": "new-user"}]
    assert (
        caller.patch(
            f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
        ).status_code
        == 200
    )
    state = app.state.headwater
    with state.sessions() as session:
        from headwater.store.models import Connection

        row = session.get(Connection, created["id"])
        assert row is not None
        assert state.secret_box.open(row.secrets) == {
            "password": "pw-Very-Secret-1",
            "securityToken": "tok-Secret-2",
        }
        assert "password" not in (row.auth_params or {}) and row.auth_params["username"] == "new-user"


def test_patch_without_if_match_is_1403(caller: Caller) -> None:
    created = create_connection(caller)
    assert_flow_error(
        caller.patch(
            f"/connections/{created['id']}", json=[{"op": "replace", "path": "/name", "value": "x"}]
        ),
        "1403-400",
    )


def test_patch_with_stale_etag_is_1404(caller: Caller) -> None:
    created = create_connection(caller)
    ops = [{"op": "replace", "path": "/name", "value": "x"}]
    first = caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]})
    assert first.status_code == 200
    stale = caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]})
    assert_flow_error(stale, "1404-412")


def test_patch_connection_spec_is_1414(caller: Caller) -> None:
    created = create_connection(caller)
    ops = [{"op": "replace", "path": "/connectionSpec/id", "value": "c604ff05-7f1a-43c0-8e18-33bf874cb11c"}]
    assert_flow_error(
        caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}),
        "1414-400",
    )


def test_patched_params_are_validated_again(caller: Caller) -> None:
    created = create_connection(caller)
    ops = [{"op": "remove", "path": "/auth/params/password"}]
    error = assert_flow_error(
        caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}),
        "1304-400",
    )
    assert "password" in error["errorMessage"]
    # nothing changed: the old etag still works
    ops = [{"op": "replace", "path": "/name", "value": "ok"}]
    assert (
        caller.patch(
            f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([{"op": "move", "path": "/name", "from": "/description"}], "1434-400"),
        ([{"op": "replace", "path": "/nothere/deeper", "value": 1}], "1365-400"),
        ([{"op": "replace", "path": "/auth/params/nothere/x", "value": 1}], "1455-400"),
        ([{"op": "remove", "path": "/auth/params/nosuch"}], "1455-400"),
        ([{"op": "replace", "path": "/name"}], "1455-400"),
        ([{"path": "/name", "value": "x"}], "1455-400"),
        ([{"op": "replace", "path": "/id", "value": "x"}], "1365-400"),
        ([{"op": "replace", "path": "name", "value": "x"}], "1365-400"),
        ([], "1405-400"),
        ("text", "1405-400"),
    ],
)
def test_bad_patch_instructions(caller: Caller, ops: Any, code: str) -> None:
    created = create_connection(caller)
    response = caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]})
    assert_flow_error(response, code)


def test_patch_unknown_connection_is_404(caller: Caller) -> None:
    response = caller.patch(
        "/connections/nope",
        json=[{"op": "replace", "path": "/name", "value": "x"}],
        headers={"If-Match": '"x"'},
    )
    assert_flow_error(response, "1439-404")


def test_delete_then_get_is_404(caller: Caller) -> None:
    created = create_connection(caller)
    response = caller.delete(f"/connections/{created['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_flow_error(caller.get(f"/connections/{created['id']}"), "1439-404")
    assert_flow_error(caller.delete(f"/connections/{created['id']}"), "1439-404")


def test_unknown_route_and_method_use_the_envelope(caller: Caller) -> None:
    assert_flow_error(caller.get("/nothing-here"), "1101-404")
    assert_flow_error(caller.request("PUT", "/connections"), "1100-405")


def test_undecryptable_secrets_answer_the_500_envelope_without_leaking(
    backend: Any, caller: Caller, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from cryptography.fernet import Fernet
    from starlette.testclient import TestClient

    from headwater.api.app import create_app

    created = create_connection(caller)
    wrong_key = create_app(make_settings(tmp_path, Fernet.generate_key().decode()), engine=backend[1])
    with TestClient(wrong_key, raise_server_exceptions=False) as http:
        wrong_key.state.headwater.tokens = caller.http.app.state.headwater.tokens  # same token signer
        response = http.get(f"{BASE}/connections/{created['id']}", headers=caller.headers())
    assert_flow_error(response, "1400-500")
    assert "pw-Very-Secret-1" not in response.text and "pw-Very-Secret-1" not in caplog.text
