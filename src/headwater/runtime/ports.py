"""What the executor needs from a source, a mapping and the lake — the seams the app plugs parts into.

The executor is written against these small protocols, not against a concrete connector or writer:
``headwater.connectors.base`` connectors and the ``headwater.lake`` run writer are adapted to them by
the plan builder the application passes in (``plans.py``), and tests plug in real in-memory parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from headwater.connectors.base import ReadBatch


class SourceRead(Protocol):
    """One incremental read, as ``connectors.base.ReadStream`` offers it: iterate it for ``ReadBatch``es
    (Arrow upserts and/or deleted primary keys); once exhausted, ``cursor`` is the cursor to store and
    ``stopped`` says why the read ended early (e.g. the API budget), or is ``None``."""

    def __iter__(self) -> Iterator[ReadBatch]: ...

    @property
    def cursor(self) -> Any: ...

    @property
    def stopped(self) -> str | None: ...


class CommitInfo(Protocol):
    """What the executor reads of a commit (``headwater.lake.CommitResult`` has more)."""

    @property
    def rows_deleted(self) -> int: ...

    @property
    def version(self) -> int | None: ...


@dataclass(frozen=True)
class CommitResult:
    rows_written: int
    rows_deleted: int = 0
    version: int | None = None  # the table version the commit created


class LakeRunWriter(Protocol):
    """Stages a run's batches and makes them visible in ONE atomic commit (upsert on the primary key,
    deletes applied), as ``headwater.lake.RunWriter`` does. Nothing is visible before ``commit``;
    ``abort`` drops the staged data."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def delete(self, keys: pa.Array) -> None: ...

    def commit(self, primary_key: str = "Id") -> CommitInfo: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class RunContext:
    """What a plan builder gets to know about the run it prepares."""

    run_id: str
    flow_id: str
    org_id: str
    sandbox_name: str
    window_start_ms: int
    window_end_ms: int
    attempt: int
    cursor: Any  # cursor of the last successful run; None on the first run
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RunPlan:
    """The parts of one run: how to read from a cursor, how to map a batch, where to write."""

    read: Callable[[Any], SourceRead]
    open_writer: Callable[[], LakeRunWriter]
    transform: Callable[[pa.RecordBatch], pa.RecordBatch] = lambda batch: batch
    #: Releases what the plan opened (the connector's HTTP client); called once the run ends, always.
    close: Callable[[], None] = lambda: None
    #: The cursor of the very first run (e.g. the flow's startTime when backfill is off); None = everything.
    initial_cursor: Any = None
    #: After the read, before the commit: more work staged into the same commit (delete reconciliation,
    #: formula refresh). Called with the run's writer and ``report(metric, value)`` for the run's metrics.
    finish: Callable[[LakeRunWriter, Callable[[str, Any], None]], None] | None = None


PlanBuilder = Callable[[RunContext], RunPlan]


__all__ = [
    "CommitInfo",
    "CommitResult",
    "LakeRunWriter",
    "PlanBuilder",
    "RunContext",
    "RunPlan",
    "SourceRead",
]
