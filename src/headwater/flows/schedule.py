"""Schedule math for dataflows: validate ``scheduleParams`` and compute the due slots.

Pure functions of their arguments (``now`` is always passed in), so every rule is testable.

Reading of Adobe's contract (§5.6, §7.8, ERR-SRC 13xx):

* ``startTime`` is epoch **seconds** (string or number); ``frequency`` is ``once|minute|hour|day|week``;
  ``interval`` is forbidden with ``once`` and required otherwise (>= 15 for ``minute``, >= 1 for the
  others, as the CRMToAEP flowSpec's JSON Schema enforces); ``backfill`` (default true) is forbidden
  with ``once``.
* Slot ``i`` of a periodic schedule is due at ``startTime + i * period``. Its run reads the window
  ``[due(i-1), due(i))``. Slot 0's window starts at the beginning of time when ``backfill`` is true
  (the first run ingests everything that exists); with ``backfill`` false slot 0 is skipped and the
  first run (slot 1) covers ``[startTime, startTime + period)`` — only data from the start time on.
* A ``once`` schedule has exactly one slot, due at ``startTime``, window ``[0, startTime)``.
* Catch-up after downtime (Adobe documents none — its scheduler does not go down): the slots missed
  while Headwater was stopped are *coalesced* into one run for the latest due slot, whose window
  starts where the last created run's window ended. Windows stay contiguous, no data range is
  skipped (reads are incremental on the cursor anyway), and a week of downtime on a 15-minute flow
  does not flood the queue with 672 runs. The slot index is the run's idempotency key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from headwater.core.errors import Invalid

#: How far in the past a new flow's ``startTime`` may lie: clients send ``int(time.time())`` and the
#: request takes a moment to arrive. Anything older is error 1360.
START_TIME_GRACE_SECONDS = 600
MIN_INTERVAL = {"minute": 15}
DEFAULT_MIN_INTERVAL = 1


class Frequency(StrEnum):
    ONCE = "once"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


PERIOD_SECONDS = {
    Frequency.MINUTE: 60,
    Frequency.HOUR: 3_600,
    Frequency.DAY: 86_400,
    Frequency.WEEK: 604_800,
}


@dataclass(frozen=True)
class Schedule:
    start_time: int  # epoch seconds
    frequency: Frequency
    interval: int | None = None
    backfill: bool = True

    @property
    def period(self) -> int | None:
        """Seconds between two slots; ``None`` for ``once``."""
        if self.frequency is Frequency.ONCE or self.interval is None:
            return None
        return PERIOD_SECONDS[self.frequency] * self.interval

    @property
    def first_slot(self) -> int:
        return 0 if self.frequency is Frequency.ONCE or self.backfill else 1

    def due_at(self, slot: int) -> int:
        """Epoch seconds at which ``slot`` becomes due."""
        period = self.period
        return self.start_time if period is None else self.start_time + slot * period


@dataclass(frozen=True)
class Slot:
    """One scheduled run: its key (slot index), when it was due, and the data window it reads."""

    index: int
    due_at: int  # epoch seconds
    window_start: int  # epoch seconds, inclusive
    window_end: int  # epoch seconds, exclusive
    coalesced: int = 1  # how many schedule slots this run covers (> 1 after downtime)


# --- validation ---------------------------------------------------------------------------------------


def _bad_request(reason: str, message: str) -> Invalid:
    return Invalid(reason, message)


def _missing(param: str) -> Invalid:
    return _bad_request(
        "schedule.param_missing",
        f"The param {param} is missing in the request. Please provide a valid {param} and try again.",
    )


def _parse_start_time(value: Any) -> int:
    if isinstance(value, bool):
        raise _bad_request(
            "schedule.time_format",
            f"An error occurred while parsing {value}. Please check the time format provided in the request and try again.",
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise _bad_request(
            "schedule.time_format",
            f"An error occurred while parsing {value}. Please check the time format provided in the request and try again.",
        )
    return int(number)


def _parse_frequency(value: Any) -> Frequency:
    try:
        return Frequency(str(value).lower()) if isinstance(value, str) else Frequency(value)
    except ValueError:
        raise _bad_request(
            "schedule.frequency_invalid",
            f"The provided frequency : {value} is invalid. Please provide a valid frequency and try again.",
        ) from None


def _parse_interval(value: Any, frequency: Frequency) -> int:
    not_allowed = _bad_request(
        "schedule.interval_not_allowed",
        f"Interval {value} is not allowed with frequency: {frequency.value}. Please provide a valid interval value and try again.",
    )
    if isinstance(value, bool):
        raise not_allowed
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise not_allowed from None
    if not math.isfinite(number) or number != int(number):
        raise not_allowed
    minimum = MIN_INTERVAL.get(frequency.value, DEFAULT_MIN_INTERVAL)
    if number < minimum:
        raise _bad_request(
            "schedule.interval_too_small",
            f"Interval cannot be less than {minimum}. Please provide a valid interval value and try again.",
        )
    return int(number)


def _parse_backfill(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad_request(
        "schedule.backfill_invalid",
        f"The provided param value {value} is not a valid input for property=backfill. Please provide a valid param value and try again.",
    )


def parse_schedule(params: Mapping[str, Any] | None, *, now: float | None = None) -> Schedule:
    """Validate ``scheduleParams`` and return the typed schedule; raise ``Invalid`` (the API answers Adobe's 13xx codes).

    ``now`` (epoch seconds) enables the "start time in the past" check (1360), which applies when a
    flow is created or its start time changed, not when a stored flow is read back.
    """
    if not params:
        raise _bad_request(
            "schedule.params_empty",
            "The provided schedule params are empty but should not be empty. Please provide valid schedule params and try again.",
        )
    if not isinstance(params, Mapping):
        raise _bad_request(
            "schedule.params_empty",
            "The provided schedule params are invalid. Please provide valid schedule params and try again.",
        )
    if params.get("startTime") in (None, ""):
        raise _missing("startTime")
    if params.get("frequency") in (None, ""):
        raise _missing("frequency")
    start = _parse_start_time(params["startTime"])
    frequency = _parse_frequency(params["frequency"])
    if now is not None and start < now - START_TIME_GRACE_SECONDS:
        raise _bad_request(
            "schedule.start_time_past",
            "The start time cannot be set in the past. Please provide a valid start time and try again.",
        )
    has_interval = params.get("interval") not in (None, "")
    if frequency is Frequency.ONCE:
        if has_interval:
            raise _bad_request(
                "schedule.interval_with_once",
                "Interval is not allowed with one time ingestion. Please remove interval or change frequency and then try again.",
            )
        if "backfill" in params and params["backfill"] is not None:
            raise _bad_request(
                "schedule.backfill_with_once",
                "The backfill flag is not allowed when frequency is set to one. Please remove the backfill flag when frequency is set to once and try again.",
            )
        return Schedule(start, frequency)
    if not has_interval:
        raise _missing("interval")
    interval = _parse_interval(params["interval"], frequency)
    backfill = _parse_backfill(params["backfill"]) if params.get("backfill") is not None else True
    return Schedule(start, frequency, interval, backfill)


def validate_schedule_update(
    old_params: Mapping[str, Any], new_params: Mapping[str, Any] | None, *, now: float
) -> Schedule:
    """Validate a PATCH of ``scheduleParams``: before the old start time anything valid goes (a new start
    time must not be in the past); once it has passed, the start time (1366), a switch to ``once``
    (ERR-SRC 1403) and ``backfill`` (ERR-SRC 1404) are frozen."""
    old = parse_schedule(old_params)
    if now < old.start_time:
        return parse_schedule(new_params, now=now)
    new = parse_schedule(new_params)
    if new.start_time != old.start_time:
        raise _bad_request(
            "schedule.start_time_frozen",
            "The start time has passed and the update operation is no longer allowed.",
        )
    if new.frequency is Frequency.ONCE and old.frequency is not Frequency.ONCE:
        raise _bad_request(
            "schedule.once_frozen",
            "The start time has passed and you can no longer change the frequency to once.",
        )
    if new.backfill != old.backfill:
        raise _bad_request(
            "schedule.backfill_frozen", "The start time has passed and you can no longer update backfill."
        )
    return new


# --- flow-level rules that depend on the schedule ------------------------------------------------------


def validate_connection_ids(id_type: str, ids: Any) -> str:
    """The single id of ``sourceConnectionIds`` / ``targetConnectionIds`` (1320 empty, 1321 not one)."""
    if not ids or not isinstance(ids, list):
        raise _bad_request(
            "flow.connection_ids_empty",
            f"The {id_type} cannot be null or empty. Please provide valid {id_type} and try again.",
        )
    if len(ids) != 1:
        raise _bad_request(
            "flow.connection_ids_not_one",
            f"The length of {id_type} should be one, supplied size is {len(ids)}. Please provide valid size and try again.",
        )
    if not isinstance(ids[0], str) or not ids[0]:
        raise _bad_request(
            "flow.connection_ids_empty",
            f"The {id_type} cannot be null or empty. Please provide valid {id_type} and try again.",
        )
    return ids[0]


def validate_copy_transformation(
    transformations: Any, schedule: Schedule, *, is_crm: bool = True
) -> dict[str, Any] | None:
    """Check the ``Copy`` transformation against the schedule; return its ``deltaColumn`` (or ``None``).

    CRM sources need ``deltaColumn`` (1367) except for ``once`` flows, where it is refused (1369);
    the legacy ``mode`` param is refused (1368).
    """
    copy_params: dict[str, Any] = {}
    for item in transformations or []:
        if isinstance(item, Mapping) and str(item.get("name", "")).lower() == "copy":
            copy_params = dict(item.get("params") or {})
    if "mode" in copy_params:
        raise _bad_request(
            "flow.copy_mode", "Mode is not allowed in flow request. Please check your request and try again."
        )
    delta = copy_params.get("deltaColumn")
    if schedule.frequency is Frequency.ONCE:
        if delta:
            raise _bad_request(
                "flow.delta_with_once",
                "The delta column in copy transform is not allowed when frequency is set to once. Please remove the delta column and try again.",
            )
        return None
    if is_crm and not (isinstance(delta, Mapping) and delta.get("name")):
        raise _bad_request(
            "flow.delta_missing",
            "The delta column is required in copy transformation when creating a CRM connector. Please provide delta column and try again.",
        )
    return dict(delta) if isinstance(delta, Mapping) else None


# --- due slots ------------------------------------------------------------------------------------------


def window_start_of(schedule: Schedule, slot: int) -> int:
    """Where the window of ``slot`` begins (see the module docstring)."""
    if schedule.frequency is Frequency.ONCE or (slot == 0 and schedule.backfill):
        return 0
    return schedule.due_at(slot - 1)


def latest_due_slot(schedule: Schedule, now: float) -> int | None:
    """Index of the newest slot due at ``now``, or ``None`` before the first one."""
    first = schedule.first_slot
    if now < schedule.due_at(first):
        return None
    period = schedule.period
    if period is None:
        return 0
    return max(first, int((now - schedule.start_time) // period))


def next_due_slot(schedule: Schedule, next_slot: int | None) -> int | None:
    """The first slot not yet created, ``None`` when the schedule is exhausted (a ``once`` that ran)."""
    candidate = schedule.first_slot if next_slot is None else max(next_slot, schedule.first_slot)
    if schedule.frequency is Frequency.ONCE and candidate > 0:
        return None
    return candidate


def due_slot(schedule: Schedule, next_slot: int | None, now: float) -> Slot | None:
    """The run to create now, given the first slot not yet created (``None`` = nothing created yet).

    Returns ``None`` when nothing is due. Missed slots are coalesced into one (see module docstring);
    the caller stores ``slot.index + 1`` as the new ``next_slot``.
    """
    pending = next_due_slot(schedule, next_slot)
    latest = latest_due_slot(schedule, now)
    if pending is None or latest is None or latest < pending:
        return None
    return Slot(
        index=latest,
        due_at=schedule.due_at(latest),
        window_start=window_start_of(schedule, pending),
        window_end=schedule.due_at(latest),
        coalesced=latest - pending + 1,
    )


def next_wakeup(schedule: Schedule, next_slot: int | None) -> int | None:
    """Epoch seconds at which the next slot becomes due (for sleeping monitors and the UI)."""
    pending = next_due_slot(schedule, next_slot)
    return None if pending is None else schedule.due_at(pending)


__all__ = [
    "START_TIME_GRACE_SECONDS",
    "Frequency",
    "Schedule",
    "Slot",
    "due_slot",
    "latest_due_slot",
    "next_due_slot",
    "next_wakeup",
    "parse_schedule",
    "validate_connection_ids",
    "validate_copy_transformation",
    "validate_schedule_update",
    "window_start_of",
]
