"""Validate a flow's scheduleParams and print when its runs happen and which data window each reads.

python examples/schedule_slots.py '{"startTime": "1567411548", "frequency": "minute", "interval": "30"}'
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from headwater.api.error_codes import code_of
from headwater.core.errors import DomainError
from headwater.flows.schedule import due_slot, parse_schedule


def iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def main(argv: list[str]) -> int:
    params = (
        json.loads(argv[0]) if argv else {"startTime": "1567411548", "frequency": "minute", "interval": "30"}
    )
    try:
        schedule = parse_schedule(params)
    except DomainError as exc:
        print(f"FLOW-{code_of(exc)[0]}: {exc.message}")
        return 1
    next_slot = None
    for _ in range(3):
        now = schedule.due_at(schedule.first_slot if next_slot is None else next_slot)
        slot = due_slot(schedule, next_slot, now)
        if slot is None:
            break
        print(
            f"run {slot.index}: due {iso(slot.due_at)}, reads [{iso(slot.window_start)}, {iso(slot.window_end)})"
        )
        next_slot = slot.index + 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
