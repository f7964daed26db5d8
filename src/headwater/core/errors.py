"""The whole Headwater exception tree, written out once.

Two axes:

* **Recovery class** — what a caller (the worker, a retry loop) may do: ``TerminalError`` (give up),
  ``TransientError`` (retry later, maybe with back-off), ``SkippableError`` (drop this item, go on).
  Code branches on these classes only, never on messages.
* **Domain errors** — a request cannot be done as asked: ``Invalid`` (the input is wrong), ``NotFound``,
  ``Conflict`` (the resource's state or its users forbid it), ``PreconditionFailed`` (a stale version).
  Each carries a stable ``reason`` (a dotted name such as ``flow.schedule.start_time_passed``), a message
  for people, and ``details`` (field, id, type). The layers that raise them know nothing of HTTP: the
  API's one table (``headwater.api.error_codes``) turns a reason into Adobe's catalogue code and status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HeadwaterError(Exception):
    """Root of every error Headwater raises on purpose."""

    def __init__(self, message: str = "", **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


# --- recovery classes -------------------------------------------------------------------------------


class TerminalError(HeadwaterError):
    """Retrying will not help: bad credentials, a missing object, invalid configuration."""


class TransientError(HeadwaterError):
    """Retrying later may succeed: timeouts, 5xx answers, dropped connections, rate limits."""

    def __init__(self, message: str = "", *, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class SkippableError(HeadwaterError):
    """This item cannot be processed, but the rest of the work can go on."""


class ConfigurationError(TerminalError):
    """Headwater itself is misconfigured (settings, key files, database URL)."""


class StoreBusy(TransientError):
    """The metadata store could not take the write now (lock timeout, serialization failure, deadlock)."""


# --- errors of outside systems (connectors) ---------------------------------------------------------


class SourceAuthError(TerminalError):
    """The source rejected the credentials (wrong user, password, token, client id or secret)."""


class SourceConfigError(TerminalError):
    """The connection settings cannot work: bad URL, TLS failure, unknown API version, unknown object."""


class SourceUnavailable(TransientError):
    """The source could not be reached or answered 5xx after retries; try the whole operation later."""


class SourceLimitReached(TransientError):
    """The source's API budget is spent (REQUEST_LIMIT_EXCEEDED or the configured share of it)."""


class UnsupportedBySource(SkippableError):
    """The source cannot serve this object or field by the chosen method (e.g. not via Bulk)."""


# --- domain errors ------------------------------------------------------------------------------------


class DomainError(TerminalError):
    """A request that cannot be done as asked. ``reason`` names the case for the API's code table;
    ``details`` go into the error report (``field``, ``id``, ``type``)."""

    #: Used when the API's table has no entry for ``reason`` (a test keeps the table complete).
    default_reason: ClassVar[str] = "invalid"

    def __init__(self, reason: str, message: str, /, **details: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.details = details


class Invalid(DomainError):
    """The request's body, parameters or headers are wrong."""

    default_reason = "invalid"


class NotFound(DomainError):
    """A resource does not exist in the caller's org and sandbox (existence never leaks across them)."""

    default_reason = "not_found"

    def __init__(self, kind: str, resource_id: str, *, reason: str = "not_found", message: str = "") -> None:
        message = message or (
            f"The requested {kind} resource {resource_id} is not found. Verify the resource ID before trying again."
        )
        super().__init__(reason, message, id=resource_id, type=kind)
        self.kind = kind
        self.resource_id = resource_id


class Conflict(DomainError):
    """The resource's state or its users forbid the change (in use, wrong state, already there)."""

    default_reason = "conflict"


class PreconditionFailed(DomainError):
    """The caller's version of the resource is not the current one (If-Match)."""

    default_reason = "etag.mismatch"


class SourceFailed(DomainError):
    """A test or explore call reached the source and it refused (credentials, configuration)."""

    default_reason = "source.refused"


class SourceObjectNotFound(NotFound):
    """An object or field the caller named does not exist in the source (checked against its catalogue)."""

    def __init__(self, kind: str, name: str, hint: str = "") -> None:
        message = f"The {kind} '{name}' is not found in the source account.{(' ' + hint) if hint else ''}"
        super().__init__(kind, name, reason="source.object_not_found", message=message)


__all__ = [
    "ConfigurationError",
    "Conflict",
    "DomainError",
    "HeadwaterError",
    "Invalid",
    "NotFound",
    "PreconditionFailed",
    "SkippableError",
    "SourceAuthError",
    "SourceConfigError",
    "SourceFailed",
    "SourceLimitReached",
    "SourceObjectNotFound",
    "SourceUnavailable",
    "StoreBusy",
    "TerminalError",
    "TransientError",
    "UnsupportedBySource",
]
