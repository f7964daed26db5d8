"""Per-flow and per-dataset run options: delete reconciliation, formula refresh, history mode.

Where they are written (documented in docs/run-options.md):

* the flow's ``options`` object (Adobe's free-form flow field)::

      "options": {
        "reconcileDeletes": {"enabled": true, "everyRuns": 24, "intervalMinutes": 1440},
        "formulaRefresh": {"enabled": true, "intervalMinutes": 360}
      }

  ``enabled`` defaults to true for both (a source that cannot list keys or has no formula columns
  simply skips the step); a step is due when it never ran on the dataset, when ``everyRuns`` commits
  passed since it last ran, or when ``intervalMinutes`` passed (either fires); neither given means
  every 1440 minutes (daily).
* the dataset's document: ``"historyMode": "type2"`` keeps every version of every record
  (``"latest"``, the default, keeps the latest state).

``read_run_options`` is the one place that reads them, so moving the reads onto typed store columns
changes only it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from headwater.core.errors import TerminalError

DEFAULT_INTERVAL_MINUTES = 1440.0
HISTORY_MODES = ("latest", "type2")


class RunOptionsError(TerminalError):
    """A flow's ``options`` or a dataset's ``historyMode`` is malformed (retrying cannot fix it)."""


@dataclass(frozen=True)
class Periodic:
    """A step that runs on some runs only: when it never ran, or ``every_runs`` commits or
    ``interval_minutes`` passed since it last did."""

    enabled: bool = True
    every_runs: int | None = None
    interval_minutes: float | None = None

    def due(self, last: str | None, commits_since: int, now: datetime) -> bool:
        if not self.enabled:
            return False
        if last is None:
            return True
        # this run is the (commits_since + 1)-th since the step last ran
        if self.every_runs is not None and commits_since + 1 >= self.every_runs:
            return True
        interval = self.interval_minutes
        if interval is None and self.every_runs is None:
            interval = DEFAULT_INTERVAL_MINUTES
        if interval is None:
            return False
        try:
            previous = datetime.fromisoformat(last)
        except ValueError:
            return True  # an unreadable mark: run the step and write a good one
        return now - previous >= timedelta(minutes=interval)


@dataclass(frozen=True)
class RunOptions:
    reconcile_deletes: Periodic = field(default_factory=Periodic)
    formula_refresh: Periodic = field(default_factory=Periodic)
    history_mode: bool = False


def _periodic(options: Mapping[str, Any], name: str) -> Periodic:
    raw = options.get(name)
    if raw is None:
        return Periodic()
    if isinstance(raw, bool):
        return Periodic(enabled=raw)
    if not isinstance(raw, Mapping):
        raise RunOptionsError(
            f'options.{name} must be an object such as {{"enabled": true, "intervalMinutes": 1440}}'
        )
    unknown = set(raw) - {"enabled", "everyRuns", "intervalMinutes"}
    if unknown:
        raise RunOptionsError(f"options.{name} has unknown fields: {', '.join(sorted(unknown))}")
    enabled = raw.get("enabled", True)
    every = raw.get("everyRuns")
    interval = raw.get("intervalMinutes")
    if not isinstance(enabled, bool):
        raise RunOptionsError(f"options.{name}.enabled must be true or false")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise RunOptionsError(f"options.{name}.everyRuns must be a whole number of runs, at least 1")
    if interval is not None and (
        isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0
    ):
        raise RunOptionsError(f"options.{name}.intervalMinutes must be a positive number of minutes")
    return Periodic(enabled, every, float(interval) if interval is not None else None)


def read_run_options(flow: Mapping[str, Any], dataset: Mapping[str, Any] | None) -> RunOptions:
    """The run options of a flow document and its target dataset's document (None: not stored)."""
    options = flow.get("options")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise RunOptionsError("the flow's options must be an object")
    mode = (dataset or {}).get("historyMode") or "latest"
    if mode not in HISTORY_MODES:
        raise RunOptionsError(f"historyMode must be one of {', '.join(HISTORY_MODES)}, not {mode!r}")
    return RunOptions(
        reconcile_deletes=_periodic(options, "reconcileDeletes"),
        formula_refresh=_periodic(options, "formulaRefresh"),
        history_mode=mode == "type2",
    )


__all__ = ["HISTORY_MODES", "Periodic", "RunOptions", "RunOptionsError", "read_run_options"]
