"""``SalesforceApi``: authenticated REST calls with the resilience rules of the connector.

* ``INVALID_SESSION_ID`` (401): log in again once, then repeat the call.
* 5xx, 420, 429 and dropped connections: exponential back-off with full jitter, ``max_retries`` times.
* ``REQUEST_LIMIT_EXCEEDED`` (403), or daily usage past ``budget_share`` while ``enforce_budget`` is on:
  ``SourceLimitReached`` -- the reader stops cleanly and keeps its cursor.
* Any other error answer becomes a core error carrying Salesforce's ``errorCode`` (never a secret,
  never the answer's text: a remote service may echo what it was sent).
* Every request goes through the client's outbound-policy transport; the instance URL a login names is
  checked by the policy's hand-off rule (``SALESFORCE_DOMAINS``) before the bearer token goes there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from headwater.connectors.outbound import OutboundPolicy, remote_code
from headwater.core.errors import (
    HeadwaterError,
    SkippableError,
    SourceAuthError,
    SourceConfigError,
    SourceLimitReached,
    SourceUnavailable,
    TransientError,
    UnsupportedBySource,
)

from .auth import SALESFORCE_DOMAINS, AuthStrategy, SalesforceSession
from .transport import api_usage, send_once, translate_transport_error

T = TypeVar("T")
RETRY_STATUS = frozenset({420, 429, 500, 502, 503, 504})


class QueryTimeout(TransientError):
    """``QUERY_TIMEOUT``: the query ran too long; a narrower time window may succeed."""


class SalesforceApiError(SkippableError):
    """An error answer for one query/object (INVALID_FIELD, MALFORMED_QUERY, ...)."""

    def __init__(self, message: str, *, status: int, error_code: str) -> None:
        super().__init__(message, status=status, error_code=error_code)
        self.status = status
        self.error_code = error_code


@dataclass
class Tuning:
    """Knobs of the connector (tests shrink the delays)."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    budget_share: float = 0.8
    poll_interval: float = 0.05
    poll_cap: float = 5.0
    bulk_page_records: int = 100_000
    key_page_records: int = 500_000  # an Id-only page is ~20 bytes a row: fewer, bigger pages save calls
    max_query_chars: int = 15_000
    lookback_seconds: int = 300
    describe_ttl: float = 300.0


def error_of(response: httpx.Response) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body (a JSON array, or an object). The code is kept
    only when it is an identifier (``remote_code``); the message is for classifying, never for showing."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        return remote_code(body.get("errorCode") or body.get("error")), str(body.get("message") or "")
    return "", ""


class SalesforceApi:
    def __init__(
        self,
        client: httpx.Client,
        auth: AuthStrategy,
        version: str | None,
        tuning: Tuning,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.client = client
        self.auth = auth
        self.policy = policy or OutboundPolicy()
        self.tuning = tuning
        self.requested_version = version
        self.version = version or ""
        self.session: SalesforceSession | None = None
        self.usage: tuple[int, int] | None = None
        self.enforce_budget = False
        self.calls = 0

    # --- session -------------------------------------------------------------------------------
    def connect(self) -> SalesforceSession:
        login_version = self.requested_version or self._newest_version(self.auth.login_url)
        answered = self.auth.login(self.client, login_version)
        instance = self.policy.check_handoff(self.auth.login_url, answered.instance_url, SALESFORCE_DOMAINS)
        self.session = SalesforceSession(instance, answered.access_token)
        if not self.requested_version:
            self.version = self._newest_version(self.session.instance_url)
        else:
            self._check_version_offered()
        return self.session

    def _newest_version(self, base: str) -> str:
        response = send_once(self.client, "GET", f"{base}/services/data/")
        try:
            versions = response.json()
            return str(max(versions, key=lambda v: float(v["version"]))["version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceConfigError(
                f"{base} did not list Salesforce API versions (HTTP {response.status_code}); "
                "check the environment URL."
            ) from exc

    def _check_version_offered(self) -> None:
        assert self.session is not None
        response = send_once(self.client, "GET", f"{self.session.instance_url}/services/data/")
        try:
            offered = {str(v["version"]) for v in response.json()}
        except (ValueError, KeyError, TypeError):
            return  # the listing is informational; calls will fail clearly if the version is wrong
        if offered and self.version not in offered:
            newest = max(offered, key=float)
            raise SourceConfigError(f"The org does not offer API version {self.version} (newest: {newest}).")

    @property
    def base(self) -> str:
        if self.session is None:
            self.connect()
        assert self.session is not None
        return f"{self.session.instance_url}/services/data/v{self.version}"

    def url(self, path: str) -> str:
        if path.startswith("/services/"):
            assert self.session is not None
            return self.session.instance_url + path
        return f"{self.base}/{path.lstrip('/')}"

    # --- calls ---------------------------------------------------------------------------------
    def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.call("GET", path, params=params).json()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        def once() -> httpx.Response:
            return self._request(method, path, stream=False, **kwargs)

        return self.with_retries(once)

    @contextmanager
    def stream(self, path: str, params: dict[str, str] | None = None) -> Iterator[httpx.Response]:
        """A streamed GET (Bulk result pages); the caller retries the whole page on failure."""
        response = self._request("GET", path, stream=True, params=params)
        try:
            yield response
        finally:
            response.close()

    def with_retries(self, operation: Callable[[], T]) -> T:
        """Run ``operation``; repeat it with back-off on transient failures (not on limits)."""
        attempt = 0
        while True:
            try:
                return operation()
            except SourceLimitReached:
                raise
            except (SourceUnavailable, _Retry) as exc:
                attempt += 1
                if attempt > self.tuning.max_retries:
                    if isinstance(exc, _Retry):
                        raise SourceUnavailable(exc.message) from exc
                    raise
                self.sleep_backoff(attempt, getattr(exc, "retry_after", None))

    def sleep_backoff(self, attempt: int, retry_after: float | None = None) -> None:
        ceiling = min(self.tuning.backoff_cap, self.tuning.backoff_base * 2 ** (attempt - 1))
        time.sleep(retry_after if retry_after else random.uniform(0, ceiling))

    def _request(self, method: str, path: str, *, stream: bool, **kwargs: Any) -> httpx.Response:
        relogged = False
        while True:
            self._guard_budget()
            if self.session is None:
                self.connect()
            assert self.session is not None
            url = self.url(path)
            headers = {"Authorization": f"Bearer {self.session.access_token}", **kwargs.pop("headers", {})}
            try:
                request = self.client.build_request(method, url, headers=headers, **kwargs)
                response = self.client.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise translate_transport_error(exc, url) from exc
            self.calls += 1
            self.usage = api_usage(response) or self.usage
            if response.status_code < 400:
                return response
            if stream:
                response.read()
                response.close()
            code, message = error_of(response)
            if response.status_code == 401 and code in ("INVALID_SESSION_ID", "") and not relogged:
                relogged = True
                self.session = None
                kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
                continue
            raise self._classify(response.status_code, code, message)

    def _guard_budget(self) -> None:
        if not self.enforce_budget or not self.usage:
            return
        used, limit = self.usage
        if limit and used >= limit * self.tuning.budget_share:
            raise SourceLimitReached(
                f"Stopped: the org's daily API usage is {used} of {limit} calls, past the configured "
                f"{self.tuning.budget_share:.0%} share; the next run resumes from the saved cursor."
            )

    @staticmethod
    def _classify(status: int, code: str, message: str) -> HeadwaterError:
        """The error of an answer; ``message`` (remote text) only steers the class, it is never shown."""
        text = f"Salesforce answered HTTP {status} {code}".strip() + "."
        if code == "REQUEST_LIMIT_EXCEEDED":
            return SourceLimitReached(
                "Stopped: Salesforce reports the API request limit is exceeded; "
                "the next run resumes from the saved cursor."
            )
        if code == "QUERY_TIMEOUT":
            return QueryTimeout(text)
        if status in RETRY_STATUS or status >= 500:
            return _Retry(text)
        if status == 401:
            return SourceAuthError("Salesforce no longer accepts the session and a new login failed.")
        if code in ("INVALIDENTITY", "FUNCTIONALITY_NOT_ENABLED") or "not supported" in message:
            return UnsupportedBySource(text)
        if status == 404:
            return SourceConfigError(text)
        return SalesforceApiError(text, status=status, error_code=code)


class _Retry(SourceUnavailable):
    """A retryable answer (5xx, 420, 429)."""
