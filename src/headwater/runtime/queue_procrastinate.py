"""Multi-machine mode: procrastinate (PostgreSQL) delivers run ids to any number of ``headwater worker``s.

procrastinate carries only ``execute_run(run_id)`` jobs; the run row stays the truth. A job that is
delivered twice, or a job for a run someone else already executes, finds nothing to claim and ends.

Every worker also runs the housekeeping loop (any number may run at once, see ``monitor.py``):

* create due runs and defer their jobs (``queueing_lock=run_id``: one waiting job per run);
* requeue runs whose heartbeat is stale (their worker died) and defer them again;
* retry procrastinate's *stalled* jobs (workers that stopped heart-beating to procrastinate), so its
  own bookkeeping never keeps a job ``doing`` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate.exceptions import AlreadyEnqueued

from headwater.runtime.claims import DEFAULT_STALE_AFTER_MS, claimable_run_ids, requeue_stale_runs
from headwater.runtime.executor import Backoff, RunExecutor, heartbeat_interval
from headwater.runtime.monitor import create_due_runs
from headwater.runtime.ports import PlanBuilder
from headwater.runtime.retention import RunRetention

log = logging.getLogger(__name__)

RUNS_QUEUE = "headwater-runs"
TASK_NAME = "headwater.execute_run"


def conninfo_from_url(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (``postgresql+psycopg://`` → ``postgresql://``)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def build_app(database_url: str, *, schema: str | None = None) -> procrastinate.App:
    """A procrastinate app on the metadata database (its tables in ``schema`` when given)."""
    kwargs: dict[str, Any] = {"conninfo": conninfo_from_url(database_url)}
    if schema:
        kwargs["kwargs"] = {"options": f"-csearch_path={schema}"}
    return procrastinate.App(connector=procrastinate.PsycopgConnector(**kwargs))


def apply_queue_schema(app: procrastinate.App) -> bool:
    """Create procrastinate's tables unless they exist; ``True`` when it created them."""
    with app.open():
        exists = app.connector.get_sync_connector().execute_query_one(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )["present"]
        if not exists:
            app.schema_manager.apply_schema()
        return not exists


class ProcrastinateRuntime:
    """A ``headwater worker``: executes run jobs and keeps the schedule moving."""

    def __init__(
        self,
        engine: sa.Engine,
        app: procrastinate.App,
        plan_builder: PlanBuilder,
        *,
        owner: str,
        concurrency: int = 2,
        tick_seconds: float = 5.0,
        stale_after_ms: int = DEFAULT_STALE_AFTER_MS,
        heartbeat_seconds: float = 5.0,
        backoff: Backoff | None = None,
        retention: RunRetention | None = None,
    ) -> None:
        self.engine = engine
        self.app = app
        self.retention = retention or RunRetention()
        self.concurrency = concurrency
        self.tick_seconds = tick_seconds
        self.stale_after_ms = stale_after_ms
        self.executor = RunExecutor(
            engine,
            plan_builder,
            owner,
            heartbeat_seconds=heartbeat_interval(heartbeat_seconds, stale_after_ms),
            backoff=backoff,
        )
        self.task = app.task(name=TASK_NAME, queue=RUNS_QUEUE)(self._execute_job)

    def _execute_job(self, run_id: str) -> None:
        status = self.executor.execute(run_id)
        log.info("run %s: %s", run_id, status or "not claimed (already taken or not due)")

    def _housekeeping_sync(self) -> list[str]:
        create_due_runs(self.engine)
        with self.engine.begin() as conn:
            requeue_stale_runs(conn, stale_after_ms=self.stale_after_ms)
        self.retention.maybe_prune(self.engine)
        with self.engine.connect() as conn:
            return claimable_run_ids(conn, limit=100)

    async def defer(self, run_id: str) -> bool:
        """Queue a job for ``run_id`` unless one is already waiting."""
        try:
            await self.task.configure(queueing_lock=run_id).defer_async(run_id=run_id)
        except AlreadyEnqueued:
            return False
        return True

    async def housekeeping(self) -> None:
        run_ids = await asyncio.to_thread(self._housekeeping_sync)
        for run_id in run_ids:
            await self.defer(run_id)
        stalled = await self.app.job_manager.get_stalled_jobs(
            queue=RUNS_QUEUE, seconds_since_heartbeat=max(30.0, self.stale_after_ms / 1000)
        )
        for job in stalled:
            log.warning("procrastinate job %s stalled; retrying it", job.id)
            await self.app.job_manager.retry_job(job)

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.housekeeping()
            except Exception:  # keep the loop alive through a database hiccup
                log.exception("housekeeping failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.tick_seconds)

    async def run_async(
        self, *, stop: asyncio.Event | None = None, install_signal_handlers: bool = True
    ) -> None:
        """Work until ``stop`` is set (or a signal stops the procrastinate worker)."""
        stop = stop or asyncio.Event()
        async with self.app.open_async():
            housekeeping = asyncio.create_task(self._housekeeping_loop(stop))
            worker = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[RUNS_QUEUE],
                    concurrency=self.concurrency,
                    install_signal_handlers=install_signal_handlers,
                    update_heartbeat_interval=min(10.0, self.stale_after_ms / 3000),
                    stalled_worker_timeout=max(30.0, self.stale_after_ms / 1000),
                    delete_jobs="successful",
                )
            )
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            self.executor.shutting_down.set()  # runs in flight hand themselves back before committing
            worker.cancel()
            await asyncio.gather(worker, housekeeping, stopper, return_exceptions=True)


__all__ = [
    "RUNS_QUEUE",
    "TASK_NAME",
    "ProcrastinateRuntime",
    "apply_queue_schema",
    "build_app",
    "conninfo_from_url",
]
