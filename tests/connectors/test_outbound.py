"""The outbound policy on its own: addresses, the allow list, URLs, hand-offs, and the httpx transport
and TCP helper against real listeners on 127.0.0.1 (see docs/security.md)."""

from __future__ import annotations

import re
import socket
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from headwater.connectors.outbound import (
    AllowList,
    DomainFamily,
    OutboundPolicy,
    OutboundRefused,
    parse_url,
    refusal_reason,
    remote_code,
)
from headwater.core.errors import ConfigurationError, SourceConfigError, SourceUnavailable
from headwater.core.settings import Settings
from listeners import ScriptedServer, TcpListener, closed_port


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not public"),  # carrier-grade NAT
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_refusal_reasons(address: str, reason: str | None) -> None:
    assert refusal_reason(ip_address(address)) == reason


def test_refused_address_message_names_destination_reason_and_setting() -> None:
    with pytest.raises(OutboundRefused) as caught:
        OutboundPolicy().check_host_port("127.0.0.1", 5432)
    assert caught.value.message == (
        "The destination 127.0.0.1:5432 is not allowed by the outbound policy (loopback); "
        "allow it with HEADWATER_OUTBOUND_ALLOW."
    )
    assert isinstance(caught.value, SourceConfigError)  # terminal: fix the connection or the policy


def test_public_addresses_pass_without_resolving() -> None:
    assert OutboundPolicy().check_host_port("8.8.8.8", 443) == (ip_address("8.8.8.8"),)


def test_allow_list_entries() -> None:
    allow = AllowList.parse(" sf-proxy.corp:8443 , 10.20.0.0/16,[::1]:9000, 127.0.0.1 ,internal.example")
    policy = OutboundPolicy(allow, resolver=lambda host, port: [ip_address("10.9.9.9")])
    assert policy.check_host_port("sf-proxy.corp", 8443)  # a name with its port
    with pytest.raises(OutboundRefused, match=r"sf-proxy\.corp:443 .*\(private\)"):
        policy.check_host_port("sf-proxy.corp", 443)  # ... and no other port
    assert policy.check_host_port("SF-Proxy.corp.", 8443)  # names compare normalised
    assert policy.check_host_port("internal.example", 1)  # a name, any port
    assert policy.check_host_port("10.20.30.40", 22)  # a range, any port
    assert policy.check_host_port("::1", 9000)
    with pytest.raises(OutboundRefused, match=r"\[::1\]:9001 .*\(loopback\)"):
        policy.check_host_port("::1", 9001)
    assert policy.check_host_port("127.0.0.1", 5432)  # an address, any port


def test_a_range_never_opens_cloud_metadata_but_naming_it_does() -> None:
    wide = OutboundPolicy(AllowList.parse("169.254.0.0/16,0.0.0.0/0"))
    assert wide.check_host_port("169.254.10.10", 80)
    with pytest.raises(OutboundRefused, match=r"\(cloud metadata\)"):
        wide.check_host_port("169.254.169.254", 80)
    assert OutboundPolicy(AllowList.parse("169.254.169.254")).check_host_port("169.254.169.254", 80)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "host:0", "host:http", "[::1]x", "bad host", "a:b:c/7"])
def test_bad_allow_list_entries_are_configuration_errors(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="HEADWATER_OUTBOUND_ALLOW"):
        AllowList.parse(f"ok.example,{entry}")


def test_policy_from_settings() -> None:
    policy = OutboundPolicy.from_settings(Settings(outbound_allow="127.0.0.1:8443", outbound_allow_http=True))
    assert policy.allow_http and policy.check_host_port("127.0.0.1", 8443)
    assert not OutboundPolicy.from_settings(Settings(outbound_allow="")).allow.entries


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    mixed = OutboundPolicy(resolver=lambda host, port: [ip_address("8.8.8.8"), ip_address("127.0.0.1")])
    with pytest.raises(OutboundRefused, match=r"evil\.example:443 .*\(loopback\)"):
        mixed.check_host_port("evil.example", 443)


def test_numeric_host_forms_are_judged_by_their_address() -> None:
    """``127.1`` and ``2130706433`` are names to the URL parser but loopback to the resolver."""
    for host in ("localhost", "127.1", "2130706433"):
        with pytest.raises(OutboundRefused, match=r"\(loopback\)"):
            OutboundPolicy().check_url(f"https://{host}:5432/")


def test_a_name_that_does_not_resolve_is_unavailable() -> None:
    def nowhere(host: str, port: int) -> list[Any]:
        raise socket.gaierror("no such name")

    with pytest.raises(SourceUnavailable, match="does not resolve"):
        OutboundPolicy(resolver=nowhere).check_host_port("nowhere.example", 443)


@pytest.mark.parametrize(
    ("url", "error", "text"),
    [
        ("file:///etc/passwd", OutboundRefused, "scheme 'file'"),
        ("ftp://files.example.com/x", OutboundRefused, "scheme 'ftp'"),
        ("gopher://127.0.0.1:6379/_INFO", OutboundRefused, "scheme 'gopher'"),
        ("//no-scheme.example", OutboundRefused, "scheme (none)"),
        ("https://user:pw@host.example", SourceConfigError, "user name or password"),
        ("https://host.example:99999", SourceConfigError, "port"),
        ("https://host.example:0", SourceConfigError, "port"),
        ("https://bad host.example", SourceConfigError, "not a valid host"),
        ("https://", SourceConfigError, "no host"),
    ],
)
def test_parse_url_refuses(url: str, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=re.escape(text)):
        parse_url(url)


def test_parse_url_normalises() -> None:
    assert parse_url("https://ACME.my.salesforce.com./x?y").origin == "https://acme.my.salesforce.com"
    assert parse_url("http://[::1]:8443/").origin == "http://[::1]:8443"
    assert parse_url("https://bücher.example").host == "xn--bcher-kva.example"
    destination = parse_url("https://host.example")
    assert (destination.port, str(destination)) == (443, "host.example:443")


SALESFORCE_DOMAINS = DomainFamily("Salesforce", ("salesforce.com", "force.com"))


@pytest.mark.parametrize(
    ("login", "instance", "allowed"),
    [
        ("https://login.salesforce.com", "https://na1.salesforce.com/services/Soap/u/60.0/00D", True),
        ("https://test.salesforce.com", "https://acme--dev.sandbox.my.salesforce.com", True),
        ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com", True),
        ("https://login.salesforce.com", "https://eu5.force.com", True),
        ("https://login.salesforce.com", "https://evil.example.com", False),
        ("https://login.salesforce.com", "https://salesforce.com.evil.example", False),
        ("https://login.salesforce.com", "https://evilsalesforce.com", False),
        ("https://login.salesforce.com", "https://169.254.169.254", False),
        ("https://login.salesforce.com", "http://na1.salesforce.com", False),  # no downgrade
        ("https://login.salesforce.com", "file:///etc/passwd", False),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443/services/Soap/u/60.0/00D", True),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8444", False),  # a custom host names only itself
        ("https://127.0.0.1:8443", "https://na1.salesforce.com", False),
        ("https://sf-proxy.corp", "https://sf-proxy.corp:443/x", True),
    ],
)
def test_handoff_rule(login: str, instance: str, allowed: bool) -> None:
    """Salesforce's own family (``SALESFORCE_DOMAINS``) is the connector's; this one is a stand-in."""
    policy = OutboundPolicy()
    if allowed:
        assert policy.check_handoff(login, instance, SALESFORCE_DOMAINS) == parse_url(instance).origin
    else:
        with pytest.raises(OutboundRefused) as caught:
            policy.check_handoff(login, instance, SALESFORCE_DOMAINS)
        assert parse_url(login).host in caught.value.message
        named = urlsplit(instance).netloc
        assert not named or named not in caught.value.message  # remote text is not shown


def test_handoff_to_http_needs_allow_http_even_on_the_same_host() -> None:
    family = DomainFamily("Example", ("example.com",))
    with pytest.raises(OutboundRefused, match="Plain http"):
        OutboundPolicy().check_handoff("http://127.0.0.1:80", "http://127.0.0.1:80/x", family)
    assert OutboundPolicy(allow_http=True).check_handoff(
        "http://a.example.com", "http://b.example.com", family
    )


def test_remote_code() -> None:
    assert remote_code("sf:INVALID_LOGIN") == "INVALID_LOGIN"
    assert remote_code("invalid_grant") == "invalid_grant"
    assert remote_code("<html>nothing here</html>") == ""
    assert remote_code("INVALID LOGIN: user hunter2") == ""
    assert remote_code("HunterSecret42", secrets=["HunterSecret42"]) == ""
    assert remote_code(None) == ""


# --- the httpx transport and open_tcp, against real listeners ----------------------------------------


def _client(policy: OutboundPolicy, **options: Any) -> httpx.Client:
    return httpx.Client(transport=policy.httpx_transport(), trust_env=False, timeout=30, **options)


def _ok(request: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, b"hello"


def test_transport_refuses_loopback_the_same_whether_or_not_it_listens() -> None:
    policy = OutboundPolicy(allow_http=True)
    closed = closed_port()
    with TcpListener() as listening, _client(policy) as client:
        reasons = []
        for port in (listening.port, closed):
            with pytest.raises(OutboundRefused) as caught:
                client.get(f"http://127.0.0.1:{port}/")
            reasons.append(caught.value.message.replace(str(port), "PORT"))
        assert listening.connections == 0  # refused before connecting: nothing to tell apart
    assert reasons[0] == reasons[1]
    assert "127.0.0.1:PORT is not allowed by the outbound policy (loopback)" in reasons[0]


def test_transport_lets_an_allowed_listener_through() -> None:
    with ScriptedServer(_ok) as server:
        policy = OutboundPolicy(AllowList.parse(f"127.0.0.1:{server.port}"), allow_http=True)
        with _client(policy) as client:
            assert client.get(server.url + "/ping").text == "hello"
    assert [r.path for r in server.received] == ["/ping"]


def test_transport_refuses_plain_http_unless_allowed() -> None:
    with ScriptedServer(_ok) as server:
        policy = OutboundPolicy(AllowList.parse(f"127.0.0.1:{server.port}"))
        with _client(policy) as client, pytest.raises(OutboundRefused, match="Plain http"):
            client.get(server.url)
    assert server.received == []


def test_transport_checks_every_redirect_hop() -> None:
    with TcpListener() as internal:

        def redirect(request: Any) -> tuple[int, dict[str, str], bytes]:
            return 302, {"Location": f"http://127.0.0.1:{internal.port}/admin"}, b""

        with ScriptedServer(redirect) as public:
            policy = OutboundPolicy(AllowList.parse(f"127.0.0.1:{public.port}"), allow_http=True)
            with _client(policy, follow_redirects=True) as client, pytest.raises(OutboundRefused) as caught:
                client.get(public.url + "/start")
        assert internal.connections == 0
    assert f"127.0.0.1:{internal.port} is not allowed" in caught.value.message
    assert [r.path for r in public.received] == ["/start"]


def test_transport_refuses_a_name_that_resolves_to_loopback() -> None:
    with TcpListener() as listening, _client(OutboundPolicy(allow_http=True)) as client:
        with pytest.raises(OutboundRefused, match=rf"localhost:{listening.port} .*\(loopback\)"):
            client.get(f"http://localhost:{listening.port}/")
        assert listening.connections == 0


def test_transport_resolves_once_and_connects_to_the_checked_address() -> None:
    """DNS rebinding: the second answer of the name would be the metadata endpoint. The connection is
    made to the address that was checked, never by resolving the name again."""
    answers = [ip_address("127.0.0.1"), ip_address("169.254.169.254")]
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[Any]:
        asked.append(host)
        return [answers[min(len(asked), 2) - 1]]

    with ScriptedServer(_ok) as server:
        allow = AllowList.parse(f"127.0.0.1:{server.port}")
        policy = OutboundPolicy(allow, allow_http=True, resolver=rebinding)
        url = f"http://rebind.example:{server.port}/"
        with _client(policy) as client:
            assert client.get(url).text == "hello"
        assert asked == ["rebind.example"]  # one resolution for the connection
        assert server.received[0].headers["Host"] == f"rebind.example:{server.port}"
        with _client(policy) as client, pytest.raises(OutboundRefused, match=r"\(cloud metadata\)"):
            client.get(url)  # a new connection: resolved (and checked) again
    assert len(server.received) == 1


def test_transport_refuses_other_schemes() -> None:
    with _client(OutboundPolicy(allow_http=True)) as client:
        for url in ("ftp://127.0.0.1/", "gopher://127.0.0.1:6379/"):
            with pytest.raises(OutboundRefused, match="scheme"):
                client.get(url)


def test_open_tcp_connects_to_an_allowed_address_and_refuses_others() -> None:
    with TcpListener() as listening:
        with pytest.raises(OutboundRefused, match=r"\(loopback\)"):
            OutboundPolicy().open_tcp("127.0.0.1", listening.port, timeout=10)
        assert listening.connections == 0
        policy = OutboundPolicy(AllowList.parse(f"127.0.0.1:{listening.port}"))
        with policy.open_tcp("localhost", listening.port, timeout=10) as sock:
            assert sock.getpeername()[1] == listening.port
    with pytest.raises(SourceUnavailable, match="unreachable"):
        OutboundPolicy(AllowList.parse("127.0.0.1")).open_tcp("127.0.0.1", closed_port(), timeout=10)
