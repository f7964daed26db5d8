"""Flows written straight into the store with their scheduling state, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from headwater.flows.runs import register_flow
from headwater.store.testing import bare_flow


def registered_flow(
    conn: sa.Connection | Session,
    *,
    flow_id: str,
    org_id: str,
    sandbox_name: str,
    schedule_params: Mapping[str, Any],
    enabled: bool = True,
) -> None:
    """A bare flow row (``store.testing.bare_flow``) and its scheduling state."""
    bare_flow(conn, flow_id, org_id, sandbox_name, schedule_params=schedule_params)
    register_flow(
        conn,
        flow_id=flow_id,
        org_id=org_id,
        sandbox_name=sandbox_name,
        schedule_params=schedule_params,
        enabled=enabled,
    )


__all__ = ["registered_flow"]
