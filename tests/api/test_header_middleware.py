"""The header checks as middleware: what runs before routing, and the route-facing accessors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from api_support import BASE, Caller, assert_flow_error, make_settings
from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.testclient import TestClient

from headwater.api.app import create_app
from headwater.api.auth import caller as caller_of
from headwater.api.auth import check_request
from headwater.core.scope import Scope


def test_failing_headers_on_an_unknown_route_or_method_still_answer_404_405(caller: Caller) -> None:
    # As with a per-route dependency: routing decides first when no route takes the request.
    assert_flow_error(caller.get("/nothing-here", headers={"Authorization": None}), "1101-404")
    assert_flow_error(caller.request("PUT", "/connections", headers={"x-api-key": None}), "1100-405")
    # ... and a route that exists answers the header error, before any parameter or body checks.
    response = caller.post("/connections", content=b"{not json", headers={"Authorization": None})
    assert response.status_code == 403 and response.json()["error_code"] == "403010"


def test_paths_outside_the_flow_service_need_no_headers(caller: Caller) -> None:
    assert caller.http.get("/health").json() == {"status": "ok"}
    assert caller.http.get("/openapi.json").status_code == 200


def test_routes_read_the_checked_scope_by_accessor_or_dependency(
    backend: tuple[str, Engine], caller: Caller, tmp_path: Path, secret_key: str
) -> None:
    app = create_app(make_settings(tmp_path, secret_key), engine=backend[1])

    @app.get(f"{BASE}/probe/accessor")
    async def by_accessor(request: Request) -> dict[str, Any]:
        return vars(caller_of(request))

    @app.get(f"{BASE}/probe/dependency")
    async def by_dependency(scope: Annotated[Scope, Depends(check_request)]) -> dict[str, Any]:
        return vars(scope)

    @app.get("/probe/outside")
    async def outside(request: Request) -> dict[str, Any]:
        return vars(caller_of(request))

    expected = {"org_id": caller.org_id, "sandbox_name": "dev", "client_id": caller.client_id}
    with TestClient(app, raise_server_exceptions=False) as http:
        headers = caller.in_sandbox("dev").headers()
        assert http.get(f"{BASE}/probe/accessor", headers=headers).json() == expected
        assert http.get(f"{BASE}/probe/dependency", headers=headers).json() == expected
        denied = http.get(f"{BASE}/probe/accessor", headers={**headers, "x-sandbox-name": "nosuch"})
        assert_flow_error(denied, "2100-404")
        # a route outside the checked prefix has no scope: a clear server error, never a default scope
        assert_flow_error(http.get("/probe/outside", headers=headers), "1400-500")
