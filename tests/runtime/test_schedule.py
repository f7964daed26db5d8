"""Schedule validation (Adobe's error codes) and slot math, including catch-up after downtime."""

from __future__ import annotations

import pytest

from headwater.api.error_codes import code_of as adobe_code
from headwater.core.errors import DomainError
from headwater.flows.schedule import (
    Frequency,
    Schedule,
    due_slot,
    latest_due_slot,
    next_wakeup,
    parse_schedule,
    validate_connection_ids,
    validate_copy_transformation,
)

NOW = 1_700_000_000


def code_of(params: object, now: float | None = None) -> str:
    with pytest.raises(DomainError) as info:
        parse_schedule(params, now=now)  # type: ignore[arg-type]
    return adobe_code(info.value)[0]


# --- the tutorial's verbatim examples --------------------------------------------------------------------


def test_tutorial_schedule_with_strings_parses() -> None:
    schedule = parse_schedule({"startTime": "1567411548", "frequency": "minute", "interval": "30"})
    assert schedule == Schedule(1567411548, Frequency.MINUTE, 30, True)
    assert schedule.period == 1800


def test_stored_flow_schedule_with_string_backfill_parses() -> None:
    schedule = parse_schedule(
        {"startTime": "1612310466", "frequency": "week", "interval": "15", "backfill": "true"}
    )
    assert schedule.backfill is True and schedule.period == 15 * 604_800


def test_numbers_and_booleans_are_accepted_too() -> None:
    schedule = parse_schedule(
        {"startTime": 1612310466, "frequency": "hour", "interval": 2, "backfill": False}
    )
    assert schedule == Schedule(1612310466, Frequency.HOUR, 2, False)


def test_once_needs_no_interval() -> None:
    assert parse_schedule({"startTime": "1612310466", "frequency": "once"}).period is None


# --- every documented validation error ------------------------------------------------------------------


@pytest.mark.parametrize("params", [None, {}])
def test_empty_schedule_params_is_1317(params: object) -> None:
    assert code_of(params) == "1317-400"


def test_start_time_in_the_past_is_1360() -> None:
    assert code_of({"startTime": NOW - 3600, "frequency": "once"}, now=NOW) == "1360-400"
    assert parse_schedule({"startTime": NOW - 5, "frequency": "once"}, now=NOW).start_time == NOW - 5


def test_interval_with_once_is_1361() -> None:
    assert code_of({"startTime": NOW, "frequency": "once", "interval": "15"}) == "1361-400"


@pytest.mark.parametrize(
    ("frequency", "interval", "minimum"),
    [("minute", "14", 15), ("minute", 1, 15), ("hour", 0, 1), ("day", "-3", 1)],
)
def test_interval_below_minimum_is_1362(frequency: str, interval: object, minimum: int) -> None:
    with pytest.raises(DomainError) as info:
        parse_schedule({"startTime": NOW, "frequency": frequency, "interval": interval})
    assert adobe_code(info.value)[0] == "1362-400"
    assert info.value.message.startswith(f"Interval cannot be less than {minimum}.")


@pytest.mark.parametrize("interval", ["abc", 1.5, True, [15]])
def test_interval_not_an_integer_is_1363(interval: object) -> None:
    assert code_of({"startTime": NOW, "frequency": "hour", "interval": interval}) == "1363-400"


@pytest.mark.parametrize("backfill", [True, "false"])
def test_backfill_with_once_is_1364(backfill: object) -> None:
    assert code_of({"startTime": NOW, "frequency": "once", "backfill": backfill}) == "1364-400"


@pytest.mark.parametrize("frequency", ["month", "yearly", 5, "sometimes"])
def test_unknown_frequency_is_1397(frequency: object) -> None:
    with pytest.raises(DomainError) as info:
        parse_schedule({"startTime": NOW, "frequency": frequency, "interval": 15})
    assert adobe_code(info.value)[0] == "1397-400"
    assert f"The provided frequency : {frequency} is invalid." in info.value.message


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"frequency": "hour", "interval": 1}, "1359-400"),
        ({"startTime": NOW, "interval": 1}, "1359-400"),
        ({"startTime": NOW, "frequency": "hour"}, "1359-400"),
        ({"startTime": "yesterday", "frequency": "once"}, "1340-400"),
        ({"startTime": -1, "frequency": "once"}, "1340-400"),
        ({"startTime": NOW, "frequency": "hour", "interval": 1, "backfill": "maybe"}, "1312-400"),
    ],
)
def test_missing_and_malformed_params(params: dict[str, object], code: str) -> None:
    assert code_of(params) == code


def test_uppercase_frequency_is_accepted() -> None:
    assert parse_schedule({"startTime": NOW, "frequency": "HOUR", "interval": 1}).frequency is Frequency.HOUR


def test_connection_ids_must_be_exactly_one() -> None:
    assert validate_connection_ids("sourceConnectionIds", ["a"]) == "a"
    with pytest.raises(DomainError) as info:
        validate_connection_ids("sourceConnectionIds", ["a", "b"])
    assert adobe_code(info.value)[0] == "1321-400"
    assert "The length of sourceConnectionIds should be one, supplied size is 2." in info.value.message
    with pytest.raises(DomainError) as info:
        validate_connection_ids("targetConnectionIds", [])
    assert adobe_code(info.value)[0] == "1320-400"


def test_copy_transformation_rules() -> None:
    hourly = parse_schedule({"startTime": NOW, "frequency": "hour", "interval": 1})
    once = parse_schedule({"startTime": NOW, "frequency": "once"})
    copy = [
        {
            "name": "Copy",
            "params": {
                "deltaColumn": {"name": "SystemModstamp", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
            },
        }
    ]
    assert validate_copy_transformation(copy, hourly) == copy[0]["params"]["deltaColumn"]  # type: ignore[index]
    assert validate_copy_transformation([], once) is None
    cases = [
        ([], hourly, "1367-400"),
        ([{"name": "Copy", "params": {}}], hourly, "1367-400"),
        (copy, once, "1369-400"),
        ([{"name": "Copy", "params": {"mode": "append"}}], hourly, "1368-400"),
    ]
    for transformations, schedule, code in cases:
        with pytest.raises(DomainError) as info:
            validate_copy_transformation(transformations, schedule)
        assert adobe_code(info.value)[0] == code


# --- slot math --------------------------------------------------------------------------------------------

HOURLY = Schedule(NOW, Frequency.HOUR, 1, True)


def test_nothing_is_due_before_the_start_time() -> None:
    assert due_slot(HOURLY, None, NOW - 1) is None
    assert latest_due_slot(HOURLY, NOW - 1) is None
    assert next_wakeup(HOURLY, None) == NOW


def test_first_slot_with_backfill_reads_everything_up_to_start() -> None:
    slot = due_slot(HOURLY, None, NOW)
    assert slot is not None
    assert (slot.index, slot.due_at, slot.window_start, slot.window_end, slot.coalesced) == (
        0,
        NOW,
        0,
        NOW,
        1,
    )


def test_without_backfill_the_first_run_starts_at_start_time() -> None:
    schedule = Schedule(NOW, Frequency.HOUR, 1, False)
    assert due_slot(schedule, None, NOW + 10) is None
    assert next_wakeup(schedule, None) == NOW + 3600
    slot = due_slot(schedule, None, NOW + 3600)
    assert slot is not None and (slot.index, slot.window_start, slot.window_end) == (1, NOW, NOW + 3600)


def test_consecutive_slots_have_contiguous_windows() -> None:
    next_slot: int | None = None
    windows = []
    for step in range(5):
        slot = due_slot(HOURLY, next_slot, NOW + step * 3600 + 7)
        assert slot is not None and slot.coalesced == 1
        windows.append((slot.window_start, slot.window_end))
        next_slot = slot.index + 1
        assert due_slot(HOURLY, next_slot, NOW + step * 3600 + 8) is None  # never twice for one slot
    assert all(windows[i][1] == windows[i + 1][0] for i in range(4))


def test_catch_up_after_downtime_coalesces_missed_slots_into_one_run() -> None:
    # slots 0..2 ran, then the service was down for ten hours
    slot = due_slot(HOURLY, 3, NOW + 12 * 3600 + 60)
    assert slot is not None
    assert slot.index == 12 and slot.coalesced == 10
    assert slot.window_start == NOW + 2 * 3600  # where slot 2's window ended
    assert slot.window_end == NOW + 12 * 3600
    assert due_slot(HOURLY, 13, NOW + 12 * 3600 + 61) is None


def test_once_has_exactly_one_slot() -> None:
    once = Schedule(NOW, Frequency.ONCE)
    slot = due_slot(once, None, NOW + 10 * 86_400)
    assert slot is not None and (slot.index, slot.window_start, slot.window_end) == (0, 0, NOW)
    assert due_slot(once, 1, NOW + 20 * 86_400) is None
    assert next_wakeup(once, 1) is None


def test_minute_and_week_periods() -> None:
    assert Schedule(NOW, Frequency.MINUTE, 15).period == 900
    assert Schedule(NOW, Frequency.WEEK, 2).period == 1_209_600
    assert Schedule(NOW, Frequency.DAY, 1).due_at(3) == NOW + 3 * 86_400


def test_schedule_updates_before_and_after_the_start_time() -> None:
    from headwater.flows.schedule import validate_schedule_update

    old = {"startTime": str(NOW), "frequency": "hour", "interval": "1"}
    # before the start: anything valid, but not a start in the past
    assert (
        validate_schedule_update(old, {**old, "startTime": str(NOW + 60)}, now=NOW - 100).start_time
        == NOW + 60
    )
    with pytest.raises(DomainError) as info:
        validate_schedule_update(old, {**old, "startTime": str(NOW - 7200)}, now=NOW - 100)
    assert adobe_code(info.value)[0] == "1360-400"
    # after the start: frequency and interval may change; start time, once and backfill may not
    assert validate_schedule_update(old, {**old, "frequency": "day"}, now=NOW + 1).frequency is Frequency.DAY
    cases = [
        ({**old, "startTime": str(NOW + 3600)}, "1366-400"),
        ({"startTime": str(NOW), "frequency": "once"}, "1403-400"),
        ({**old, "backfill": "false"}, "1404-400"),
        ({**old, "interval": "0"}, "1362-400"),
    ]
    for new, code in cases:
        with pytest.raises(DomainError) as info:
            validate_schedule_update(old, new, now=NOW + 1)
        assert adobe_code(info.value)[0] == code
