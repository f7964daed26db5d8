"""History mode (type 2) and an as-of query with ``headwater query``.

Three runs land into a history dataset of a throw-away lake: a first load, a change of one record
plus a delete, a second change. Then ``headwater query`` -- the command a person runs -- reads the
state of the dataset at each moment with the as-of condition::

    WHERE _valid_from <= T AND (_valid_to IS NULL OR _valid_to > T)

Run: ``.venv/bin/python examples/history_as_of.py`` (in a real deployment the dataset is written by a
flow whose dataset has ``"historyMode": "type2"``; see docs/run-options.md).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import pyarrow as pa

from headwater.lake import Lake

ORG, SANDBOX, DATASET = "EXAMPLE@AdobeOrg", "prod", "accounts-history"


def land(lake: Lake, rows: dict[str, list[object]], deletes: list[str] | None = None) -> datetime:
    writer = lake.dataset(ORG, SANDBOX, DATASET).open_writer(history=True)
    writer.write(pa.record_batch(rows))
    if deletes:
        writer.delete(deletes)
    writer.commit()
    time.sleep(0.01)
    return datetime.now(UTC)  # a moment after this run's commit


def as_of(root: str, moment: datetime) -> str:
    sql = (
        f'SELECT Id, Name, Tier FROM "{DATASET}" '
        f"WHERE _valid_from <= TIMESTAMPTZ '{moment.isoformat()}' "
        f"AND (_valid_to IS NULL OR _valid_to > TIMESTAMPTZ '{moment.isoformat()}') ORDER BY Id"
    )
    command = [sys.executable, "-m", "headwater", "query", sql, "--lake-root", root, "--format", "csv"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        lake = Lake(root)
        first = land(
            lake,
            {"Id": ["001A", "001B", "001C"], "Name": ["Acme", "Globex", "Initech"], "Tier": ["Gold"] * 3},
        )
        second = land(lake, {"Id": ["001A"], "Name": ["Acme"], "Tier": ["Platinum"]}, deletes=["001C"])
        third = land(
            lake, {"Id": ["001A", "001B"], "Name": ["Acme Corp", "Globex"], "Tier": ["Platinum", "Gold"]}
        )
        for label, moment in (("after run 1", first), ("after run 2", second), ("after run 3", third)):
            print(f"# {label}")
            print(as_of(root, moment))
        versions = lake.dataset(ORG, SANDBOX, DATASET).to_arrow()
        print(f"# {versions.num_rows} versions kept")


if __name__ == "__main__":
    main()
