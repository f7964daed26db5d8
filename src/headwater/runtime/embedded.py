"""The embedded runtime inside ``headwater serve``: a monitor loop and a bounded pool of run executors.

The database is the queue: each tick the loop creates due runs, requeues runs whose worker stopped
heart-beating, and hands claimable run ids to free pool slots; the executor's conditional claim makes
sure one run executes once even if two servers share a database by mistake.

Restart recovery: an owner id is ``embedded:<host>:<pid>:<token>``. At start, runs still
``inProgress`` under an embedded owner of this host whose process is gone are requeued at once (the
previous server was stopped or killed mid-run); anything else is caught by the heartbeat timeout.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa

from headwater.core.settings import Settings
from headwater.runtime.claims import (
    DEFAULT_STALE_AFTER_MS,
    claimable_run_ids,
    in_progress_owners,
    requeue_runs_of_owners,
    requeue_stale_runs,
)
from headwater.runtime.executor import Backoff, RunExecutor, heartbeat_interval
from headwater.runtime.monitor import create_due_runs
from headwater.runtime.ports import PlanBuilder
from headwater.runtime.retention import RunRetention

log = logging.getLogger(__name__)


def owner_id(kind: str) -> str:
    """A worker identity unique to this process: ``<kind>:<host>:<pid>:<token>``."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_local_owners(owners: list[str], me: str) -> list[str]:
    """Owners among ``owners`` that ran on this host in a process that no longer exists (or earlier in ours)."""
    host = socket.gethostname()
    dead = []
    for owner in owners:
        parts = owner.split(":")
        if len(parts) != 4 or parts[1] != host or owner == me or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid() or not _process_alive(pid):
            dead.append(owner)
    return dead


class EmbeddedRuntime:
    """Monitor + bounded worker pool in one process. ``start()`` / ``stop()``; ``tick()`` for one pass."""

    def __init__(
        self,
        engine: sa.Engine,
        plan_builder: PlanBuilder,
        *,
        workers: int = 2,
        tick_seconds: float = 1.0,
        stale_after_ms: int = DEFAULT_STALE_AFTER_MS,
        heartbeat_seconds: float = 5.0,
        backoff: Backoff | None = None,
        retention: RunRetention | None = None,
    ) -> None:
        self.engine = engine
        self.workers = workers
        self.retention = retention or RunRetention()
        self.tick_seconds = tick_seconds
        self.stale_after_ms = stale_after_ms
        self.owner = owner_id("embedded")
        self.executor = RunExecutor(
            engine,
            plan_builder,
            self.owner,
            heartbeat_seconds=heartbeat_interval(heartbeat_seconds, stale_after_ms),
            backoff=backoff,
        )
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="headwater-run")
        self._in_flight: dict[str, Future[str | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def recover(self) -> list[str]:
        """Requeue runs left ``inProgress`` by a previous embedded process on this host."""
        with self.engine.begin() as conn:
            dead = dead_local_owners(in_progress_owners(conn, "embedded:"), self.owner)
            requeued = requeue_runs_of_owners(conn, dead)
        if requeued:
            log.info("requeued %d run(s) interrupted by a restart", len(requeued))
        return requeued

    def tick(self) -> list[str]:
        """One pass: create due runs, requeue stale ones, start claimable runs on free slots."""
        create_due_runs(self.engine)
        with self.engine.begin() as conn:
            requeue_stale_runs(conn, stale_after_ms=self.stale_after_ms)
        self.retention.maybe_prune(self.engine)
        with self._lock:
            self._in_flight = {run_id: f for run_id, f in self._in_flight.items() if not f.done()}
            free = self.workers - len(self._in_flight)
        if free <= 0:
            return []
        with self.engine.connect() as conn:
            candidates = [
                run_id for run_id in claimable_run_ids(conn, limit=free * 2) if run_id not in self._in_flight
            ]
        started = []
        for run_id in candidates[:free]:
            with self._lock:
                self._in_flight[run_id] = self._pool.submit(self._execute, run_id)
            started.append(run_id)
        return started

    def _execute(self, run_id: str) -> str | None:
        try:
            return self.executor.execute(run_id)
        except Exception:  # the pool must survive anything a run does; the run row tells the story
            log.exception("executor crashed on run %s", run_id)
            return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except sa.exc.SQLAlchemyError:
                log.exception("runtime tick failed; retrying")
            self._stop.wait(self.tick_seconds)

    def start(self) -> None:
        if self.workers <= 0:
            log.info("embedded runtime disabled (0 workers)")
            return
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="headwater-monitor", daemon=True)
        self._thread.start()

    def stop(self, *, wait: bool = True) -> None:
        """Stop ticking. With ``wait`` runs in flight finish; without, they are handed back before their
        commit (``scheduled`` again, picked up by the next start) and this returns promptly."""
        self._stop.set()
        if not wait:
            self.executor.shutting_down.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def idle(self) -> bool:
        with self._lock:
            return all(future.done() for future in self._in_flight.values())


def start_embedded_runtime(
    settings: Settings, engine: sa.Engine, plan_builder: PlanBuilder
) -> EmbeddedRuntime:
    """What ``headwater serve`` calls at start-up, on the migrated store (and ``runtime.stop()`` at shutdown)."""
    runtime = EmbeddedRuntime(
        engine,
        plan_builder,
        workers=settings.embedded_workers,
        retention=RunRetention.from_settings(settings),
    )
    runtime.start()
    return runtime


__all__ = ["EmbeddedRuntime", "dead_local_owners", "owner_id", "start_embedded_runtime"]
