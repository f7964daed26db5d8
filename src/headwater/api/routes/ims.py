"""``POST /ims/token/v3``: Adobe IMS's client_credentials exchange, self-hosted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from headwater.api.errors import GatewayError
from headwater.api.responses import JSONBody
from headwater.api.routes.common import app_state
from headwater.store import tenants

router = APIRouter(tags=["IMS"])


def _ims_error(status: int, error: str, description: str) -> JSONBody:
    return JSONBody({"error": error, "error_description": description}, status_code=status)


@router.post("/ims/token/v3", summary="Exchange client credentials for an access token")
def issue_token(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> JSONBody:
    if grant_type != "client_credentials":
        return _ims_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    if not client_id or not client_secret:
        return _ims_error(400, "invalid_request", "client_id and client_secret are required")
    state = app_state(request)
    with state.sessions() as session:
        client = tenants.authenticate_client(session, client_id, client_secret)
    if client is None:
        return _ims_error(401, "invalid_client", "invalid client_id or client_secret")
    token = state.tokens.issue(client.org_id, client.client_id)
    return JSONBody({"access_token": token, "token_type": "bearer", "expires_in": state.tokens.ttl_seconds})


__all__ = ["GatewayError", "router"]
