"""The whole Headwater exception tree, written out once.

Two axes:

* **Recovery class** — what a caller (the worker, a retry loop) may do: ``TerminalError`` (give up),
  ``TransientError`` (retry later, maybe with back-off), ``SkippableError`` (drop this item, go on).
  Code branches on these classes only, never on messages.
* **API errors** — errors that the HTTP layer renders. ``FlowError`` carries an Adobe catalogue code
  (``"1403-400"``) and becomes the FLOW error envelope; ``GatewayError`` becomes the Adobe I/O gateway's
  ``{"error_code", "message"}`` body. Rendering happens in exactly one place (``headwater.api.errors``).
"""

from __future__ import annotations

from typing import Any


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


# --- errors rendered by the API ----------------------------------------------------------------------

FLOW_TYPE_PREFIX = "https://ns.adobe.com/aep/errors/FLOW-"


class FlowError(TerminalError):
    """An error with a Flow Service catalogue code, rendered as the FLOW error envelope.

    ``code`` is ``NNNN-SSS`` where ``SSS`` is the HTTP status, exactly as in Adobe's catalogue.
    ``report`` holds extra keys for the ``report`` object (for not-found: ``id`` and ``type``).
    """

    def __init__(self, code: str, title: str, message: str, **report: Any) -> None:
        super().__init__(message)
        self.code = code
        self.title = title
        self.report = report

    @property
    def status(self) -> int:
        return int(self.code.rsplit("-", 1)[1])


class NotFoundError(FlowError):
    """A resource does not exist in the caller's org and sandbox (existence never leaks across them)."""

    def __init__(self, resource_type: str, resource_id: str) -> None:
        message = (
            f"The requested {resource_type} resource {resource_id} is not found. "
            "Verify the resource ID before trying again."
        )
        super().__init__("1439-404", "Resource not found", message, id=resource_id, type=resource_type)


class SourceObjectNotFound(FlowError):
    """An object or field the caller named does not exist in the source (checked against its catalogue)."""

    def __init__(self, kind: str, name: str, hint: str = "") -> None:
        message = f"The {kind} '{name}' is not found in the source account.{(' ' + hint) if hint else ''}"
        super().__init__("1003-404", "Resource not found", message, type=kind, id=name)


class ValidationFailed(FlowError):
    """A request body, header or query parameter is invalid (default code ``1000-400``)."""

    def __init__(
        self, message: str, code: str = "1000-400", title: str = "Bad request", **report: Any
    ) -> None:
        super().__init__(code, title, message, **report)


class GatewayError(HeadwaterError):
    """An error of the gateway layer (auth headers, tokens), rendered as ``{"error_code", "message"}``."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class ContentTypeError(HeadwaterError):
    """A body-carrying request without ``Content-Type: application/json`` (Adobe's BadRequestError body)."""

    status = 400
    message = "A valid content-type must be specified"

    def __init__(self) -> None:
        super().__init__(self.message)


__all__ = [
    "FLOW_TYPE_PREFIX",
    "ConfigurationError",
    "ContentTypeError",
    "FlowError",
    "GatewayError",
    "HeadwaterError",
    "NotFoundError",
    "SkippableError",
    "SourceAuthError",
    "SourceConfigError",
    "SourceLimitReached",
    "SourceObjectNotFound",
    "SourceUnavailable",
    "TerminalError",
    "TransientError",
    "UnsupportedBySource",
    "ValidationFailed",
]
