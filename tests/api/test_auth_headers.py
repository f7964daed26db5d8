"""Every header failure of contract §2.2, in order, plus the IMS token exchange."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from api_support import BASE, Caller, assert_flow_error, basic_connection, make_settings
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.testclient import TestClient

from headwater.api.app import create_app


def gateway(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error_code": code, "message": message}


def test_token_has_adobe_shape_and_names_org_and_client(caller: Caller) -> None:
    response = caller.http.post(
        "/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": caller.client_id,
            "client_secret": caller.client_secret,
            "scope": "openid,AdobeID",
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 86_400
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["org"] == caller.org_id and claims["sub"] == caller.client_id
    assert claims["exp"] - claims["iat"] == 86_400


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
        {"grant_type": "client_credentials"},
        {"grant_type": "password", "client_id": "a", "client_secret": "b"},
    ],
)
def test_token_refused_for_bad_credentials(caller: Caller, form: dict[str, str]) -> None:
    response = caller.http.post("/ims/token/v3", data=form)
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_wrong_secret_gets_no_token(caller: Caller) -> None:
    form = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "wrong"}
    assert caller.http.post("/ims/token/v3", data=form).status_code == 401


def test_missing_authorization(caller: Caller) -> None:
    gateway(
        caller.get("/connections", headers={"Authorization": None}), 403, "403010", "Oauth token is missing."
    )


@pytest.mark.parametrize("value", ["Bearer not-a-token", "Basic abc", "Bearer "])
def test_invalid_token(caller: Caller, value: str) -> None:
    gateway(
        caller.get("/connections", headers={"Authorization": value}),
        401,
        "401013",
        "Oauth token is not valid",
    )


def test_token_signed_by_another_key_is_invalid(caller: Caller) -> None:
    forged = jwt.encode(
        {"iss": "headwater-ims", "sub": caller.client_id, "org": caller.org_id, "exp": int(time.time()) + 60},
        b"k" * 32,
        algorithm="HS256",
    )
    response = caller.get("/connections", headers={"Authorization": f"Bearer {forged}"})
    gateway(response, 401, "401013", "Oauth token is not valid")


def test_expired_token_is_invalid(app: FastAPI, caller: Caller) -> None:
    tokens = app.state.headwater.tokens
    ttl, tokens.ttl_seconds = tokens.ttl_seconds, -10
    try:
        expired = tokens.issue(caller.org_id, caller.client_id)
    finally:
        tokens.ttl_seconds = ttl
    response = caller.get("/connections", headers={"Authorization": f"Bearer {expired}"})
    gateway(response, 401, "401013", "Oauth token is not valid")


def test_missing_api_key(caller: Caller) -> None:
    gateway(caller.get("/connections", headers={"x-api-key": None}), 403, "403000", "Api Key is required")


def test_api_key_not_the_tokens_client(caller: Caller, other_org: Caller) -> None:
    response = caller.get("/connections", headers={"x-api-key": other_org.client_id})
    gateway(response, 403, "403003", "Api Key is invalid")


def test_missing_org_header(caller: Caller) -> None:
    gateway(caller.get("/connections", headers={"x-gw-ims-org-id": None}), 400, "400003", "Missing header")


def test_org_header_not_the_tokens_org(caller: Caller, other_org: Caller) -> None:
    response = caller.get("/connections", headers={"x-gw-ims-org-id": other_org.org_id})
    gateway(response, 403, "403025", "Profile is not valid")


def test_unknown_sandbox(caller: Caller) -> None:
    body = assert_flow_error(caller.get("/connections", headers={"x-sandbox-name": "nosuch"}), "2100-404")
    assert "'nosuch'" in body["errorMessage"]


def test_sandbox_of_another_org_is_unknown(caller: Caller, other_org: Caller) -> None:
    # both orgs have "dev"; a sandbox only another org has is still unknown here
    assert caller.get("/connections", headers={"x-sandbox-name": "dev"}).status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_body_needs_json_content_type(caller: Caller, content_type: str | None) -> None:
    import orjson

    response = caller.post(
        "/connections", content=orjson.dumps(basic_connection()), headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": "/placeholder/type/uri",
        "status": 400,
        "title": "BadRequestError",
        "detail": "A valid content-type must be specified",
    }


def test_content_type_with_charset_is_fine(caller: Caller) -> None:
    import orjson

    response = caller.post(
        "/connections",
        content=orjson.dumps(basic_connection()),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_auth_is_checked_before_the_body(caller: Caller) -> None:
    response = caller.post("/connections", content=b"{not json", headers={"Authorization": None})
    gateway(response, 403, "403010", "Oauth token is missing.")


def test_missing_sandbox_defaults_to_prod(caller: Caller) -> None:
    created = caller.post("/connections", json=basic_connection()).json()
    response = caller.get(f"/connections/{created['id']}", headers={"x-sandbox-name": None})
    assert response.status_code == 200
    assert response.json()["items"][0]["sandboxName"] == "prod"


def test_missing_sandbox_can_be_an_error(
    app: FastAPI, backend: tuple[str, Engine], caller: Caller, secret_key: str, tmp_path: Any
) -> None:
    strict = create_app(make_settings(tmp_path, secret_key, missing_sandbox="error"), engine=backend[1])
    with TestClient(strict) as http:
        response = http.get(BASE + "/connections", headers=caller.headers(**{"x-sandbox-name": None}))
    assert_flow_error(response, "2105-400")


def test_tokens_verify_across_processes_sharing_the_key(
    backend: tuple[str, Engine], caller: Caller, secret_key: str, tmp_path: Any
) -> None:
    second = create_app(make_settings(tmp_path, secret_key), engine=backend[1])
    with TestClient(second) as http:
        assert http.get(BASE + "/connections", headers=caller.headers()).status_code == 200
