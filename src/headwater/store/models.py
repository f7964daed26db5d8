"""Typed tables of the metadata store: one table per resource kind.

Every column that is filtered, sorted, joined or counted is a real column with an index; nested parts
of Adobe's documents that are only shown (auth params, a source's ``params``, a flow's
``transformations``) are JSON columns. Times of API resources are epoch milliseconds (what the API shows
and filters on). The API document of a resource is rendered from these columns by its domain package;
nothing here stores a document as the truth.

References that the API enforces (a flow's source and target connections, a mapping version's set, the
runtime state of a flow) are foreign keys. References that Adobe lets dangle (a source connection's base
connection, a target's dataset, a flow's mapping set: each may be deleted while the other stays) are
indexed columns checked by the domain services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

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


class Scoped:
    """What every API resource has (contract §3.1): its (org, sandbox), version and who wrote it when.

    Indexed for the default listing (``created_at, id`` within the scope) and for filters by name.
    """

    kind: ClassVar[str]  # the API's collection name ("connections", "flows", ...)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    sandbox_name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(40))
    etag: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[int] = mapped_column(BigInteger)  # epoch ms
    updated_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    created_client: Mapped[str] = mapped_column(String(200))
    updated_client: Mapped[str] = mapped_column(String(200))

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        indexes = [Index(f"ix_{table}_scope_created", "org_id", "sandbox_name", "created_at", "id")]
        if "name" in cls.__annotations__:
            # Also in the default order, so a name filter needs neither a scan nor a sort.
            indexes.append(
                Index(f"ix_{table}_scope_name", "org_id", "sandbox_name", "name", "created_at", "id")
            )
        return (
            ForeignKeyConstraint(
                ["org_id", "sandbox_name"],
                ["sandboxes.org_id", "sandboxes.name"],
                name=f"fk_{table}_sandbox",
                ondelete="CASCADE",
            ),
            *indexes,
            *getattr(cls, "extra_table_args", ()),
        )


class Connection(Scoped, Base):
    """A base connection: the credentials of one account. ``auth_params`` never holds a secret:
    the spec's secret fields are sealed apart in ``secrets`` (a Fernet token)."""

    __tablename__ = "connections"
    kind: ClassVar[str] = "connections"
    extra_table_args = (Index("ix_connections_scope_spec", "org_id", "sandbox_name", "connection_spec_id"),)

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    connection_spec_id: Mapped[str] = mapped_column(String(64))
    connection_spec_version: Mapped[str] = mapped_column(String(32))
    auth_spec_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    auth_params: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SourceConnection(Scoped, Base):
    """Which object of an account a flow reads (``params.tableName``, ``params.columns``)."""

    __tablename__ = "source_connections"
    kind: ClassVar[str] = "sourceConnections"
    extra_table_args = (Index("ix_source_connections_base", "base_connection_id"),)

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    base_connection_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    connection_spec_id: Mapped[str] = mapped_column(String(64))
    connection_spec_version: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    params: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    provider_ref_id: Mapped[str | None] = mapped_column(String(200), nullable=True)


class TargetConnection(Scoped, Base):
    """Where a flow lands: a dataset of the Data Lake (``params.dataSetId``, also the ``dataset_id`` column)."""

    __tablename__ = "target_connections"
    kind: ClassVar[str] = "targetConnections"
    extra_table_args = (Index("ix_target_connections_dataset", "dataset_id"),)

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    base_connection_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    connection_spec_id: Mapped[str] = mapped_column(String(64))
    connection_spec_version: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    params: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    dataset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Dataset(Scoped, Base):
    """A Catalog dataset. Catalog fields Headwater does not interpret are kept in ``extra``."""

    __tablename__ = "datasets"
    kind: ClassVar[str] = "dataSets"

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    schema_ref: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    tags: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    file_description: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(PortableJSON)


class MappingSet(Scoped, Base):
    """A Data Prep mapping set; its bodies are versions (``mapping_set_versions``), every one kept."""

    __tablename__ = "mapping_sets"
    kind: ClassVar[str] = "mappingSets"

    latest_version: Mapped[int] = mapped_column(Integer)


class MappingSetVersion(Base):
    __tablename__ = "mapping_set_versions"

    mapping_set_id: Mapped[str] = mapped_column(
        ForeignKey("mapping_sets.id", ondelete="CASCADE", name="fk_mapping_set_versions_set"),
        primary_key=True,
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(PortableJSON)  # mappings, xdmSchema/outputSchema, ...
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))


class Flow(Scoped, Base):
    """A dataflow: one source connection -> one target connection, transformations and a schedule.

    ``mapping_id``/``mapping_version`` are the Mapping transformation's set and the version runs execute
    (pinned when the flow is written); ``sourceConnectionIds``/``targetConnectionIds`` are rendered from
    the two connection columns.
    """

    __tablename__ = "flows"
    kind: ClassVar[str] = "flows"
    extra_table_args = (
        Index("ix_flows_source", "source_connection_id"),
        Index("ix_flows_target", "target_connection_id"),
        Index("ix_flows_mapping", "mapping_id"),
    )

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    flow_spec_id: Mapped[str] = mapped_column(String(64))
    flow_spec_version: Mapped[str] = mapped_column(String(32))
    source_connection_id: Mapped[str | None] = mapped_column(
        ForeignKey("source_connections.id", name="fk_flows_source"), nullable=True
    )
    target_connection_id: Mapped[str | None] = mapped_column(
        ForeignKey("target_connections.id", name="fk_flows_target"), nullable=True
    )
    transformations: Mapped[list[Any]] = mapped_column(PortableJSON)
    schedule_params: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    options: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    labels: Mapped[list[Any] | None] = mapped_column(PortableJSON, nullable=True)
    record_types: Mapped[list[Any] | None] = mapped_column(PortableJSON, nullable=True)
    last_operation: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    mapping_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mapping_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


RESOURCE_MODELS: dict[str, type[Scoped]] = {
    "connections": Connection,
    "sourceConnections": SourceConnection,
    "targetConnections": TargetConnection,
    "dataSets": Dataset,
    "mappingSets": MappingSet,
    "flows": Flow,
}

__all__ = [
    "RESOURCE_MODELS",
    "ApiClient",
    "Base",
    "Connection",
    "Dataset",
    "Flow",
    "MappingSet",
    "MappingSetVersion",
    "Org",
    "Sandbox",
    "Scoped",
    "SourceConnection",
    "TargetConnection",
]
