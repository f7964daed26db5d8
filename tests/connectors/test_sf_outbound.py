"""The Salesforce connector behind the outbound policy: SSRF attempts against real local listeners.

Each test plays an attacker who controls a connection's ``environmentUrl`` (or the answer of a login
host) and checks what the server does: whom it connects to, what it sends, and what it says back.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pytest

from headwater.connectors.salesforce.connector import SalesforceConnector
from headwater.core.errors import SkippableError
from headwater.core.settings import Settings
from listeners import Received, ScriptedServer, TcpListener, closed_port, fake_salesforce, hostile_echo

BASIC = "Basic Authentication"
OAUTH = "OAuth2 Client Credential"
PASSWORD, TOKEN, CLIENT_SECRET = "HunterPassword42", "TokenSecret77", "ClientSecret99"


def _params(url: str) -> dict[str, Any]:
    return {
        "environmentUrl": url,
        "username": "victim@example.com",
        "password": PASSWORD,
        "securityToken": TOKEN,
        "clientId": "client-id",
        "clientSecret": CLIENT_SECRET,
        "apiVersion": "60.0",
    }


def _check(spec: str, url: str, settings: Settings) -> str:
    with SalesforceConnector.from_auth(spec, _params(url), settings) as connector:
        result = connector.check()
    assert not result.ok
    return result.reason or ""


def _no_secret(text: str) -> None:
    for secret in (PASSWORD, TOKEN, CLIENT_SECRET, PASSWORD + TOKEN, "00Dfake!"):
        assert secret not in text


STRICT = Settings(outbound_allow="", outbound_allow_http=False)  # the defaults, whatever the environment


@pytest.mark.parametrize("spec", [BASIC, OAUTH])
def test_loopback_port_is_refused_before_anything_is_sent(spec: str) -> None:
    with TcpListener() as database:
        reason = _check(spec, f"https://127.0.0.1:{database.port}", STRICT)
        assert database.connections == 0
    assert reason == (
        f"The destination 127.0.0.1:{database.port} is not allowed by the outbound policy (loopback); "
        "allow it with HEADWATER_OUTBOUND_ALLOW."
    )


def test_open_and_closed_ports_answer_identically() -> None:
    """No port scanning: a refused address gives the same reason whether or not something listens."""
    closed = closed_port()
    with TcpListener() as listening:
        open_reason = _check(BASIC, f"https://127.0.0.1:{listening.port}", STRICT)
        closed_reason = _check(BASIC, f"https://127.0.0.1:{closed}", STRICT)
        assert listening.connections == 0
    assert open_reason.replace(str(listening.port), "P") == closed_reason.replace(str(closed), "P")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://localhost:{port}", "loopback"),  # a name resolving to loopback
        ("https://[::ffff:127.0.0.1]:{port}", "loopback"),
        ("https://169.254.169.254", "cloud metadata"),
        ("https://10.0.0.1:5432", "private"),
        ("https://0.0.0.0:{port}", "unspecified"),
    ],
)
def test_internal_destinations_are_refused(url: str, reason: str) -> None:
    with TcpListener() as listening:
        got = _check(BASIC, url.format(port=listening.port), STRICT)
        assert listening.connections == 0
    assert f"not allowed by the outbound policy ({reason})" in got


def test_plain_http_is_refused_without_the_setting() -> None:
    with ScriptedServer(fake_salesforce(lambda: "")) as server:
        reason = _check(BASIC, server.url, Settings(outbound_allow=f"127.0.0.1:{server.port}"))
    assert server.received == []
    assert "Plain http" in reason and "HEADWATER_OUTBOUND_ALLOW_HTTP" in reason


@pytest.mark.parametrize("spec", [BASIC, OAUTH])
def test_echoing_server_is_not_contacted_by_default(spec: str) -> None:
    with ScriptedServer(hostile_echo) as echo:
        reason = _check(spec, echo.url, Settings(outbound_allow_http=True))
    assert echo.received == []  # the credential never left
    assert "(loopback)" in reason
    _no_secret(reason)


@pytest.mark.parametrize("spec", [BASIC, OAUTH])
def test_echoed_secrets_are_summarised_not_repeated(spec: str) -> None:
    """Even a destination the operator allowed cannot make the server repeat what it was sent."""
    with ScriptedServer(hostile_echo) as echo:
        allowed = Settings(outbound_allow=f"127.0.0.1:{echo.port}", outbound_allow_http=True)
        reason = _check(spec, echo.url, allowed)
    assert any(PASSWORD in r.text or CLIENT_SECRET in r.text for r in echo.received)  # it did get it
    _no_secret(reason)
    assert "victim@example.com" not in reason and "<" not in reason
    assert "check the environment URL" in reason or "check the client id and secret" in reason


def test_echoed_bearer_token_after_login_is_not_repeated() -> None:
    def login_then_echo(request: Received) -> tuple[int, dict[str, str], bytes]:
        if request.path.startswith("/services/data/v60.0/"):
            shown = request.headers.get("Authorization", "")
            body = f'[{{"errorCode": "ECHO", "message": "you sent {shown}"}}]'
            return 400, {"Content-Type": "application/json"}, body.encode()
        return fake_salesforce(lambda: server.url)(request)

    with ScriptedServer(login_then_echo) as server:
        allowed = Settings(outbound_allow=f"127.0.0.1:{server.port}", outbound_allow_http=True)
        connector = SalesforceConnector.from_auth(BASIC, _params(server.url), allowed)
        with connector, pytest.raises(SkippableError) as caught:
            connector.list_objects()
    assert "Bearer 00Dfake!session" in server.received[-1].headers["Authorization"]
    assert str(caught.value) == "Salesforce answered HTTP 400 ECHO."
    _no_secret(str(caught.value))


@pytest.mark.parametrize("spec", [BASIC, OAUTH])
@pytest.mark.parametrize("target", ["other", "metadata", "public"])
def test_login_answer_naming_another_host_is_refused(spec: str, target: str) -> None:
    """serverUrl / instance_url choose where the bearer token goes: a login at a host outside
    Salesforce's domains may only name itself -- even when the other host is on the allow list."""
    with TcpListener() as other:
        named = {
            "other": f"http://127.0.0.1:{other.port}",
            "metadata": "http://169.254.169.254",
            "public": "https://evil.example.com",
        }[target]
        with ScriptedServer(fake_salesforce(lambda: named)) as login:
            allow = f"127.0.0.1:{login.port},127.0.0.1:{other.port},169.254.169.254"
            reason = _check(spec, login.url, Settings(outbound_allow=allow, outbound_allow_http=True))
        assert other.connections == 0
    assert [r.path for r in login.received][-1] in ("/services/Soap/u/60.0", "/services/oauth2/token")
    assert "hands later requests to another host" in reason
    assert named.split("//")[1] not in reason


def test_login_at_salesforce_may_hand_over_within_salesforce_domains_only() -> None:
    """Through the resolver seam: login.salesforce.com and its instances are local fakes."""
    from headwater.connectors.outbound import AllowList, OutboundPolicy, OutboundRefused

    instance = {"url": ""}
    with ScriptedServer(fake_salesforce(lambda: instance["url"])) as fake:
        port = fake.port
        names = ("login.salesforce.com", "na1.salesforce.com", "evil.example.com")
        policy = OutboundPolicy(
            AllowList.parse(",".join(names)),
            allow_http=True,
            resolver=lambda host, _: [ip_address("127.0.0.1")],
        )
        login = f"http://login.salesforce.com:{port}"

        def connect(url: str) -> Any:
            instance["url"] = url
            connector = SalesforceConnector.from_auth(BASIC, _params(login), Settings(), policy=policy)
            try:
                return connector.api.connect()
            finally:
                connector.close()

        session = connect(f"http://na1.salesforce.com:{port}")
        assert session.instance_url == f"http://na1.salesforce.com:{port}"
        assert fake.received[-1].headers["Host"] == f"na1.salesforce.com:{port}"
        before = len(fake.received)
        with pytest.raises(OutboundRefused, match="outside Salesforce's domains"):
            connect(f"http://evil.example.com:{port}")
        assert [r.headers["Host"] for r in fake.received[before:]] == [f"login.salesforce.com:{port}"]


def test_redirect_from_the_login_host_is_not_followed() -> None:
    with TcpListener() as internal:

        def redirect(request: Received) -> tuple[int, dict[str, str], bytes]:
            return 307, {"Location": f"http://127.0.0.1:{internal.port}{request.path}"}, b""

        with ScriptedServer(redirect) as login:
            allow = f"127.0.0.1:{login.port},127.0.0.1:{internal.port}"
            reason = _check(BASIC, login.url, Settings(outbound_allow=allow, outbound_allow_http=True))
        assert internal.connections == 0
    assert "did not answer the Salesforce login call (HTTP 307)" in reason
    assert str(internal.port) not in reason
