"""Rows written straight into the store, for tests and benchmarks (the API validates; this does not).

Tests of the runtime need a flow row for the scheduling state they register (a foreign key), and
benchmarks bulk-load thousands of flows and a million runs; neither wants to explore a source first.
Nothing in the product calls this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from headwater.core.ids import new_etag, new_id
from headwater.core.scope import Scope
from headwater.core.timeutil import now_ms, utcnow
from headwater.store import repository
from headwater.store.crypto import SecretBox
from headwater.store.models import (
    Connection,
    Dataset,
    Flow,
    MappingSet,
    MappingSetVersion,
    Org,
    Sandbox,
    SourceConnection,
    TargetConnection,
)

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
ONCE = {"startTime": "4102444800", "frequency": "once"}


def ensure_tenant(conn: sa.Connection | Session, org_id: str, sandbox_name: str) -> None:
    """The org and sandbox, created when missing."""
    if conn.execute(sa.select(Org.id).where(Org.id == org_id)).first() is None:
        conn.execute(sa.insert(Org).values(id=org_id, name=org_id, is_default=False, created_at=utcnow()))
    found = sa.select(Sandbox.id).where(Sandbox.org_id == org_id, Sandbox.name == sandbox_name)
    if conn.execute(found).first() is None:
        conn.execute(
            sa.insert(Sandbox).values(id=new_id(), org_id=org_id, name=sandbox_name, created_at=utcnow())
        )


def bare_flow(
    conn: sa.Connection | Session,
    flow_id: str,
    org_id: str,
    sandbox_name: str,
    *,
    schedule_params: Mapping[str, Any] | None = None,
) -> None:
    """A flow row without connections (it exists, it cannot run a connector): enough for the runtime's
    own tests, which bring their own plans."""
    ensure_tenant(conn, org_id, sandbox_name)
    if conn.execute(sa.select(Flow.id).where(Flow.id == flow_id)).first() is not None:
        return
    conn.execute(
        sa.insert(Flow).values(**flow_values(flow_id, org_id, sandbox_name, schedule_params or ONCE))
    )


def flow_values(
    flow_id: str, org_id: str, sandbox_name: str, schedule_params: Mapping[str, Any], **columns: Any
) -> dict[str, Any]:
    """Every column of a flow row (bulk loads insert many of these at once)."""
    now = now_ms()
    return {
        "id": flow_id,
        "org_id": org_id,
        "sandbox_name": sandbox_name,
        "state": "enabled",
        "etag": new_etag(),
        "created_at": now,
        "updated_at": now,
        "created_by": "test@AdobeID",
        "updated_by": "test@AdobeID",
        "created_client": "test",
        "updated_client": "test",
        "name": f"flow {flow_id}",
        "description": None,
        "flow_spec_id": CRM_TO_AEP,
        "flow_spec_version": "1.0",
        "source_connection_id": None,
        "target_connection_id": None,
        "transformations": [],
        "schedule_params": dict(schedule_params),
        "options": None,
        "labels": None,
        "record_types": None,
        "last_operation": None,
        "mapping_id": None,
        "mapping_version": None,
        **columns,
    }


def run_values(
    run_id: str,
    flow_id: str,
    org_id: str,
    sandbox_name: str,
    *,
    created_at: int,
    status: str = "success",
    records: int = 0,
    **columns: Any,
) -> dict[str, Any]:
    """Every column of a finished run row (bulk loads insert many of these at once)."""
    finished = status in ("success", "failed")
    return {
        "id": run_id,
        "flow_id": flow_id,
        "org_id": org_id,
        "sandbox_name": sandbox_name,
        "flow_spec_id": CRM_TO_AEP,
        "slot_key": f"ondemand:{run_id}",
        "trigger": "onDemand",
        "status": status,
        "window_start": 0,
        "window_end": created_at,
        "params": None,
        "owner": "bench" if finished else None,
        "heartbeat_at": created_at + 1000 if finished else None,
        "attempt": 1 if finished else 0,
        "max_attempts": 3,
        "not_before": 0,
        "progress": {"inputRecordCount": records, "outputRecordCount": records, "failedRecordCount": 0},
        "records_in": records,
        "records_out": records,
        "records_failed": 0,
        "errors": [{"code": "CONNECTOR-2001-500", "message": "failed"}] if status == "failed" else None,
        "cursor_in": None,
        "cursor_out": None,
        "started_at": created_at + 10 if finished else None,
        "completed_at": created_at + 1000 if finished else None,
        "etag": new_etag(),
        "created_at": created_at,
        "updated_at": created_at + 1000,
        "created_by": "test@AdobeID",
        "created_client": "test",
        **columns,
    }


def stored_dataflow(
    session: Session,
    box: SecretBox,
    scope: Scope,
    *,
    auth_spec: str,
    auth_params: Mapping[str, Any],
    secrets: Mapping[str, Any],
    table: str,
    columns: Sequence[str],
    dataset_id: str,
    transformations: list[Any] | None = None,
    schedule: Mapping[str, Any] | None = None,
    mapping: tuple[str, int] | None = None,
    connection_spec_id: str = SALESFORCE,
    options: Mapping[str, Any] | None = None,
    dataset_extra: Mapping[str, Any] | None = None,
) -> str:
    """Base connection -> source connection -> dataset -> target connection -> flow, as rows (register its
    scheduling state with ``flows.runs.register_flow``). Returns the flow id."""
    base = repository.add(
        session,
        repository.new(
            Connection,
            scope,
            name="Account",
            connection_spec_id=connection_spec_id,
            connection_spec_version="1.0",
            auth_spec_name=auth_spec,
            auth_params=dict(auth_params),
            secrets=box.seal(dict(secrets)),
        ),
    )
    source = repository.add(
        session,
        repository.new(
            SourceConnection,
            scope,
            name=f"{table} source",
            base_connection_id=base.id,
            connection_spec_id=connection_spec_id,
            connection_spec_version="1.0",
            data={"format": "tabular"},
            params={"tableName": table, "columns": [{"name": name, "type": "string"} for name in columns]},
        ),
    )
    if session.get(Dataset, dataset_id) is None:
        repository.add(
            session,
            repository.new(
                Dataset,
                scope,
                resource_id=dataset_id,
                name=dataset_id,
                tags={},
                extra=dict(dataset_extra or {}),
            ),
        )
    target = repository.add(
        session,
        repository.new(
            TargetConnection,
            scope,
            name=f"{table} target",
            connection_spec_id=DATA_LAKE,
            connection_spec_version="1.0",
            data={"format": "parquet_xdm"},
            params={"dataSetId": dataset_id},
            dataset_id=dataset_id,
        ),
    )
    flow = repository.add(
        session,
        repository.new(
            Flow,
            scope,
            name=f"{table} flow",
            flow_spec_id=CRM_TO_AEP,
            flow_spec_version="1.0",
            source_connection_id=source.id,
            target_connection_id=target.id,
            transformations=list(transformations or []),
            schedule_params=dict(schedule or ONCE),
            mapping_id=mapping[0] if mapping else None,
            mapping_version=mapping[1] if mapping else None,
            options=dict(options) if options is not None else None,
        ),
    )
    return flow.id


def stored_mapping_set(
    session: Session, scope: Scope, versions: Sequence[Sequence[Mapping[str, Any]]]
) -> str:
    """A mapping set with one version per entry of ``versions`` (each a list of mappings)."""
    row = repository.add(session, repository.new(MappingSet, scope, latest_version=len(versions) - 1))
    for number, mappings in enumerate(versions):
        session.add(
            MappingSetVersion(
                mapping_set_id=row.id,
                version=number,
                body={"mappings": list(mappings), "xdmSchema": "https://ns.adobe.com/test/schemas/x"},
                created_at=now_ms(),
                created_by=scope.user,
            )
        )
    session.flush()
    return row.id


__all__ = [
    "bare_flow",
    "ensure_tenant",
    "flow_values",
    "run_values",
    "stored_dataflow",
    "stored_mapping_set",
]
