"""Salesforce's wire formats: error bodies (JSON arrays) and value encodings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

from headwater.core.errors import HeadwaterError


class SalesforceWireError(HeadwaterError):
    """An answer Salesforce gives as ``[{"message": ..., "errorCode": ...}]`` with an HTTP status."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response([{"message": self.message, "errorCode": self.error_code}], self.status, headers)


def not_found(message: str = "The requested resource does not exist") -> SalesforceWireError:
    return SalesforceWireError(404, "NOT_FOUND", message)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json;charset=UTF-8")


def rest_datetime(value: datetime) -> str:
    """REST's datetime form: milliseconds and ``+0000`` (no colon)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def rest_value(field_type: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return rest_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if field_type == "int" and isinstance(value, float):
        return int(value)
    return value


def parse_iso_datetime(text: str) -> datetime:
    """Parse the ISO-8601 forms clients send for start/end parameters into naive UTC."""
    from datetime import UTC

    cleaned = text.strip().replace(" ", "+").replace("Z", "+00:00")
    if len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-3] != ":":
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    parsed = datetime.fromisoformat(cleaned)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
