"""Orgs, sandboxes, API clients and the generic resources table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from headwater.store.types import PortableJSON, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sandboxes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_sandboxes_org_name"),
    )
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(300), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_api_clients_org_id", "api_clients", ["org_id"])
    op.create_table(
        "resources",
        sa.Column("kind", sa.String(50), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sandbox_name", sa.String(100), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("created_client", sa.String(200), nullable=False),
        sa.Column("updated_client", sa.String(200), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("document", PortableJSON, nullable=False),
        sa.Column("secrets", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_resources_scope", "resources", ["kind", "org_id", "sandbox_name", "created_at"])


def downgrade() -> None:
    op.drop_table("resources")
    op.drop_table("api_clients")
    op.drop_table("sandboxes")
    op.drop_table("orgs")
