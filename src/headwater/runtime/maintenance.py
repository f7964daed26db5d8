"""The periodic steps a run does after its incremental read, staged into the same commit:

* **delete reconciliation** -- the source's full key list (Salesforce: Bulk ``SELECT Id``) against the
  dataset's live keys; keys the source lost (purged from the recycle bin, hard-deleted, past
  ``queryAll``'s horizon) are deleted, or closed with ``_deleted`` in a history dataset;
* **formula refresh** -- the primary key plus the formula columns of every record (a column-limited
  read), applied as patches: rows whose formula values changed are updated (a new version in a
  history dataset).

Each step is due by its ``Periodic`` option; when it completes, the commit carries a mark
(``headwater.reconciledAt``, ``headwater.formulasRefreshedAt``) that the next run reads back from the
Delta log, so the schedule lives with the data and needs no store table. A key list cut short by the
API budget deletes nothing and leaves no mark (the next run tries again); its reason is the run's
``stoppedReason``. What each step did and cost (source API calls) goes to the run's metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from headwater.connectors.base import Connector
from headwater.flows.options import RunOptions
from headwater.lake import RunWriter

RECONCILED_AT = "headwater.reconciledAt"
FORMULAS_REFRESHED_AT = "headwater.formulasRefreshedAt"
Report = Callable[[str, Any], None]
Transform = Callable[[pa.RecordBatch], pa.RecordBatch]


@dataclass
class Maintenance:
    connector: Connector
    table: str
    columns: list[str] | None
    options: RunOptions
    patch_transform: Transform

    def __call__(self, writer: object, report: Report, now: datetime | None = None) -> None:
        if not isinstance(writer, RunWriter):
            return  # a writer without the lake's maintenance operations (tests plug such writers)
        moment = now or datetime.now(UTC)
        if writer.dataset.table() is None:
            # a first load: the dataset will be exactly what was just read, formulas included
            writer.mark(RECONCILED_AT, moment.isoformat())
            writer.mark(FORMULAS_REFRESHED_AT, moment.isoformat())
            return
        last, since = writer.dataset.last_mark(RECONCILED_AT)
        if self.options.reconcile_deletes.due(last, since, moment):
            self.reconcile(writer, report, moment)
        last, since = writer.dataset.last_mark(FORMULAS_REFRESHED_AT)
        if self.options.formula_refresh.due(last, since, moment):
            self.refresh_formulas(writer, report, moment)

    def reconcile(self, writer: RunWriter, report: Report, now: datetime) -> None:
        keys = self.connector.source_keys(self.table)
        if keys is None:
            return
        deleted = writer.reconcile(keys, lambda: keys.complete)
        report("reconcileApiCalls", keys.api_calls)
        if deleted is None:
            report(
                "stoppedReason",
                f"Delete reconciliation skipped: {keys.stopped or 'the key list ended early'}",
            )
            return
        report("reconciledDeleteCount", deleted)
        writer.mark(RECONCILED_AT, now.isoformat())

    def refresh_formulas(self, writer: RunWriter, report: Report, now: datetime) -> None:
        formulas = self.connector.formula_columns(self.table, self.columns)
        if not formulas:
            writer.mark(FORMULAS_REFRESHED_AT, now.isoformat())  # nothing to refresh: not due again soon
            return
        stream = self.connector.read_columns(self.table, formulas)
        read = 0
        for item in stream:
            if item.upserts is not None and item.upserts.num_rows:
                read += item.upserts.num_rows
                writer.patch(self.patch_transform(item.upserts))
        report("formulaRefreshApiCalls", stream.api_calls)
        report("formulaRefreshReadCount", read)
        if stream.stopped:
            report("stoppedReason", f"Formula refresh stopped: {stream.stopped}")
            return
        writer.mark(FORMULAS_REFRESHED_AT, now.isoformat())


__all__ = ["FORMULAS_REFRESHED_AT", "RECONCILED_AT", "Maintenance"]
