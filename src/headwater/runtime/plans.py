"""The application's plan builder: turn a run into its parts (connector read, mapping, lake writer).

This is the one place that knows the concrete connector, mapping engine and lake writer; the executor
only sees ``ports.RunPlan``. The builder is chosen by dotted path (``--plans module:attribute`` on
``headwater worker``) so deployments and tests can plug their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from headwater.connectors.base import Cursor, changed_since
from headwater.connectors.registry import open_connector
from headwater.core.errors import ConfigurationError, DomainError
from headwater.core.scope import Scope
from headwater.core.settings import Settings
from headwater.dataprep.engine import CompiledMapping, MappingError, compile_mapping_set
from headwater.dataprep.mapping_sets import version_body
from headwater.flows.dataflow import RUNTIME_CLIENT, Dataflow, DataflowIncompleteError, resolve_dataflow
from headwater.flows.schedule import Frequency
from headwater.lake import Lake, nest_batch
from headwater.runtime.maintenance import Maintenance
from headwater.runtime.ports import LakeRunWriter, PlanBuilder, RunContext, RunPlan
from headwater.store.crypto import SecretBox, load_secret_key

PlanBuilderFactory = Callable[[Settings, sa.Engine], PlanBuilder]
WriterFactory = Callable[[Dataflow, RunContext], LakeRunWriter]
TransformFactory = Callable[[Dataflow], Callable[[pa.RecordBatch], pa.RecordBatch] | None]
DEFAULT_FACTORY = "headwater.runtime.plans:dataflow_plan_builder"


def lake_writer(settings: Settings) -> WriterFactory:
    """Writers of the lake under ``settings.resolved_lake_root``; staging is keyed by run id, so a retried
    run discards its earlier partial staging."""
    lake = Lake.from_settings(settings)

    def open_writer(dataflow: Dataflow, context: RunContext) -> LakeRunWriter:
        dataset = lake.dataset(dataflow.org_id, dataflow.sandbox_name, dataflow.dataset_id)
        return dataset.open_writer(context.run_id, "Id", history=dataflow.options.history_mode)

    return open_writer


class MappingTransform:
    """The Data Prep mapping as a batch transform, compiled on the first batch against its Arrow types.

    Destination paths become nested columns. The source primary key is kept as a top-level column when
    the mapping does not produce it: the lake upserts and deletes by it.
    """

    def __init__(self, mappings: list[Any], primary_key: str = "Id") -> None:
        self.mappings = mappings
        self.primary_key = primary_key
        self._compiled: CompiledMapping | None = None

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._compiled is None:
            self._compiled = compile_mapping_set(self.mappings, batch.schema)
        mapped = self._compiled(batch)
        if self.primary_key not in mapped.schema.names and self.primary_key in batch.schema.names:
            mapped = mapped.append_column(self.primary_key, batch.column(self.primary_key))
        return nest_batch(mapped)

    def patches(self) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
        """The same mapping for column patches (see ``patch_transform``)."""
        return patch_transform(self.mappings, self.primary_key)


def mapping_transform(mappings: list[Any], primary_key: str = "Id") -> MappingTransform:
    return MappingTransform(mappings, primary_key)


def patch_transform(
    mappings: list[Any] | None, primary_key: str = "Id"
) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """The mapping for column patches (a formula refresh reads the key plus a few columns): only the
    entries whose sources are all among the batch's columns, compiled on the first batch. Constant
    entries are left out (a patch carries what changed at the source)."""
    if not mappings:
        return lambda batch: nest_batch(batch)
    compiled: list[CompiledMapping] = []

    def transform(batch: pa.RecordBatch) -> pa.RecordBatch:
        if not compiled:
            usable = []
            for entry in mappings:
                if str(dict(entry).get("sourceType") or "ATTRIBUTE").upper() == "CONSTANT":
                    continue
                try:
                    compile_mapping_set([entry], batch.schema)
                except MappingError:
                    continue  # reads a column the patch does not carry
                usable.append(entry)
            if not usable:
                return pa.record_batch({primary_key: batch.column(primary_key)})
            compiled.append(compile_mapping_set(usable, batch.schema))
        mapped = compiled[0](batch)
        if primary_key not in mapped.schema.names:
            mapped = mapped.append_column(primary_key, batch.column(primary_key))
        return nest_batch(mapped)

    return transform


def stored_mapping(engine: sa.Engine) -> TransformFactory:
    """Transforms from the flow's mapping set: exactly the version the flow pinned, never a later one."""

    def factory(dataflow: Dataflow) -> Callable[[pa.RecordBatch], pa.RecordBatch] | None:
        if dataflow.mapping_id is None:
            return None
        scope = Scope(dataflow.org_id, dataflow.sandbox_name, RUNTIME_CLIENT)
        version = dataflow.mapping_version if dataflow.mapping_version is not None else 0
        with engine.connect() as connection:
            try:
                body = version_body(connection, scope, dataflow.mapping_id, version)
            except DomainError as exc:
                raise DataflowIncompleteError(
                    f"Version {version} of the mapping set {dataflow.mapping_id} does not exist (any more)."
                ) from exc
        return mapping_transform(list(body.get("mappings") or []))

    return factory


def initial_cursor(dataflow: Dataflow) -> Cursor | None:
    """Where a flow's first run starts reading: everything (backfill, the default), or only records
    changed since the flow's ``startTime`` when ``scheduleParams.backfill`` is false."""
    schedule = dataflow.schedule
    if schedule.frequency is Frequency.ONCE or schedule.backfill:
        return None
    return changed_since(schedule.start_time)


def build_dataflow_plan(
    dataflow: Dataflow,
    context: RunContext,
    settings: Settings,
    *,
    open_writer: WriterFactory,
    transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
    patches: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
) -> RunPlan:
    """A plan reading ``dataflow``'s table through its connector, writing through ``open_writer``."""
    auth: dict[str, Any] = dataflow.auth
    connector = open_connector(
        dataflow.connection_spec_id, str(auth.get("specName")), dict(auth.get("params") or {}), settings
    )
    columns = [str(column["name"]) for column in dataflow.columns if column.get("name")] or None
    plan = RunPlan(
        read=lambda cursor: connector.read(dataflow.table, columns, cursor),
        open_writer=lambda: open_writer(dataflow, context),
        close=connector.close,
        initial_cursor=initial_cursor(dataflow),
        finish=Maintenance(
            connector, dataflow.table, columns, dataflow.options, patches or patch_transform(None)
        ),
    )
    if transform is not None:
        plan.transform = transform
    return plan


def dataflow_plan_builder(
    settings: Settings,
    engine: sa.Engine,
    *,
    open_writer: WriterFactory | None = None,
    mapping: TransformFactory | None = None,
) -> PlanBuilder:
    """Plans for stored dataflows: flow → source connection → connector read → mapping → dataset."""
    box = SecretBox(load_secret_key(settings))
    writer_factory = open_writer or lake_writer(settings)
    mapping_factory = mapping or stored_mapping(engine)

    def build(context: RunContext) -> RunPlan:
        with Session(engine) as session:
            dataflow = resolve_dataflow(
                session,
                box,
                flow_id=context.flow_id,
                org_id=context.org_id,
                sandbox_name=context.sandbox_name,
            )
        transform = mapping_factory(dataflow)
        return build_dataflow_plan(
            dataflow,
            context,
            settings,
            open_writer=writer_factory,
            transform=transform,
            patches=transform.patches() if isinstance(transform, MappingTransform) else None,
        )

    return build


def load_plan_builder(path: str, settings: Settings, engine: sa.Engine) -> PlanBuilder:
    """Import ``module:attribute`` (a factory taking settings and engine) and build the plan builder."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"Plan builder must be given as module:attribute, got {path!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"Cannot load the plan builder {path!r}: {exc}") from exc
    return cast(PlanBuilderFactory, factory)(settings, engine)


__all__ = [
    "DEFAULT_FACTORY",
    "MappingTransform",
    "build_dataflow_plan",
    "dataflow_plan_builder",
    "initial_cursor",
    "lake_writer",
    "load_plan_builder",
    "mapping_transform",
    "patch_transform",
    "stored_mapping",
]
