"""The application's plan builder: turn a run into its parts (connector read, mapping, lake writer).

This is the one place that knows the concrete connector, mapping engine and lake writer; the executor
only sees ``ports.RunPlan``. The builder is chosen by dotted path (``--plans module:attribute`` on
``headwater worker``) so deployments and tests can plug their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

import sqlalchemy as sa

from headwater.core.errors import ConfigurationError
from headwater.core.settings import Settings
from headwater.runtime.ports import PlanBuilder, RunContext, RunPlan

PlanBuilderFactory = Callable[[Settings, sa.Engine], PlanBuilder]
DEFAULT_FACTORY = "headwater.runtime.plans:dataflow_plan_builder"


def dataflow_plan_builder(settings: Settings, engine: sa.Engine) -> PlanBuilder:
    """Plans for stored dataflows (source connection → mapping → dataset).

    Resolving a flow's stored source/target connections needs the store's resource repository, the
    connector registry and the lake's run writer; until those are wired in, every run fails with a
    clear terminal error instead of hanging.
    """

    def build(context: RunContext) -> RunPlan:
        raise ConfigurationError(
            f"Run {context.run_id}: this build cannot resolve flow {context.flow_id} into a connector read and "
            "a lake writer yet (the dataflow plan builder is not wired in)."
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


__all__ = ["DEFAULT_FACTORY", "dataflow_plan_builder", "load_plan_builder"]
