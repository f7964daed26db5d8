"""The "Demo Salesforce" account: a base connection to the demo emulator, created once."""

from __future__ import annotations

from headwater.api.state import AppState
from headwater.connections.base import AuthIn, CreateConnection, SpecRef
from headwater.core.scope import Scope
from headwater.demo.emulator import DemoEmulator
from headwater.specs import SALESFORCE_SPEC_ID

DEMO_ACCOUNT_NAME = "Demo Salesforce"


def ensure_demo_account(state: AppState, scope: Scope, emulator: DemoEmulator) -> tuple[str, bool]:
    """(connection id, created). An existing account is pointed at the emulator's current URL."""
    connections = state.connections()
    with state.sessions() as session, session.begin():
        row = connections.find_by_name(session, scope, DEMO_ACCOUNT_NAME)
        if row is not None:
            url = (row.auth_params or {}).get("environmentUrl")
            if url != emulator.url:  # the emulator fell back to another port this time
                ops = [{"op": "replace", "path": "/auth/params/environmentUrl", "value": emulator.url}]
                connections.patch(session, scope, row.id, ops, row.etag)
            return row.id, False
        creds = emulator.credentials
        request = CreateConnection(
            name=DEMO_ACCOUNT_NAME,
            description="The local Salesforce emulator started by headwater demo (or headwater serve --demo).",
            auth=AuthIn(
                specName="Basic Authentication",
                params={
                    "environmentUrl": emulator.url,
                    "username": creds.username,
                    "password": creds.password,
                    "securityToken": creds.security_token,
                },
            ),
            connectionSpec=SpecRef(id=SALESFORCE_SPEC_ID),
        )
        row = connections.create(session, scope, request)
        return row.id, True
