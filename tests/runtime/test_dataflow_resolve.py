"""Resolving a stored flow (typed rows, as the routes write them) into a run's parts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from headwater.core.scope import Scope
from headwater.flows.dataflow import DataflowIncompleteError, dataset_path, resolve_dataflow
from headwater.store import tenants
from headwater.store.crypto import SecretBox
from headwater.store.testing import SALESFORCE, bare_flow, stored_dataflow

TRANSFORMATIONS = [
    {
        "name": "Copy",
        "params": {"deltaColumn": {"name": "SystemModstamp", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}},
    },
    {"name": "Mapping", "params": {"mappingId": "500a9b747fcf4908a21917d49bd61780", "mappingVersion": 0}},
]


def store_tutorial_flow(session: Session, box: SecretBox, scope: Scope) -> str:
    return stored_dataflow(
        session,
        box,
        scope,
        auth_spec="Basic Authentication",
        auth_params={"environmentUrl": "https://127.0.0.1:9443", "username": "u@example.com"},
        secrets={"password": "pa55", "securityToken": "tok"},
        table="Account",
        columns=["Id", "Name"],
        dataset_id="5c8c3c555033b814b69f947f",
        transformations=TRANSFORMATIONS,
        schedule={"startTime": "1567411548", "frequency": "minute", "interval": "30"},
        mapping=("500a9b747fcf4908a21917d49bd61780", 0),
    )


@pytest.fixture
def tenant(engine: sa.Engine) -> tuple[Scope, SecretBox]:
    with Session(engine) as session, session.begin():
        org = tenants.create_org(session, "Runtime Test Org")
        return Scope(org.id, "prod", "client-1"), SecretBox(Fernet.generate_key())


def test_tutorial_flow_resolves_with_secrets_opened(
    engine: sa.Engine, tenant: tuple[Scope, SecretBox]
) -> None:
    scope, box = tenant
    with Session(engine) as session, session.begin():
        flow_id = store_tutorial_flow(session, box, scope)
        flow = resolve_dataflow(session, box, flow_id=flow_id, org_id=scope.org_id, sandbox_name="prod")
    assert flow.connection_spec_id == SALESFORCE and flow.table == "Account"
    assert flow.auth["params"]["password"] == "pa55" and flow.auth["params"]["username"] == "u@example.com"
    assert "pa55" not in repr(flow)  # secrets never in reprs (and so never in logs)
    assert [column["name"] for column in flow.columns] == ["Id", "Name"]
    assert (flow.dataset_id, flow.delta_column, flow.mapping_id, flow.mapping_version) == (
        "5c8c3c555033b814b69f947f",
        "SystemModstamp",
        "500a9b747fcf4908a21917d49bd61780",
        0,
    )
    assert flow.schedule.period == 1800
    assert dataset_path("/lake/", flow) == f"/lake/{scope.org_id}/prod/5c8c3c555033b814b69f947f"


def test_missing_pieces_are_terminal_with_readable_messages(
    engine: sa.Engine, tenant: tuple[Scope, SecretBox]
) -> None:
    scope, box = tenant
    with Session(engine) as session, session.begin():
        with pytest.raises(DataflowIncompleteError, match="The flow nope does not exist"):
            resolve_dataflow(session, box, flow_id="nope", org_id=scope.org_id, sandbox_name="prod")
        bare_flow(session, "no-ends", scope.org_id, "prod")
        with pytest.raises(DataflowIncompleteError, match="The source connection id is missing"):
            resolve_dataflow(session, box, flow_id="no-ends", org_id=scope.org_id, sandbox_name="prod")
        flow_id = store_tutorial_flow(session, box, scope)
        with pytest.raises(DataflowIncompleteError):  # another sandbox cannot see it
            resolve_dataflow(session, box, flow_id=flow_id, org_id=scope.org_id, sandbox_name="dev")
