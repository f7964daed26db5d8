"""Typed tables per resource kind, replacing the generic ``resources`` table; listing indexes on runs.

Every stored resource is carried over: its document is split into the typed columns (and JSON columns
for the nested parts that are only shown), its metadata kept as it was (timestamps become epoch ms).
A flow's Mapping transformation gets its mapping version pinned (the version it names, else the set's
latest), so runs execute exactly that version. Runs get their record counts as columns and the flow's
spec id; the flow runtime state gets a foreign key to its flow (state of flows that no longer exist is
dropped: nothing could run it).

Written out in full (no import of the models): later model changes must not change this step.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from headwater.store.types import PortableJSON, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.headwater")
BATCH = 2000


def _meta_columns(name: bool = True) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("sandbox_name", sa.String(100), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("created_client", sa.String(200), nullable=False),
        sa.Column("updated_client", sa.String(200), nullable=False),
    ]
    if name:
        columns += [
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("description", sa.Text, nullable=True),
        ]
    return columns


def _scoped(table: str, *columns: Any, name: bool = True) -> sa.Table:
    created = op.create_table(
        table,
        *_meta_columns(name),
        *columns,
        sa.ForeignKeyConstraint(
            ["org_id", "sandbox_name"],
            ["sandboxes.org_id", "sandboxes.name"],
            name=f"fk_{table}_sandbox",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{table}_scope_created", table, ["org_id", "sandbox_name", "created_at", "id"])
    if name:
        op.create_index(
            f"ix_{table}_scope_name", table, ["org_id", "sandbox_name", "name", "created_at", "id"]
        )
    return created


def _spec_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("connection_spec_id", sa.String(64), nullable=False),
        sa.Column("connection_spec_version", sa.String(32), nullable=False),
    ]


def _create_tables() -> dict[str, sa.Table]:
    tables = {
        "connections": _scoped(
            "connections",
            *_spec_columns(),
            sa.Column("auth_spec_name", sa.String(200), nullable=True),
            sa.Column("auth_params", PortableJSON, nullable=True),
            sa.Column("secrets", sa.LargeBinary, nullable=True),
        ),
        "sourceConnections": _scoped(
            "source_connections",
            sa.Column("base_connection_id", sa.String(64), nullable=True),
            *_spec_columns(),
            sa.Column("data", PortableJSON, nullable=False),
            sa.Column("params", PortableJSON, nullable=False),
            sa.Column("provider_ref_id", sa.String(200), nullable=True),
        ),
        "targetConnections": _scoped(
            "target_connections",
            sa.Column("base_connection_id", sa.String(64), nullable=True),
            *_spec_columns(),
            sa.Column("data", PortableJSON, nullable=False),
            sa.Column("params", PortableJSON, nullable=False),
            sa.Column("dataset_id", sa.String(64), nullable=True),
        ),
        "dataSets": _scoped(
            "datasets",
            sa.Column("schema_ref", PortableJSON, nullable=True),
            sa.Column("tags", PortableJSON, nullable=False),
            sa.Column("file_description", PortableJSON, nullable=True),
            sa.Column("extra", PortableJSON, nullable=False),
        ),
        "mappingSets": _scoped(
            "mapping_sets", sa.Column("latest_version", sa.Integer, nullable=False), name=False
        ),
    }
    tables["versions"] = op.create_table(
        "mapping_set_versions",
        sa.Column(
            "mapping_set_id",
            sa.String(64),
            sa.ForeignKey("mapping_sets.id", ondelete="CASCADE", name="fk_mapping_set_versions_set"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", PortableJSON, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    tables["flows"] = _scoped(
        "flows",
        sa.Column("flow_spec_id", sa.String(64), nullable=False),
        sa.Column("flow_spec_version", sa.String(32), nullable=False),
        sa.Column(
            "source_connection_id",
            sa.String(64),
            sa.ForeignKey("source_connections.id", name="fk_flows_source"),
            nullable=True,
        ),
        sa.Column(
            "target_connection_id",
            sa.String(64),
            sa.ForeignKey("target_connections.id", name="fk_flows_target"),
            nullable=True,
        ),
        sa.Column("transformations", PortableJSON, nullable=False),
        sa.Column("schedule_params", PortableJSON, nullable=False),
        sa.Column("options", PortableJSON, nullable=True),
        sa.Column("labels", PortableJSON, nullable=True),
        sa.Column("record_types", PortableJSON, nullable=True),
        sa.Column("last_operation", PortableJSON, nullable=True),
        sa.Column("mapping_id", sa.String(64), nullable=True),
        sa.Column("mapping_version", sa.Integer, nullable=True),
    )
    op.create_index(
        "ix_connections_scope_spec", "connections", ["org_id", "sandbox_name", "connection_spec_id"]
    )
    op.create_index("ix_source_connections_base", "source_connections", ["base_connection_id"])
    op.create_index("ix_target_connections_dataset", "target_connections", ["dataset_id"])
    op.create_index("ix_flows_source", "flows", ["source_connection_id"])
    op.create_index("ix_flows_target", "flows", ["target_connection_id"])
    op.create_index("ix_flows_mapping", "flows", ["mapping_id"])
    return tables


# --- the old table and its rows ------------------------------------------------------------------------

legacy = sa.Table(
    "resources",
    sa.MetaData(),
    sa.Column("kind", sa.String(50)),
    sa.Column("id", sa.String(64)),
    sa.Column("org_id", sa.String(64)),
    sa.Column("sandbox_name", sa.String(100)),
    sa.Column("etag", sa.String(80)),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("created_by", sa.String(200)),
    sa.Column("updated_by", sa.String(200)),
    sa.Column("created_client", sa.String(200)),
    sa.Column("updated_client", sa.String(200)),
    sa.Column("state", sa.String(40)),
    sa.Column("document", PortableJSON),
    sa.Column("secrets", sa.LargeBinary),
)


def _ms(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def _meta(row: Any, document: dict[str, Any], *, name: bool = True) -> dict[str, Any]:
    values = {
        "id": row.id,
        "org_id": row.org_id,
        "sandbox_name": row.sandbox_name,
        "state": row.state,
        "etag": row.etag,
        "created_at": _ms(row.created_at),
        "updated_at": _ms(row.updated_at),
        "created_by": row.created_by,
        "updated_by": row.updated_by,
        "created_client": row.created_client,
        "updated_client": row.updated_client,
    }
    if name:
        values["name"] = str(document.get("name") or "")
        values["description"] = document.get("description")
    return values


def _spec(document: dict[str, Any], key: str) -> tuple[str, str]:
    ref = document.get(key) or {}
    return str(ref.get("id") or ""), str(ref.get("version") or "1.0")


def _connection(row: Any, doc: dict[str, Any]) -> dict[str, Any]:
    spec_id, version = _spec(doc, "connectionSpec")
    auth = doc.get("auth")
    return {
        **_meta(row, doc),
        "connection_spec_id": spec_id,
        "connection_spec_version": version,
        "auth_spec_name": auth.get("specName") if isinstance(auth, dict) else None,
        "auth_params": dict(auth.get("params") or {}) if isinstance(auth, dict) else None,
        "secrets": row.secrets,
    }


def _source(row: Any, doc: dict[str, Any]) -> dict[str, Any]:
    spec_id, version = _spec(doc, "connectionSpec")
    return {
        **_meta(row, doc),
        "base_connection_id": doc.get("baseConnectionId"),
        "connection_spec_id": spec_id,
        "connection_spec_version": version,
        "data": doc.get("data") or {},
        "params": doc.get("params") or {},
        "provider_ref_id": doc.get("providerRefId"),
    }


def _target(row: Any, doc: dict[str, Any]) -> dict[str, Any]:
    spec_id, version = _spec(doc, "connectionSpec")
    params = doc.get("params") or {}
    dataset = params.get("dataSetId") if isinstance(params, dict) else None
    return {
        **_meta(row, doc),
        "base_connection_id": doc.get("baseConnectionId"),
        "connection_spec_id": spec_id,
        "connection_spec_version": version,
        "data": doc.get("data") or {},
        "params": params,
        "dataset_id": dataset if isinstance(dataset, str) else None,
    }


_DATASET_COLUMNS = {"name", "description", "schemaRef", "tags", "fileDescription"}


def _dataset(row: Any, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **_meta(row, doc),
        "schema_ref": doc.get("schemaRef"),
        "tags": doc.get("tags") or {},
        "file_description": doc.get("fileDescription"),
        "extra": {key: value for key, value in doc.items() if key not in _DATASET_COLUMNS},
    }


def _single(doc: dict[str, Any], key: str) -> str | None:
    ids = doc.get(key) or []
    return str(ids[0]) if isinstance(ids, list) and ids else None


def _mapping(doc: dict[str, Any]) -> dict[str, Any]:
    for item in doc.get("transformations") or []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == "mapping":
            return dict(item.get("params") or {})
    return {}


def _rows(connection: sa.Connection, kind: str) -> Iterator[Any]:
    query = sa.select(legacy).where(legacy.c.kind == kind).order_by(legacy.c.created_at, legacy.c.id)
    yield from connection.execute(query)


def _copy(
    connection: sa.Connection,
    table: sa.Table,
    kind: str,
    convert: Callable[[Any, dict[str, Any]], dict[str, Any]],
) -> set[str]:
    batch: list[dict[str, Any]] = []
    ids: set[str] = set()
    for row in _rows(connection, kind):
        batch.append(convert(row, dict(row.document or {})))
        ids.add(row.id)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    return ids


def _copy_mapping_sets(connection: sa.Connection, tables: dict[str, sa.Table]) -> dict[str, int]:
    latest: dict[str, int] = {}
    for row in _rows(connection, "mappingSets"):
        doc = dict(row.document or {})
        versions = list(doc.get("versions") or [{k: v for k, v in doc.items() if k != "versions"}])
        connection.execute(
            tables["mappingSets"].insert(),
            [{**_meta(row, doc, name=False), "latest_version": len(versions) - 1}],
        )
        connection.execute(
            tables["versions"].insert(),
            [
                {
                    "mapping_set_id": row.id,
                    "version": number,
                    "body": body,
                    # Older stores kept no per-version times: the set's last write stands for all.
                    "created_at": _ms(row.updated_at),
                    "created_by": row.updated_by,
                }
                for number, body in enumerate(versions)
            ],
        )
        latest[row.id] = len(versions) - 1
    return latest


def _copy_flows(
    connection: sa.Connection, table: sa.Table, sources: set[str], targets: set[str], mappings: dict[str, int]
) -> set[str]:
    ids: set[str] = set()
    for row in _rows(connection, "flows"):
        doc = dict(row.document or {})
        spec_id, version = _spec(doc, "flowSpec")
        source, target = _single(doc, "sourceConnectionIds"), _single(doc, "targetConnectionIds")
        if source not in sources or target not in targets:
            log.warning("flow %s references a connection that no longer exists; kept without it", row.id)
        mapping = _mapping(doc)
        mapping_id = mapping.get("mappingId")
        pinned = _pinned_version(mapping.get("mappingVersion"), mappings.get(str(mapping_id)))
        connection.execute(
            table.insert(),
            [
                {
                    **_meta(row, doc),
                    "flow_spec_id": spec_id,
                    "flow_spec_version": version,
                    "source_connection_id": source if source in sources else None,
                    "target_connection_id": target if target in targets else None,
                    "transformations": doc.get("transformations") or [],
                    "schedule_params": doc.get("scheduleParams") or {},
                    "options": doc.get("options"),
                    "labels": doc.get("labels"),
                    "record_types": doc.get("recordTypes"),
                    "last_operation": doc.get("lastOperation"),
                    "mapping_id": str(mapping_id) if mapping_id else None,
                    "mapping_version": pinned if mapping_id else None,
                }
            ],
        )
        ids.add(row.id)
    return ids


def _pinned_version(named: Any, latest: int | None) -> int | None:
    try:
        return int(str(named))
    except ValueError:
        return latest


def _runs_record_counts(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":

        def field(name: str) -> str:
            return f"COALESCE((progress->>'{name}')::bigint, 0)"
    else:

        def field(name: str) -> str:
            return f"COALESCE(json_extract(progress, '$.{name}'), 0)"

    connection.execute(
        sa.text(
            "UPDATE hw_runs SET "
            f"records_in = {field('inputRecordCount')}, "
            f"records_out = {field('outputRecordCount')}, "
            f"records_failed = {field('failedRecordCount')} "
            "WHERE progress IS NOT NULL"
        )
    )
    connection.execute(
        sa.text(
            "UPDATE hw_runs SET flow_spec_id = "
            "(SELECT flows.flow_spec_id FROM flows WHERE flows.id = hw_runs.flow_id)"
        )
    )


def upgrade() -> None:
    connection = op.get_bind()
    tables = _create_tables()
    _copy(connection, tables["connections"], "connections", _connection)
    sources = _copy(connection, tables["sourceConnections"], "sourceConnections", _source)
    targets = _copy(connection, tables["targetConnections"], "targetConnections", _target)
    _copy(connection, tables["dataSets"], "dataSets", _dataset)
    mappings = _copy_mapping_sets(connection, tables)
    flows = _copy_flows(connection, tables["flows"], sources, targets, mappings)

    runtime = sa.table("hw_flow_runtime", sa.column("flow_id", sa.String))
    stale = [
        row.flow_id for row in connection.execute(sa.select(runtime.c.flow_id)) if row.flow_id not in flows
    ]
    if stale:
        connection.execute(runtime.delete().where(runtime.c.flow_id.in_(stale)))
    with op.batch_alter_table("hw_flow_runtime") as batch:
        batch.create_foreign_key("fk_hw_flow_runtime_flow", "flows", ["flow_id"], ["id"], ondelete="CASCADE")

    with op.batch_alter_table("hw_runs") as batch:
        batch.add_column(sa.Column("flow_spec_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("records_in", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("records_out", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("records_failed", sa.BigInteger, nullable=False, server_default="0"))
    _runs_record_counts(connection)
    op.create_index("ix_hw_runs_scope_created", "hw_runs", ["org_id", "sandbox_name", "created_at", "id"])
    op.create_index(
        "ix_hw_runs_scope_flow", "hw_runs", ["org_id", "sandbox_name", "flow_id", "created_at", "id"]
    )
    op.create_index(
        "ix_hw_runs_scope_status", "hw_runs", ["org_id", "sandbox_name", "status", "created_at", "id"]
    )
    op.create_index("ix_hw_runs_flow_completed", "hw_runs", ["flow_id", "completed_at"])
    op.create_index("ix_hw_runs_created", "hw_runs", ["created_at", "flow_id"])

    op.drop_index("ix_resources_scope", table_name="resources")
    op.drop_table("resources")


def downgrade() -> None:
    raise NotImplementedError(
        "0003 cannot be undone in place: restore the database backup taken before the upgrade."
    )
