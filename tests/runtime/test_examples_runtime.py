"""The runtime's example in examples/ runs and says what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "schedule_slots.py"


def test_schedule_example_prints_the_tutorial_schedule() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == "run 0: due 2019-09-02 08:05:48, reads [1970-01-01 00:00:00, 2019-09-02 08:05:48)"
    assert lines[1] == "run 1: due 2019-09-02 08:35:48, reads [2019-09-02 08:05:48, 2019-09-02 08:35:48)"


def test_schedule_example_reports_adobe_errors() -> None:
    bad = '{"startTime": "1567411548", "frequency": "minute", "interval": "5"}'
    result = subprocess.run([sys.executable, str(EXAMPLE), bad], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout.startswith("FLOW-1362-400: Interval cannot be less than 15.")
