"""The runtime's tables: per-flow scheduling state (with the committed cursor) and runs.

The run row is the single source of truth for a run. Queues (the embedded pool, procrastinate) only
carry run ids; whoever wins the conditional update ``scheduled -> inProgress`` executes the run.

Portable types only (SQLite and PostgreSQL): times are epoch milliseconds in BIGINT, documents are
the store's ``PortableJSON``. They share the models' metadata (``store.models.Base``); the Alembic
migrations ``0002_runtime`` and ``0003_typed_resources`` create them, and a test compares the migrated
database with this metadata.

A flow's runtime state goes with the flow (foreign key, cascade). Runs do not: Adobe keeps a deleted
flow's run history, so ``hw_runs.flow_id`` is an indexed column. The run's record counts are columns
(filtered and summed); the rest of its progress is JSON.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from headwater.store.models import Base
from headwater.store.types import PortableJSON

runtime_metadata = Base.metadata

flow_runtime = sa.Table(
    "hw_flow_runtime",
    runtime_metadata,
    sa.Column(
        "flow_id",
        sa.String(64),
        sa.ForeignKey("flows.id", ondelete="CASCADE", name="fk_hw_flow_runtime_flow"),
        primary_key=True,
    ),
    sa.Column("org_id", sa.String(128), nullable=False),
    sa.Column("sandbox_name", sa.String(128), nullable=False),
    sa.Column("schedule_params", PortableJSON, nullable=False),
    # Bumped whenever scheduleParams change, so slot keys of an old schedule never collide with new ones.
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    # First slot index not yet turned into a run (NULL: none yet). Advanced by compare-and-set on `version`.
    sa.Column("next_slot", sa.Integer, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    # Cursor of the last run whose lake commit succeeded; the next run reads from here.
    sa.Column("cursor", PortableJSON, nullable=True),
    sa.Column("cursor_run_id", sa.String(64), nullable=True),
    sa.Column("last_run_id", sa.String(64), nullable=True),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

runs = sa.Table(
    "hw_runs",
    runtime_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("flow_id", sa.String(64), nullable=False, index=True),
    sa.Column("org_id", sa.String(128), nullable=False),
    sa.Column("sandbox_name", sa.String(128), nullable=False),
    sa.Column("flow_spec_id", sa.String(64), nullable=True),  # the flow's spec when the run was made
    # Idempotency key: "<generation>:<slot index>" for scheduled runs, "ondemand:<id>" otherwise.
    sa.Column("slot_key", sa.String(128), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),  # scheduled | onDemand
    sa.Column("status", sa.String(16), nullable=False, index=True),  # scheduled|inProgress|success|failed
    sa.Column("window_start", sa.BigInteger, nullable=False),  # ms
    sa.Column("window_end", sa.BigInteger, nullable=False),  # ms
    sa.Column("params", PortableJSON, nullable=True),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("heartbeat_at", sa.BigInteger, nullable=True),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
    sa.Column("not_before", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("progress", PortableJSON, nullable=True),  # counters and activity times, see run_document
    sa.Column("records_in", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("records_out", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("records_failed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("errors", PortableJSON, nullable=True),
    sa.Column("cursor_in", PortableJSON, nullable=True),
    sa.Column("cursor_out", PortableJSON, nullable=True),
    sa.Column("started_at", sa.BigInteger, nullable=True),
    sa.Column("completed_at", sa.BigInteger, nullable=True),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False, server_default="headwater"),
    sa.Column("created_client", sa.String(200), nullable=False, server_default="headwater"),
    sa.UniqueConstraint("flow_id", "slot_key", name="uq_hw_runs_flow_slot"),
    sa.Index("ix_hw_runs_claimable", "status", "not_before"),
    # Listing: newest first within the scope, by flow, by state; retention and lastRunDetails per flow.
    sa.Index("ix_hw_runs_scope_created", "org_id", "sandbox_name", "created_at", "id"),
    sa.Index("ix_hw_runs_scope_flow", "org_id", "sandbox_name", "flow_id", "created_at", "id"),
    sa.Index("ix_hw_runs_scope_status", "org_id", "sandbox_name", "status", "created_at", "id"),
    sa.Index("ix_hw_runs_flow_completed", "flow_id", "completed_at"),
    sa.Index("ix_hw_runs_created", "created_at", "flow_id"),  # retention finds the old runs by range
)


#: What service functions take: a Core connection or the route's ORM session, inside the caller's transaction.
DbHandle = sa.Connection | Session


def affected(result: sa.Result[Any]) -> int:
    """Rows matched by an UPDATE/DELETE, whichever handle ran it (a Session types it as a plain Result)."""
    return cast("sa.CursorResult[Any]", result).rowcount


__all__ = ["DbHandle", "affected", "flow_runtime", "runs", "runtime_metadata"]
