"""Both auth specs against the emulator over HTTPS, and the reasons people get when they fail."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from headwater.connectors.salesforce.auth import normalise_environment_url
from headwater.connectors.salesforce.connector import SalesforceConnector
from headwater.core.errors import SourceConfigError
from headwater.core.settings import Settings


def test_basic_authentication_logs_in_with_newest_version(make_connector: Any) -> None:
    connector = make_connector("basic")
    assert connector.check().ok
    versions = connector.api.get_json("/services/data/")
    assert connector.api.version == max((v["version"] for v in versions), key=float)


def test_basic_authentication_respects_api_version(make_connector: Any) -> None:
    connector = make_connector("basic", apiVersion="60.0")
    assert connector.check().ok
    assert connector.api.base.endswith("/services/data/v60.0")


def test_oauth_client_credentials_logs_in(make_connector: Any) -> None:
    connector = make_connector("oauth")
    assert connector.check() == connector.check().__class__(True, None)
    assert connector.api.version == "60.0"


def test_environment_url_without_scheme(salesforce_emulator: Any) -> None:
    sf = salesforce_emulator
    params = {
        "environmentUrl": sf.host,
        "username": sf.username,
        "password": sf.password,
        "securityToken": sf.security_token,
    }
    with SalesforceConnector.from_auth(
        "Basic Authentication", params, Settings(ca_bundle=sf.ca_file, outbound_allow=sf.host)
    ) as connector:
        assert connector.check().ok


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "https://login.salesforce.com"),
        (None, "https://login.salesforce.com"),
        ("test.salesforce.com", "https://test.salesforce.com"),
        ("acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
        ("https://127.0.0.1:8443/services/Soap/u/60.0", "https://127.0.0.1:8443"),
    ],
)
def test_environment_url_normalised(given: str | None, expected: str) -> None:
    assert normalise_environment_url(given) == expected


def test_wrong_password_gives_a_clear_reason_without_secrets(make_connector: Any) -> None:
    connector = make_connector("basic", password="hunter2-wrong")
    result = connector.check()
    assert not result.ok
    assert "wrong username, password or security token" in (result.reason or "")
    assert "hunter2" not in (result.reason or "") and "hunter2" not in repr(connector.api.auth)


def test_wrong_security_token(make_connector: Any, salesforce_emulator: Any) -> None:
    result = make_connector("basic", securityToken="nope").check()
    assert not result.ok and "INVALID_LOGIN" in (result.reason or "")
    assert salesforce_emulator.password not in (result.reason or "")


def test_wrong_client_secret(make_connector: Any) -> None:
    result = make_connector("oauth", clientSecret="s3cret-wrong").check()
    assert not result.ok
    assert "client credentials" in (result.reason or "") and "s3cret" not in (result.reason or "")


def test_unknown_api_version(make_connector: Any) -> None:
    result = make_connector("basic", apiVersion="12.0").check()
    assert not result.ok and "12.0" in (result.reason or "")


def test_tls_failure_without_the_ca(make_connector: Any) -> None:
    result = make_connector("basic", ca=False).check()
    assert not result.ok
    assert "TLS verification failed" in (result.reason or "")


def test_ca_bundle_that_is_not_pem(tmp_path: Any, salesforce_emulator: Any) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    sf = salesforce_emulator
    with pytest.raises(SourceConfigError, match="CA bundle"):
        SalesforceConnector.from_auth(
            "Basic Authentication", {"environmentUrl": sf.url}, Settings(ca_bundle=bad)
        )


def test_unreachable_host(salesforce_emulator: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sf = salesforce_emulator
    params = {
        "environmentUrl": f"https://127.0.0.1:{port}",
        "username": sf.username,
        "password": "x",
        "securityToken": "y",
    }
    allowed = Settings(ca_bundle=sf.ca_file, outbound_allow=f"127.0.0.1:{port}")
    with SalesforceConnector.from_auth("Basic Authentication", params, allowed) as connector:
        result = connector.check()
    assert not result.ok and "unreachable" in (result.reason or "")


class _NotSalesforce(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = b"<html>nothing here</html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("spec", ["Basic Authentication", "OAuth2 Client Credential"])
def test_wrong_environment_url(spec: str) -> None:
    server = HTTPServer(("127.0.0.1", 0), _NotSalesforce)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        params = {
            "environmentUrl": url,
            "username": "u",
            "password": "p",
            "securityToken": "t",
            "clientId": "c",
            "clientSecret": "s",
            "apiVersion": "60.0",
        }
        allowed = Settings(outbound_allow=f"127.0.0.1:{server.server_address[1]}", outbound_allow_http=True)
        with SalesforceConnector.from_auth(spec, params, allowed) as connector:
            result = connector.check()
    finally:
        server.shutdown()
        server.server_close()
    assert not result.ok
    assert "check the environment URL" in (result.reason or "")
