"""The lake's example in examples/ runs and prints the state of each past moment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "history_as_of.py"


def test_history_example_reads_every_past_moment() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=True)
    blocks = result.stdout.strip().split("# ")[1:]
    assert blocks[0].splitlines()[1:] == [
        "Id,Name,Tier",
        "001A,Acme,Gold",
        "001B,Globex,Gold",
        "001C,Initech,Gold",
    ]
    assert blocks[1].splitlines()[1:] == ["Id,Name,Tier", "001A,Acme,Platinum", "001B,Globex,Gold"]
    assert blocks[2].splitlines()[1:] == ["Id,Name,Tier", "001A,Acme Corp,Platinum", "001B,Globex,Gold"]
    assert blocks[3].strip() == "5 versions kept"  # 001A x3, 001B x1 (read again, unchanged), 001C x1
