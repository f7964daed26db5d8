"""SSRF through the real API: ``environmentUrl`` checked when written, and ``/test`` and ``/explore``
held to the outbound policy against real listeners on 127.0.0.1 (see docs/security.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from api_support import (
    SALESFORCE,
    Caller,
    assert_flow_error,
    basic_connection,
    create_connection,
    make_settings,
    new_caller,
)
from starlette.testclient import TestClient

from headwater.api.app import create_app
from headwater.store import db
from listeners import Received, ScriptedServer, TcpListener, closed_port, fake_salesforce, hostile_echo

PASSWORD, TOKEN = "pw-Very-Secret-1", "tok-Secret-2"  # basic_connection()'s


# --- write time: only http(s) URLs or hosts are stored ---------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("file:/etc/passwd", "file"),
        ("ftp://files.example.com/", "ftp"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "gopher"),
        ("javascript:alert(1)", "javascript"),
    ],
)
def test_create_refuses_environment_url_of_another_scheme(caller: Caller, url: str, scheme: str) -> None:
    response = caller.post("/connections", json=basic_connection(environmentUrl=url))
    body = assert_flow_error(response, "1304-400")
    assert body["errorMessage"].startswith("The field auth.params.environmentUrl is invalid:")
    assert f"scheme '{scheme}' is not allowed" in body["errorMessage"]
    assert (
        caller.get("/connections", params={"property": "name==Salesforce Connection"}).json()["items"] == []
    )


def test_create_refuses_credentials_in_the_url(caller: Caller) -> None:
    response = caller.post("/connections", json=basic_connection(environmentUrl="https://u:pw@acme.example"))
    body = assert_flow_error(response, "1304-400")
    assert "user name or password" in body["errorMessage"] and "pw@" not in response.text


def test_patch_refuses_a_file_environment_url(caller: Caller) -> None:
    created = create_connection(caller, basic_connection(environmentUrl="https://acme.my.salesforce.com"))
    ops = [{"op": "replace", "path": "/auth/params/environmentUrl", "value": "file:///etc/passwd"}]
    response = caller.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]})
    body = assert_flow_error(response, "1304-400")
    assert "scheme 'file' is not allowed" in body["errorMessage"]
    stored = caller.get(f"/connections/{created['id']}").json()["items"][0]
    assert stored["etag"] == created["etag"]
    assert stored["auth"]["params"]["environmentUrl"] == "https://acme.my.salesforce.com"


def test_hosts_and_urls_are_still_accepted(caller: Caller) -> None:
    for url in ("", "acme.my.salesforce.com", "https://127.0.0.1:8443/x", "http://sf-proxy.corp:8080"):
        create_connection(caller, basic_connection(environmentUrl=url))  # reachability is checked on use


# --- use time: /test and /explore ------------------------------------------------------------------


@contextmanager
def served_api(tmp_path: Path, secret_key: str, **settings: Any) -> Iterator[Caller]:
    """The API on its own SQLite store with ``settings`` (default: the strict outbound policy)."""
    options = {"outbound_allow": "", "outbound_allow_http": False, **settings}
    engine = db.make_engine(f"sqlite:///{tmp_path / 'headwater.db'}")
    app = create_app(make_settings(tmp_path / "data", secret_key, **options), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield new_caller(app, http)
    engine.dispose()


def _connection(caller: Caller, url: str, spec: str = "basic") -> str:
    if spec == "basic":  # with a version, the first call is the login (it carries the password)
        return str(create_connection(caller, basic_connection(environmentUrl=url, apiVersion="60.0"))["id"])
    body = {
        "name": "OAuth account",
        "auth": {
            "specName": "OAuth2 Client Credential",
            "params": {
                "environmentUrl": url,
                "clientId": "client-id",
                "clientSecret": "client-Secret-3",
                "apiVersion": "60.0",
            },
        },
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }
    return str(create_connection(caller, body)["id"])


def _test(caller: Caller, connection: str) -> dict[str, Any]:
    response = caller.get(f"/connections/{connection}/test")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["result"] is False
    for secret in (PASSWORD, TOKEN, "client-Secret-3"):
        assert secret not in response.text
    return body


def test_test_refuses_a_loopback_port_identically_open_or_closed(tmp_path: Path, secret_key: str) -> None:
    """No port scanner: 127.0.0.1:<a listening port> and 127.0.0.1:<a closed port> answer the same,
    and nothing is sent to the listener (so no password)."""
    closed = closed_port()
    with TcpListener() as database, served_api(tmp_path, secret_key) as caller:
        answers = {}
        for port in (database.port, closed):
            body = _test(caller, _connection(caller, f"https://127.0.0.1:{port}"))
            answers[port] = json.dumps(body).replace(str(port), "PORT")
        assert database.connections == 0
    assert answers[database.port] == answers[closed]
    assert json.loads(answers[closed])["reason"] == (
        "The destination 127.0.0.1:PORT is not allowed by the outbound policy (loopback); "
        "allow it with HEADWATER_OUTBOUND_ALLOW."
    )


def test_explore_refuses_loopback_with_a_flow_error(tmp_path: Path, secret_key: str) -> None:
    with TcpListener() as database, served_api(tmp_path, secret_key) as caller:
        connection = _connection(caller, f"https://127.0.0.1:{database.port}")
        response = caller.get(f"/connections/{connection}/explore", params={"objectType": "root"})
        body = assert_flow_error(response, "1390-400")
        assert database.connections == 0
    assert "not allowed by the outbound policy (loopback)" in body["errorMessage"]


@pytest.mark.parametrize("spec", ["basic", "oauth"])
def test_test_does_not_send_credentials_to_an_echo_server(tmp_path: Path, secret_key: str, spec: str) -> None:
    def echo(request: Received) -> tuple[int, dict[str, str], bytes]:
        return 400, {"Content-Type": "application/json"}, json.dumps({"error": request.text}).encode()

    with ScriptedServer(echo) as server, served_api(tmp_path, secret_key, outbound_allow_http=True) as caller:
        body = _test(caller, _connection(caller, server.url, spec))
    assert server.received == []
    assert "(loopback)" in body["reason"]


@pytest.mark.parametrize("spec", ["basic", "oauth"])
def test_an_allowed_echo_server_gets_summarised(tmp_path: Path, secret_key: str, spec: str) -> None:
    """Allowed on purpose (and so sent the credential), it still cannot make the API repeat it."""
    with ScriptedServer(hostile_echo) as server:
        settings = {"outbound_allow": f"127.0.0.1:{server.port}", "outbound_allow_http": True}
        with served_api(tmp_path, secret_key, **settings) as caller:
            connection = _connection(caller, server.url, spec)
            body = _test(caller, connection)
            explore = caller.get(f"/connections/{connection}/explore", params={"objectType": "root"})
    assert PASSWORD in server.received[0].text or "client-Secret-3" in server.received[0].text
    assert "check the environment URL" in body["reason"] or "check the client id" in body["reason"]
    assert_flow_error(explore, "1390-400")
    for secret in (PASSWORD, TOKEN, "client-Secret-3", "grant_type", "soapenv"):
        assert secret not in explore.text and secret not in body["reason"]


@pytest.mark.parametrize("spec", ["basic", "oauth"])
def test_a_login_answer_pointing_elsewhere_is_refused(tmp_path: Path, secret_key: str, spec: str) -> None:
    """The login host is allowed; the instance URL it names (another allowed port) is not followed,
    so the bearer token never reaches it."""
    with TcpListener() as other:
        with ScriptedServer(fake_salesforce(lambda: f"http://127.0.0.1:{other.port}")) as login:
            allow = f"127.0.0.1:{login.port},127.0.0.1:{other.port}"
            with served_api(tmp_path, secret_key, outbound_allow=allow, outbound_allow_http=True) as caller:
                connection = _connection(caller, login.url, spec)
                body = _test(caller, connection)
                explore = caller.get(f"/connections/{connection}/explore", params={"objectType": "root"})
        assert other.connections == 0
    assert "hands later requests to another host" in body["reason"]
    assert "another host" in assert_flow_error(explore, "1390-400")["errorMessage"]
    assert str(other.port) not in body["reason"]


def test_a_name_resolving_to_loopback_is_refused(tmp_path: Path, secret_key: str) -> None:
    with TcpListener() as listening, served_api(tmp_path, secret_key) as caller:
        body = _test(caller, _connection(caller, f"localhost:{listening.port}"))
        assert listening.connections == 0
    assert body["reason"].startswith(f"The destination localhost:{listening.port} is not allowed")


def test_a_redirect_to_loopback_is_not_followed(tmp_path: Path, secret_key: str) -> None:
    with TcpListener() as internal:

        def redirect(request: Received) -> tuple[int, dict[str, str], bytes]:
            return 307, {"Location": f"http://127.0.0.1:{internal.port}{request.path}"}, b""

        with ScriptedServer(redirect) as login:
            allow = f"127.0.0.1:{login.port}"
            with served_api(tmp_path, secret_key, outbound_allow=allow, outbound_allow_http=True) as caller:
                body = _test(caller, _connection(caller, login.url))
        assert internal.connections == 0
    assert "(HTTP 307)" in body["reason"] and str(internal.port) not in body["reason"]


def test_the_emulator_passes_when_allowed_and_not_otherwise(
    tmp_path: Path, secret_key: str, salesforce_emulator: Any
) -> None:
    sf = salesforce_emulator
    params = {"environmentUrl": sf.url, "password": sf.password, "securityToken": sf.security_token}
    for folder, allow, expected in (("strict", "", False), ("allowed", sf.host, True)):
        with served_api(tmp_path / folder, secret_key, ca_bundle=sf.ca_file, outbound_allow=allow) as caller:
            body = basic_connection(**params)
            body["auth"]["params"]["username"] = sf.username
            connection = str(create_connection(caller, body)["id"])
            response = caller.get(f"/connections/{connection}/test")
            assert response.json()["result"] is expected, response.text
