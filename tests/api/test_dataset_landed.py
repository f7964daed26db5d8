"""``services.datasets.landed`` and ``preview``: what the lake holds for a dataset, nested columns as
dotted paths, read back with DuckDB (the UI's dataset page)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from headwater.catalog import datasets
from headwater.core.scope import Scope
from headwater.lake import Lake
from headwater.lake.nesting import nest_batch

SCOPE = Scope(org_id="org-a", sandbox_name="prod", client_id="client")


def test_landed_and_preview(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    assert datasets.landed(lake, SCOPE, "ds1") == datasets.Landed(0, None, [])
    assert datasets.preview(lake, SCOPE, "ds1", 10) == ([], [])
    flat = pa.RecordBatch.from_pydict(
        {
            "Id": [f"a{i}" for i in range(5)],
            "account.name": [f"Name {i}" for i in range(5)],
            'odd "quoted".value': [i * 1.5 for i in range(5)],
        }
    )
    writer = lake.dataset(SCOPE.org_id, SCOPE.sandbox_name, "ds1").open_writer("run-1")
    writer.write(nest_batch(flat))
    writer.commit()
    landed = datasets.landed(lake, SCOPE, "ds1")
    assert landed.rows == 5 and landed.last_commit is not None
    assert [c.path for c in landed.columns] == ["Id", "account.name", 'odd "quoted".value']
    columns, rows = datasets.preview(lake, SCOPE, "ds1", 3)
    assert columns == ["Id", "account.name", 'odd "quoted".value'] and len(rows) == 3
    assert sorted(datasets.preview(lake, SCOPE, "ds1", 100)[1]) == [
        (f"a{i}", f"Name {i}", i * 1.5) for i in range(5)
    ]
    other = Scope(org_id="org-b", sandbox_name="prod", client_id="client")
    assert datasets.landed(lake, other, "ds1").rows == 0  # another org's lake path
