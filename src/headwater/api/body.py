"""Request bodies parsed by us (after the header checks), so a bad body never beats a missing token."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from headwater.core.errors import Invalid

Model = TypeVar("Model", bound=BaseModel)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid(
            "body.empty",
            "The request body cannot be null or empty. Please provide a request body and try again.",
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(
            "body.malformed", f"The request body is not valid JSON: {exc.msg} at position {exc.pos}."
        ) from None


async def model_body(request: Request, model: type[Model]) -> Model:
    data = await json_body(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False):
            where = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{where}: {err['msg']}")
        raise Invalid(
            "body.malformed", "Invalid request body: " + "; ".join(problems), field=problems[0].split(":")[0]
        ) from None


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON body we parse ourselves."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    }
