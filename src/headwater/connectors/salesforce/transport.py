"""The HTTPS client: TLS trust, the outbound policy, transport-error translation, the limit header.

TLS verification is always on: the system's trust store, plus the PEM file of
``HEADWATER_CA_BUNDLE`` when set (added, never replacing the system's). Every request and every
connection passes the outbound policy (``headwater.connectors.outbound``); redirects are not followed.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from headwater.connectors.outbound import OutboundPolicy
from headwater.core.errors import SourceConfigError, SourceUnavailable

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise SourceConfigError(f"The CA bundle {ca_bundle} cannot be read as PEM certificates.") from exc
    return context


def make_client(
    ca_bundle: Path | None, policy: OutboundPolicy, timeout: float = 30.0, read_timeout: float = 120.0
) -> httpx.Client:
    return httpx.Client(
        transport=policy.httpx_transport(ssl_context(ca_bundle)),
        follow_redirects=False,
        timeout=httpx.Timeout(timeout, read=read_timeout),
        headers={"Accept-Encoding": "gzip", "User-Agent": "headwater"},
        trust_env=False,
    )


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _caused_by_tls(exc: BaseException) -> bool:
    """True when an ``ssl.SSLError`` is in the chain of causes (httpx wraps httpcore wraps ssl)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translate_transport_error(exc: httpx.TransportError, url: str) -> Exception:
    """TLS failures are configuration errors; everything else means "cannot reach it now"."""
    if isinstance(exc, httpx.ConnectError) and _caused_by_tls(exc):
        return SourceConfigError(
            f"TLS verification failed for {_host(url)}: the server's certificate is not trusted "
            "(add its CA to HEADWATER_CA_BUNDLE if it is a private endpoint)."
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return SourceUnavailable(
            f"Cannot reach {_host(url)}: the host is unreachable or refused the connection."
        )
    return SourceUnavailable(f"The connection to {_host(url)} failed: {type(exc).__name__}.")


def send_once(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request without retries (logins: a wrong password must not be tried five times)."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.UnsupportedProtocol as exc:
        raise SourceConfigError(f"The URL {url} is not an http(s) URL.") from exc
    except httpx.TransportError as exc:
        raise translate_transport_error(exc, url) from exc


def api_usage(response: httpx.Response) -> tuple[int, int] | None:
    """``Sforce-Limit-Info: api-usage=10018/100000`` -> (used, limit)."""
    match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
    return (int(match.group(1)), int(match.group(2))) if match else None
