import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "lake_quickstart.py"


def test_quickstart_example_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert "{'Id': '002', 'Name': 'Globex Corp'}" in out.stdout
    assert "001" not in out.stdout.splitlines()[-1]
