"""Resolving a stored flow (Adobe's documented shapes, stored as the routes will) into a run's parts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from headwater.runtime.dataflow import DataflowIncompleteError, dataset_path, resolve_dataflow
from headwater.store import resources, tenants
from headwater.store.crypto import SecretBox
from headwater.store.resources import Scope

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


def store_tutorial_flow(session: Session, box: SecretBox, scope: Scope, *, flow: dict | None = None) -> str:
    base = resources.create(
        session,
        scope,
        "connections",
        {
            "name": "Salesforce",
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
            "auth": {
                "specName": "Basic Authentication",
                "params": {"environmentUrl": "https://127.0.0.1:9443", "username": "u@example.com"},
            },
        },
        secrets=box.seal({"password": "pa55", "securityToken": "tok"}),
    )
    source = resources.create(
        session,
        scope,
        "sourceConnections",
        {
            "name": "Salesforce source connection",
            "baseConnectionId": base.id,
            "data": {"format": "tabular"},
            "params": {
                "tableName": "Account",
                "columns": [{"name": "Id", "type": "string"}, {"name": "Name", "type": "string"}],
            },
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        },
    )
    target = resources.create(
        session,
        scope,
        "targetConnections",
        {
            "name": "Data Lake",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": "5c8c3c555033b814b69f947f"},
            "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
        },
    )
    document = flow or {
        "name": "Salesforce dataflow",
        "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"},
        "sourceConnectionIds": [source.id],
        "targetConnectionIds": [target.id],
        "transformations": [
            {
                "name": "Copy",
                "params": {
                    "deltaColumn": {"name": "SystemModstamp", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
                },
            },
            {
                "name": "Mapping",
                "params": {"mappingId": "500a9b747fcf4908a21917d49bd61780", "mappingVersion": 0},
            },
        ],
        "scheduleParams": {"startTime": "1567411548", "frequency": "minute", "interval": "30"},
    }
    return resources.create(session, scope, "flows", document).id


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
        "0",
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
        broken = store_tutorial_flow(
            session,
            box,
            scope,
            flow={
                "sourceConnectionIds": ["gone"],
                "targetConnectionIds": ["x"],
                "scheduleParams": {"startTime": 1, "frequency": "once"},
            },
        )
        with pytest.raises(DataflowIncompleteError, match="The source connection gone does not exist"):
            resolve_dataflow(session, box, flow_id=broken, org_id=scope.org_id, sandbox_name="prod")
        flow_id = store_tutorial_flow(session, box, scope)
        with pytest.raises(DataflowIncompleteError):  # another sandbox cannot see it
            resolve_dataflow(session, box, flow_id=flow_id, org_id=scope.org_id, sandbox_name="dev")
