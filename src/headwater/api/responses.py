"""The JSON response class of the API (orjson; FastAPI's own ORJSONResponse is deprecated)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from headwater.core import jsonutil


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)
