"""The monitor: find due slots of enabled flows and create their runs, idempotently.

Any number of monitors may run at once (several ``headwater worker`` processes, a server and a worker).
Each slot becomes at most one run, guarded twice:

1. the flow's ``next_slot`` advances by compare-and-set on its ``version`` — of two monitors that read the
   same state, one update matches and the other touches no row and backs off;
2. the run insert carries the slot key ``"<generation>:<slot>"`` under a unique constraint.

Step 1 and the insert share one transaction, so a crash between them leaves neither.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from headwater.core.errors import HeadwaterError
from headwater.core.timeutil import now_ms
from headwater.flows.runs import insert_run
from headwater.flows.schedule import due_slot, parse_schedule
from headwater.store.runtime_tables import affected, flow_runtime

log = logging.getLogger(__name__)


def _create_due_run(engine: sa.Engine, flow: dict[str, Any], now_seconds: float) -> str | None:
    try:
        schedule = parse_schedule(flow["schedule_params"])
    except HeadwaterError:
        log.warning("flow %s has invalid scheduleParams; not scheduling it", flow["flow_id"])
        return None
    slot = due_slot(schedule, flow["next_slot"], now_seconds)
    if slot is None:
        return None
    with engine.begin() as conn:
        advanced = conn.execute(
            flow_runtime.update()
            .where(flow_runtime.c.flow_id == flow["flow_id"], flow_runtime.c.version == flow["version"])
            .values(next_slot=slot.index + 1, version=flow["version"] + 1, updated_at=now_ms())
        )
        if affected(advanced) != 1:
            return None  # another monitor moved this flow on first
        return insert_run(
            conn,
            flow=flow,
            slot_key=f"{flow['generation']}:{slot.index}",
            trigger="scheduled",
            window_start_ms=slot.window_start * 1000,
            window_end_ms=slot.window_end * 1000,
            params={"coalescedSlots": slot.coalesced} if slot.coalesced > 1 else None,
        )


def create_due_runs(engine: sa.Engine, *, now_seconds: float | None = None) -> list[str]:
    """One monitor pass: create the run of every enabled flow that has a due slot; return new run ids."""
    now_seconds = now_ms() / 1000 if now_seconds is None else now_seconds
    with engine.connect() as conn:
        flows = [
            dict(row)
            for row in conn.execute(sa.select(flow_runtime).where(flow_runtime.c.enabled)).mappings()
        ]
    created = []
    for flow in flows:
        run_id = _create_due_run(engine, flow, now_seconds)
        if run_id is not None:
            created.append(run_id)
    return created


__all__ = ["create_due_runs"]
