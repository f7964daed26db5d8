"""Run history retention: finished runs older than the retention period go, except each flow's newest.

The runtime's loops (embedded and ``headwater worker``) call ``RunRetention.maybe_prune`` on every tick;
it does work at most every ``every_seconds`` and deletes in bounded batches, so no tick is held up for
long however large the history. Several processes may prune at once: deletes of the same rows are
idempotent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from headwater.core.settings import Settings
from headwater.core.timeutil import now_ms
from headwater.flows.runs import prune_runs
from headwater.store.db import refresh_statistics

log = logging.getLogger("headwater.runtime")
DAY_MS = 86_400_000


@dataclass
class RunRetention:
    days: int = 90
    min_runs: int = 100
    every_seconds: float = 600.0
    batch: int = 10_000
    _last: float = field(default=-1e18, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RunRetention:
        return cls(days=settings.run_retention_days, min_runs=settings.run_retention_min_runs)

    def prune(self, engine: sa.Engine, *, now: int | None = None) -> int:
        """Delete everything due now (in batches of ``batch``); returns how many runs went."""
        cutoff = (now_ms() if now is None else now) - self.days * DAY_MS
        total = 0
        while True:
            with engine.begin() as conn:
                deleted = prune_runs(
                    conn, older_than_ms=cutoff, keep_per_flow=self.min_runs, budget=self.batch
                )
            total += deleted
            if deleted < self.batch:
                break
        if total:
            log.info("retention: deleted %d run(s) older than %d days", total, self.days)
        return total

    def maybe_prune(self, engine: sa.Engine) -> int:
        """Prune (and refresh the planner's statistics) at most every ``every_seconds``."""
        if time.monotonic() - self._last < self.every_seconds:
            return 0
        self._last = time.monotonic()
        deleted = self.prune(engine)
        refresh_statistics(engine)
        return deleted


__all__ = ["RunRetention"]
