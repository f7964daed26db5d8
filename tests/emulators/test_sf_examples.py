"""The emulator's runnable example runs and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "salesforce_emulator_quickstart.py"


def test_quickstart_example_runs() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("001") for line in lines[:3])
    assert lines[3] == "first Bulk page: 400 rows; next locator NDAw"
