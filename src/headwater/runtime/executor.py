"""Execute one run: read through the source from the last committed cursor, map, stage into the lake,
ONE commit, then record success and the new cursor.

Order of effects, and why a crash anywhere is harmless:

1. claim (conditional update) — a duplicate delivery of the same run id stops here;
2. read + map + stage — nothing visible; a crash leaves the table as it was and the run ``inProgress``
   with a heartbeat that stops, so ``requeue_stale_runs`` hands it to another worker;
3. lake commit — the data becomes visible atomically;
4. success + cursor, in one DB transaction.

A crash between 3 and 4 re-runs the read from the *old* cursor: the same rows are upserted again on
their primary key and the same deletes applied again, so the table ends up identical — the write is
idempotent, which is what lets the cursor lag the commit safely (it may never lead it).

Errors are classified by class only: ``TransientError`` → retried with exponential back-off while
attempts remain, then failed; ``SkippableError`` from the mapping → that batch counts as failed
records and the run goes on; anything else → failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from headwater.core.errors import HeadwaterError, SkippableError, TransientError
from headwater.core.timeutil import now_ms
from headwater.runtime.claims import claim_run, complete_run, fail_run, release_run, touch_run
from headwater.runtime.ports import LakeRunWriter, PlanBuilder, RunContext, RunPlan
from headwater.runtime.prefetch import Prefetch
from headwater.store.runtime_tables import flow_runtime, runs

log = logging.getLogger(__name__)


class ClaimLostError(HeadwaterError):
    """This worker no longer holds the run (it was declared dead and the run handed on)."""


class ShutdownError(HeadwaterError):
    """The process is stopping: the run is handed back before its commit, to be executed again."""


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 30.0
    cap_seconds: float = 900.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        computed = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return max(computed, retry_after or 0.0)


# Run error codes (Adobe's shape "<SOURCE>-<n>-<status>"; the numbers are Headwater's own).
READ_FAILED = "CONNECTOR-2001-500"
SOURCE_UNAVAILABLE = "CONNECTOR-2002-503"
MAPPING_FAILED = "MAPPER-3700-400"
COMMIT_FAILED = "INGEST-1200-500"


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, HeadwaterError):
        return exc.message or type(exc).__name__
    # Unknown errors: the type and a bounded text, never the traceback.
    return f"Unexpected {type(exc).__name__}: {str(exc)[:300]}"


class _Progress:
    """Counters shared between the run loop and the heartbeat thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {
            "inputRecordCount": 0,
            "outputRecordCount": 0,
            "failedRecordCount": 0,
            "deletedRecordCount": 0,
            "inputBytes": 0,
            "outputBytes": 0,
        }
        self.phase = "copy"

    def add(self, **counts: int) -> None:
        with self.lock:
            for key, value in counts.items():
                self.data[key] = self.data.get(key, 0) + value

    def activity(self, name: str, **values: Any) -> None:
        with self.lock:
            self.data[name] = {**self.data.get(name, {}), **values, "updatedAtUTC": now_ms()}

    def set(self, key: str, value: Any) -> None:
        with self.lock:
            self.data[key] = value

    def report(self, key: str, value: Any) -> None:
        """A metric from the plan's finishing steps; a second stopped reason joins the first."""
        with self.lock:
            if key == "stoppedReason" and self.data.get(key):
                value = f"{self.data[key]} {value}"
            self.data[key] = value

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                key: dict(value) if isinstance(value, dict) else value for key, value in self.data.items()
            }


class _Heartbeat(threading.Thread):
    """Touches the run row every ``every`` seconds with the progress so far; notices a lost claim."""

    def __init__(self, engine: sa.Engine, run_id: str, owner: str, progress: _Progress, every: float) -> None:
        super().__init__(name=f"heartbeat-{run_id[:8]}", daemon=True)
        self.engine, self.run_id, self.owner, self.progress, self.every = (
            engine,
            run_id,
            owner,
            progress,
            every,
        )
        self.stop = threading.Event()
        self.lost = threading.Event()

    def beat(self) -> None:
        try:
            with self.engine.begin() as conn:
                if not touch_run(conn, self.run_id, self.owner, self.progress.snapshot()):
                    self.lost.set()
        except sa.exc.OperationalError:
            log.warning("heartbeat of run %s failed; retrying", self.run_id)

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.beat()
            if self.lost.is_set():
                return


class RunExecutor:
    """Executes runs for one worker identity (``owner``)."""

    def __init__(
        self,
        engine: sa.Engine,
        plan_builder: PlanBuilder,
        owner: str,
        *,
        heartbeat_seconds: float = 5.0,
        backoff: Backoff | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.engine = engine
        self.plan_builder = plan_builder
        self.owner = owner
        self.heartbeat_seconds = heartbeat_seconds
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.shutting_down = threading.Event()

    def execute(self, run_id: str) -> str | None:
        """Run ``run_id`` if this worker can claim it; return the status it ended in (``None``: not ours)."""
        with self.engine.begin() as conn:
            if not claim_run(conn, run_id, self.owner, now=self.clock()):
                return None
            context = self._context(conn, run_id)
        progress = _Progress()
        heartbeat = _Heartbeat(self.engine, run_id, self.owner, progress, self.heartbeat_seconds)
        heartbeat.start()
        try:
            return self._execute(context, progress, heartbeat)
        finally:
            heartbeat.stop.set()
            heartbeat.join()

    def _context(self, conn: sa.Connection, run_id: str) -> RunContext:
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().one()
        cursor = conn.execute(
            sa.select(flow_runtime.c.cursor).where(flow_runtime.c.flow_id == row["flow_id"])
        ).scalar_one_or_none()
        return RunContext(
            run_id=run_id,
            flow_id=row["flow_id"],
            org_id=row["org_id"],
            sandbox_name=row["sandbox_name"],
            window_start_ms=row["window_start"],
            window_end_ms=row["window_end"],
            attempt=row["attempt"],
            cursor=cursor,
            params=dict(row["params"] or {}),
        )

    def _execute(self, context: RunContext, progress: _Progress, heartbeat: _Heartbeat) -> str | None:
        writer: LakeRunWriter | None = None
        plan: RunPlan | None = None
        code = READ_FAILED
        try:
            plan = self.plan_builder(context)
            cursor_in = context.cursor if context.cursor is not None else plan.initial_cursor
            with self.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.id == context.run_id).values(cursor_in=cursor_in))
            progress.activity("copy", startedAtUTC=now_ms(), status="inProgress")
            source = plan.read(cursor_in)
            writer = plan.open_writer()
            for item in Prefetch(source):
                self._check(context, heartbeat)
                if item.upserts is not None and item.upserts.num_rows:
                    batch = item.upserts
                    progress.add(inputRecordCount=batch.num_rows, inputBytes=batch.nbytes)
                    code = MAPPING_FAILED
                    mapped = self._map(plan.transform, batch, progress)
                    code = COMMIT_FAILED  # staging into the lake
                    if mapped is not None:
                        writer.write(mapped)
                        progress.add(outputRecordCount=mapped.num_rows, outputBytes=mapped.nbytes)
                if len(item.deletes):
                    code = COMMIT_FAILED
                    writer.delete(item.deletes)
                code = READ_FAILED
            if source.stopped:
                progress.set("stoppedReason", source.stopped)
            if plan.finish is not None:
                code = READ_FAILED
                self._check(context, heartbeat)
                plan.finish(writer, progress.report)
            progress.activity("copy", completedAtUTC=now_ms(), status="success")
            code = COMMIT_FAILED
            progress.activity("promotion", startedAtUTC=now_ms(), status="inProgress")
            self._check(context, heartbeat)
            result = writer.commit()
            writer = None
            progress.add(deletedRecordCount=result.rows_deleted)
            if getattr(result, "rows_patched", 0):
                progress.set("formulaRefreshedCount", int(getattr(result, "rows_patched", 0)))
            progress.set("lakeVersion", result.version)
            progress.activity("promotion", completedAtUTC=now_ms(), status="success")
            return self._succeed(context, progress, source.cursor)
        except ClaimLostError:
            log.warning("run %s: claim lost, abandoning without commit", context.run_id)
            return None
        except ShutdownError:
            with self.engine.begin() as conn:
                release_run(conn, context.run_id, self.owner)
            log.info("run %s: handed back at shutdown, before its commit", context.run_id)
            return "scheduled"
        except Exception as exc:
            return self._fail(context, progress, exc, code)
        finally:
            if writer is not None:
                writer.abort()
            if plan is not None:
                plan.close()

    def _check(self, context: RunContext, heartbeat: _Heartbeat) -> None:
        """Between batches and before the commit: stop if the claim was lost or the process is stopping."""
        if heartbeat.lost.is_set():
            raise ClaimLostError(f"run {context.run_id} was handed to another worker")
        if self.shutting_down.is_set():
            raise ShutdownError(f"run {context.run_id} interrupted by shutdown")

    @staticmethod
    def _map(
        transform: Callable[[pa.RecordBatch], pa.RecordBatch], batch: pa.RecordBatch, progress: _Progress
    ) -> pa.RecordBatch | None:
        try:
            return transform(batch)
        except SkippableError:
            progress.add(failedRecordCount=batch.num_rows)
            return None

    def _succeed(self, context: RunContext, progress: _Progress, cursor: Any) -> str | None:
        with self.engine.begin() as conn:
            done = complete_run(conn, context.run_id, self.owner, progress=progress.snapshot(), cursor=cursor)
        return "success" if done else None

    def _fail(self, context: RunContext, progress: _Progress, exc: Exception, code: str) -> str | None:
        phase = "promotion" if code == COMMIT_FAILED else "copy"
        progress.activity(phase, completedAtUTC=now_ms(), status="failed")
        retry_at: int | None = None
        if isinstance(exc, TransientError):
            code = SOURCE_UNAVAILABLE if code == READ_FAILED else code
            with self.engine.connect() as conn:
                max_attempts = conn.execute(
                    sa.select(runs.c.max_attempts).where(runs.c.id == context.run_id)
                ).scalar_one()
            if context.attempt < max_attempts:
                delay = self.backoff.delay(context.attempt, exc.retry_after)
                retry_at = self.clock() + int(delay * 1000)
        else:
            log.error(
                "run %s failed: %s",
                context.run_id,
                _error_message(exc),
                exc_info=not isinstance(exc, HeadwaterError),
            )
        errors = [{"code": code, "message": _error_message(exc)}]
        with self.engine.begin() as conn:
            return fail_run(
                conn,
                context.run_id,
                self.owner,
                errors=errors,
                progress=progress.snapshot(),
                retry_at=retry_at,
            )


def heartbeat_interval(requested_seconds: float, stale_after_ms: int) -> float:
    """The heartbeat period to use: at most a third of the stale timeout, so a live run is never taken over."""
    return min(requested_seconds, stale_after_ms / 3000)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (helper for loops and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


__all__ = [
    "COMMIT_FAILED",
    "MAPPING_FAILED",
    "READ_FAILED",
    "SOURCE_UNAVAILABLE",
    "Backoff",
    "ClaimLostError",
    "RunExecutor",
    "ShutdownError",
    "heartbeat_interval",
    "wait_for",
]
