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

from headwater.connectors.registry import open_connector
from headwater.core.errors import ConfigurationError
from headwater.core.settings import Settings
from headwater.runtime.dataflow import Dataflow, resolve_dataflow
from headwater.runtime.ports import LakeRunWriter, PlanBuilder, RunContext, RunPlan
from headwater.store.crypto import SecretBox, load_secret_key

PlanBuilderFactory = Callable[[Settings, sa.Engine], PlanBuilder]
WriterFactory = Callable[[Dataflow, RunContext], LakeRunWriter]
TransformFactory = Callable[[Dataflow], Callable[[pa.RecordBatch], pa.RecordBatch] | None]
DEFAULT_FACTORY = "headwater.runtime.plans:dataflow_plan_builder"


def _no_lake_writer(dataflow: Dataflow, context: RunContext) -> LakeRunWriter:
    raise ConfigurationError(
        f"Run {context.run_id}: no lake writer is configured for dataset {dataflow.dataset_id}."
    )


def _no_mapping(_dataflow: Dataflow) -> Callable[[pa.RecordBatch], pa.RecordBatch] | None:
    return None


def build_dataflow_plan(
    dataflow: Dataflow,
    context: RunContext,
    settings: Settings,
    *,
    open_writer: WriterFactory,
    transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
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
    writer_factory = open_writer or _no_lake_writer
    mapping_factory = mapping or _no_mapping

    def build(context: RunContext) -> RunPlan:
        with Session(engine) as session:
            dataflow = resolve_dataflow(
                session,
                box,
                flow_id=context.flow_id,
                org_id=context.org_id,
                sandbox_name=context.sandbox_name,
            )
        return build_dataflow_plan(
            dataflow, context, settings, open_writer=writer_factory, transform=mapping_factory(dataflow)
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


__all__ = ["DEFAULT_FACTORY", "build_dataflow_plan", "dataflow_plan_builder", "load_plan_builder"]
