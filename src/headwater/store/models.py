"""Typed tables of the metadata store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from headwater.store.types import PortableJSON, UTCDateTime


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # "<24 hex>@AdobeOrg"
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sandbox(Base):
    __tablename__ = "sandboxes"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_sandboxes_org_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiClient(Base):
    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the x-api-key
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(300))  # scrypt, see store.passwords
    is_default: Mapped[bool] = mapped_column(default=False)
    # Only the default client keeps a Fernet-sealed copy, so `headwater credentials` can print it.
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Resource(Base):
    """Every API resource kind (connections, flows, runs, ...) in one table keyed by (kind, id).

    ``document`` is the resource body as the API shows it minus metadata and minus secrets;
    ``secrets`` is a Fernet token holding the secret fields, or NULL.
    """

    __tablename__ = "resources"
    __table_args__ = (Index("ix_resources_scope", "kind", "org_id", "sandbox_name", "created_at"),)

    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    sandbox_name: Mapped[str] = mapped_column(String(100))
    etag: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    created_client: Mapped[str] = mapped_column(String(200))
    updated_client: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(40))
    document: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
