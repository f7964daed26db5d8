"""The outbound trust boundary: which destinations a connector may open a connection to.

Every connector reaches hosts that a *user* names (a connection's ``environmentUrl``, a database host, a
bucket endpoint) or that a remote *answer* names (a login's instance URL, a redirect). Without a
boundary the service becomes a proxy into its own network: a port scanner, a way to send stored
credentials anywhere, a reader of cloud metadata. The policy, in order:

1. **Schemes.** URLs must be ``https``; plain ``http`` only with ``HEADWATER_OUTBOUND_ALLOW_HTTP=true``
   (local development). Any other scheme (``file:``, ``ftp:``, ...) is never a destination.
2. **Addresses.** A host name is resolved **once**, every address it resolves to is checked, and the
   connection is made to a checked address (never by resolving the name again: DNS rebinding cannot
   swap the address between the check and the connect). Public addresses pass. Loopback, private,
   link-local, multicast, unspecified, reserved and other non-public addresses, and cloud metadata
   endpoints, are refused unless ``HEADWATER_OUTBOUND_ALLOW`` lists them. IPv6 addresses that embed
   an IPv4 address (mapped, 6to4, NAT64, Teredo) are judged by the embedded address too.
3. **The allow list** (``HEADWATER_OUTBOUND_ALLOW``, comma-separated): ``host`` (a name or an address,
   any port), ``host:port`` (``[v6]:port`` for IPv6) and CIDR ranges (``10.20.0.0/16``). A name entry
   matches the host as written in the URL (and trusts what it resolves to); an address or range entry
   matches the resolved address. A cloud metadata address is opened only by naming it exactly, never
   by a range that happens to contain it.
4. **Hand-offs.** When an answer names the host for later requests (a login's instance URL), the new
   origin must keep the scheme (no ``https`` -> ``http``) and stay in the login host's domain family:
   a login at a host of the family (Salesforce: ``*.salesforce.com``, ``*.force.com``, ...) may name
   any host of that family; a login at any other (allowed) host may only name itself (same host and
   port). The new origin then passes rules 1-3 like any destination.

A refused destination is refused *before* any connection is attempted, so the answer is the same
whether or not something listens there, and no credential ever leaves for it. The reason is uniform:
"The destination 127.0.0.1:5432 is not allowed by the outbound policy (loopback); allow it with
HEADWATER_OUTBOUND_ALLOW."

How connectors use it (one ``OutboundPolicy`` per connector, from the settings):

* HTTP(S) connectors (Salesforce, the REST engine, S3 over httpx): ``httpx.Client(transport=
  policy.httpx_transport(ssl_context))``. The transport checks the scheme of every request (redirect
  hops included) and its network backend checks every new connection's resolved address.
* Other protocols (databases, SFTP): ``policy.check_host_port(host, port)`` returns the checked
  addresses; connect to one of them (libpq ``hostaddr=``, a socket handed to the SSH client), or call
  ``policy.open_tcp(host, port, timeout)`` for a connected socket.
* ``policy.check_url(url)`` checks a URL completely (scheme, syntax, resolved addresses);
  :func:`parse_url` checks its syntax only (the API's write-time check of a connection).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from headwater.core.errors import ConfigurationError, SourceConfigError, SourceUnavailable
from headwater.core.settings import Settings

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Sequence[Address]]
"""``(host, port) -> addresses``; raises ``OSError`` when the name does not resolve. A seam for tests."""

ALLOW_SETTING = "HEADWATER_OUTBOUND_ALLOW"
ALLOW_HTTP_SETTING = "HEADWATER_OUTBOUND_ALLOW_HTTP"
DEFAULT_PORTS = {"https": 443, "http": 80}
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own defaults

CLOUD_METADATA: frozenset[Address] = frozenset(
    ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack instance metadata
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure WireServer (a public address: only this list refuses it)
        "192.0.0.192",  # Oracle Cloud legacy metadata
    )
)

_NAT64 = ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


class OutboundRefused(SourceConfigError):
    """The outbound policy does not allow this destination (terminal: fix the connection or the policy)."""


# --- destinations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """A checked ``scheme://host:port``; ``addresses`` are filled in once the name is resolved and checked."""

    scheme: str
    host: str  # lower case, no brackets, no trailing dot
    port: int
    explicit_port: bool = True
    addresses: tuple[Address, ...] = field(default=(), compare=False)

    @property
    def authority(self) -> str:
        """``host:port`` as people write it (``[::1]:8443`` for IPv6)."""
        return f"{_bracketed(self.host)}:{self.port}"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` (the port only when the URL gave one)."""
        port = f":{self.port}" if self.explicit_port else ""
        return f"{self.scheme}://{_bracketed(self.host)}{port}"

    def __str__(self) -> str:
        return self.authority


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def normalise_host(host: str) -> str:
    """Lower case, without IPv6 brackets and a trailing dot; raises ``SourceConfigError`` when it is
    neither an IP address nor a valid host name."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.rstrip(".")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise SourceConfigError("The host name is not a valid host name or IP address.") from None
    if _literal(text) is not None or _HOST_NAME.match(text):
        return text
    raise SourceConfigError("The host name is not a valid host name or IP address.")


def _literal(host: str) -> Address | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def parse_url(url: str) -> Destination:
    """The syntax of an outbound URL, no network: ``http``/``https`` only, a valid host, a port in range,
    no user name or password in it. Raises ``OutboundRefused`` for another scheme, ``SourceConfigError``
    for a malformed URL. Whether plain ``http`` is allowed is checked where the request is made."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SourceConfigError("The URL is not valid: its host or port cannot be read.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"'{scheme}'" if scheme else "(none)"
        raise OutboundRefused(
            f"The URL scheme {shown} is not allowed by the outbound policy: only https URLs "
            f"(http too with {ALLOW_HTTP_SETTING}=true)."
        )
    if parts.username is not None or parts.password is not None:
        raise SourceConfigError("The URL must not carry a user name or password; use the auth fields.")
    if not parts.hostname:
        raise SourceConfigError("The URL has no host.")
    if port == 0:
        raise SourceConfigError("The URL's port must be between 1 and 65535.")
    host = normalise_host(parts.hostname)
    return Destination(scheme, host, port or DEFAULT_PORTS[scheme], explicit_port=port is not None)


_CODE = re.compile(r"^(?:[A-Za-z][\w.-]{0,30}:)?([A-Za-z][A-Za-z0-9_]{0,63})$")


def remote_code(value: object, *, secrets: Iterable[str] = ()) -> str:
    """An error code from a remote answer, fit to show a person: an identifier such as ``INVALID_LOGIN``
    (a ``sf:`` prefix dropped) or ``invalid_grant``, else ``""``. Remote *texts* are never shown (a
    remote service may echo what it was sent); a code that contains one of ``secrets`` is not either."""
    match = _CODE.match(str(value or "").strip())
    if match is None:
        return ""
    code = match.group(1)
    return "" if any(secret and len(secret) >= 4 and secret in code for secret in secrets) else code


# --- the allow list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowEntry:
    """One entry of ``HEADWATER_OUTBOUND_ALLOW``: a host name, or an address range, optionally with a port."""

    name: str | None = None
    network: Network | None = None
    port: int | None = None

    def allows(self, host: str, port: int, address: Address) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return self.name == host
        assert self.network is not None
        if address.version != self.network.version or address not in self.network:
            return False
        exact = self.network.prefixlen == self.network.max_prefixlen
        return exact or address not in CLOUD_METADATA  # ranges never open metadata endpoints


@dataclass(frozen=True)
class AllowList:
    entries: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """``"sf-proxy.corp:8443, 10.20.0.0/16, [::1]:9000, 127.0.0.1"``; raises ``ConfigurationError``."""
        entries = [_parse_entry(part.strip()) for part in (text or "").split(",") if part.strip()]
        return cls(tuple(entries))

    def allows(self, host: str, port: int, address: Address) -> bool:
        return any(entry.allows(host, port, address) for entry in self.entries)


def _parse_entry(text: str) -> AllowEntry:
    def bad(why: str) -> ConfigurationError:
        return ConfigurationError(
            f"{ALLOW_SETTING}: the entry '{text}' is not a host, host:port or CIDR range ({why})."
        )

    if "/" in text:
        try:
            return AllowEntry(network=ip_network(text, strict=False))
        except ValueError:
            raise bad("invalid range") from None
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise bad("expected [address]:port")
            port = _port(rest[1:], bad)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, bad)
    try:
        host = normalise_host(host)
    except SourceConfigError:
        raise bad("invalid host") from None
    literal = _literal(host)
    if literal is not None:
        return AllowEntry(network=ip_network(literal), port=port)
    return AllowEntry(name=host, port=port)


def _port(text: str, bad: Callable[[str], ConfigurationError]) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise bad("invalid port")
    return int(text)


# --- addresses --------------------------------------------------------------------------------------


def refusal_reason(address: Address) -> str | None:
    """Why the policy refuses ``address`` by default (``"loopback"``, ...), or ``None`` for a public one."""
    if address in CLOUD_METADATA:
        return "cloud metadata"
    embedded = _embedded_ipv4(address)
    if embedded is not None and (reason := refusal_reason(embedded)) is not None:
        return reason
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not public"
    return None


def _embedded_ipv4(address: Address) -> IPv4Address | None:
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def system_resolver(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    found: list[Address] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ip_address(str(sockaddr[0]))
        if address not in found:
            found.append(address)
    return found


# --- the policy -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainFamily:
    """The domains a source's logins may hand over to (``Salesforce``: ``salesforce.com``, ...)."""

    name: str
    suffixes: tuple[str, ...]

    def contains(self, host: str) -> bool:
        return _literal(host) is None and any(host == s or host.endswith("." + s) for s in self.suffixes)


class OutboundPolicy:
    """Checks destinations against the rules in this module's docstring. Immutable; share it freely."""

    def __init__(
        self, allow: AllowList | None = None, *, allow_http: bool = False, resolver: Resolver | None = None
    ) -> None:
        self.allow = allow or AllowList()
        self.allow_http = allow_http
        self.resolver: Resolver = resolver or system_resolver

    @classmethod
    def from_settings(cls, settings: Settings, *, resolver: Resolver | None = None) -> OutboundPolicy:
        """The policy of ``HEADWATER_OUTBOUND_ALLOW`` and ``HEADWATER_OUTBOUND_ALLOW_HTTP``."""
        return cls(
            _allow_list(settings.outbound_allow), allow_http=settings.outbound_allow_http, resolver=resolver
        )

    # --- checks
    def check_scheme(self, destination: Destination) -> None:
        if destination.scheme == "http" and not self.allow_http:
            raise OutboundRefused(
                f"Plain http to {destination} is not allowed by the outbound policy; use https "
                f"(or set {ALLOW_HTTP_SETTING}=true for local development)."
            )

    def check_address(self, host: str, port: int, address: Address) -> None:
        """Raise ``OutboundRefused`` unless connecting to ``address`` for ``host:port`` is allowed."""
        reason = refusal_reason(address)
        if reason is None or self.allow.allows(host, port, address):
            return
        raise OutboundRefused(
            f"The destination {_bracketed(host)}:{port} is not allowed by the outbound policy ({reason}); "
            f"allow it with {ALLOW_SETTING}."
        )

    def check_host_port(self, host: str, port: int) -> tuple[Address, ...]:
        """Resolve ``host`` once and check every address; the addresses to connect to (all allowed).

        Raises ``OutboundRefused`` when any address is refused (a name that answers with an internal
        address among public ones is refused), ``SourceUnavailable`` when the name does not resolve.
        """
        host = normalise_host(host)
        addresses = self.resolve(host, port)
        for address in addresses:
            self.check_address(host, port, address)
        return addresses

    def resolve(self, host: str, port: int) -> tuple[Address, ...]:
        literal = _literal(host)
        if literal is not None:
            return (literal,)
        try:
            addresses = tuple(self.resolver(host, port))
        except OSError:
            addresses = ()
        if not addresses:
            raise SourceUnavailable(f"Cannot reach {_bracketed(host)}:{port}: the name does not resolve.")
        return addresses

    def check_url(self, url: str) -> Destination:
        """Scheme, syntax and resolved addresses of ``url``; the checked destination with its addresses."""
        destination = parse_url(url)
        self.check_scheme(destination)
        addresses = self.check_host_port(destination.host, destination.port)
        return Destination(
            destination.scheme, destination.host, destination.port, destination.explicit_port, addresses
        )

    def check_handoff(self, origin_url: str, target_url: str, family: DomainFamily) -> str:
        """The origin (``scheme://host[:port]``) that an answer from ``origin_url`` hands later requests
        to, checked by rule 4 (same scheme or an upgrade; the family's domains, or the same host).
        The target comes from a remote answer, so it never appears in the message."""
        origin = parse_url(origin_url)
        try:
            target = parse_url(target_url)
        except SourceConfigError:
            raise OutboundRefused(
                f"The answer from {origin} names a URL for later requests that is not an http(s) URL; "
                "the outbound policy refuses it."
            ) from None
        if origin.scheme == "https" and target.scheme != "https":
            raise OutboundRefused(
                f"The answer from {origin} hands later requests to plain http; the outbound policy refuses it."
            )
        if family.contains(origin.host):
            if not family.contains(target.host):
                raise OutboundRefused(
                    f"The answer from {origin} hands later requests to a host outside {family.name}'s "
                    "domains; the outbound policy refuses it."
                )
        elif (target.host, target.port) != (origin.host, origin.port):
            raise OutboundRefused(
                f"The answer from {origin} hands later requests to another host; a login at a host outside "
                f"{family.name}'s domains may only name itself (the outbound policy)."
            )
        self.check_scheme(target)
        return target.origin

    # --- connecting
    def open_tcp(self, host: str, port: int, timeout: float | None = None) -> socket.socket:
        """A TCP connection to a checked address of ``host:port`` (for connectors that are not HTTP)."""
        error: OSError | None = None
        for address in self.check_host_port(host, port):
            try:
                return socket.create_connection((str(address), port), timeout=timeout)
            except OSError as exc:
                error = exc
        raise SourceUnavailable(
            f"Cannot reach {_bracketed(normalise_host(host))}:{port}: the host is unreachable or refused "
            "the connection."
        ) from error

    def httpx_transport(
        self, ssl_context: ssl.SSLContext | None = None, *, limits: httpx.Limits = DEFAULT_LIMITS
    ) -> httpx.HTTPTransport:
        """An httpx transport that checks every request's scheme and every connection's address."""
        return PolicyTransport(self, ssl_context or ssl.create_default_context(), limits=limits)


@lru_cache(maxsize=16)
def _allow_list(text: str) -> AllowList:
    return AllowList.parse(text)


# --- httpx ------------------------------------------------------------------------------------------


class _PolicyNetworkBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the address check: resolve once, check, connect to that address.

    TLS still verifies the certificate against the host *name* (httpcore passes the URL's host as the
    server name), so connecting by address loses nothing."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.policy.check_host_port(host, port)
        except SourceUnavailable as exc:  # keep httpx's own error for a name that does not resolve
            raise httpcore.ConnectError(exc.message) from exc
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise OutboundRefused("Unix sockets are not allowed by the outbound policy.")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class PolicyTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose every request and connection passes the outbound policy.

    httpx has no public parameter for httpcore's network backend, so the connection pool is rebuilt
    here with the policy's backend (``tests/connectors/test_outbound.py`` proves the checks happen)."""

    def __init__(
        self, policy: OutboundPolicy, ssl_context: ssl.SSLContext, *, limits: httpx.Limits = DEFAULT_LIMITS
    ) -> None:
        super().__init__(verify=ssl_context, limits=limits)
        self.policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PolicyNetworkBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        if scheme not in DEFAULT_PORTS:
            raise OutboundRefused(f"The URL scheme '{scheme}' is not allowed by the outbound policy.")
        port = request.url.port or DEFAULT_PORTS[scheme]
        self.policy.check_scheme(Destination(scheme, normalise_host(request.url.host), port))
        return super().handle_request(request)


__all__ = [
    "ALLOW_HTTP_SETTING",
    "ALLOW_SETTING",
    "CLOUD_METADATA",
    "Address",
    "AllowEntry",
    "AllowList",
    "Destination",
    "DomainFamily",
    "OutboundPolicy",
    "OutboundRefused",
    "PolicyTransport",
    "Resolver",
    "normalise_host",
    "parse_url",
    "refusal_reason",
    "remote_code",
    "system_resolver",
]
