"""The dataflow runtime's tables: per-flow schedule state with the committed cursor, and runs.

Mirrors ``headwater.store.runtime_tables`` (a test compares the two); written out here because the store
must not import the runtime.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from headwater.store.types import PortableJSON

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hw_flow_runtime",
        sa.Column("flow_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(128), nullable=False),
        sa.Column("sandbox_name", sa.String(128), nullable=False),
        sa.Column("schedule_params", PortableJSON, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("next_slot", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cursor", PortableJSON, nullable=True),
        sa.Column("cursor_run_id", sa.String(64), nullable=True),
        sa.Column("last_run_id", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "hw_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(128), nullable=False),
        sa.Column("sandbox_name", sa.String(128), nullable=False),
        sa.Column("slot_key", sa.String(128), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("params", PortableJSON, nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("heartbeat_at", sa.BigInteger, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
        sa.Column("not_before", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("progress", PortableJSON, nullable=True),
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
    )
    op.create_index("ix_hw_runs_flow_id", "hw_runs", ["flow_id"])
    op.create_index("ix_hw_runs_status", "hw_runs", ["status"])
    op.create_index("ix_hw_runs_claimable", "hw_runs", ["status", "not_before"])


def downgrade() -> None:
    op.drop_table("hw_runs")
    op.drop_table("hw_flow_runtime")
