"""History mode (type 2), hard-delete reconciliation and column patches, on real Delta tables on disk."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from headwater.core.errors import TerminalError
from headwater.lake import Lake
from headwater.lake.history import HISTORY_COLUMNS
from headwater.lake.query import register_views

ORG, SANDBOX = "ACME123@AdobeOrg", "prod"


def land(
    lake: Lake,
    *batches: pa.RecordBatch,
    deletes: list[str] | None = None,
    history: bool = True,
    source_keys: list[str] | None = None,
    patches: list[pa.RecordBatch] | None = None,
) -> Any:
    writer = lake.dataset(ORG, SANDBOX, "ds").open_writer(history=history)
    for batch in batches:
        writer.write(batch)
    if deletes:
        writer.delete(deletes)
    reconciled = None
    if source_keys is not None:
        reconciled = writer.reconcile([pa.array(source_keys[:2]), pa.array(source_keys[2:])])
    for patch in patches or []:
        writer.patch(patch)
    result = writer.commit()
    time.sleep(0.002)  # distinct commit instants
    return result, reconciled


def versions(lake: Lake) -> list[dict[str, Any]]:
    rows = lake.dataset(ORG, SANDBOX, "ds").to_arrow().to_pylist()
    return sorted(rows, key=lambda r: (r["Id"], r["_valid_from"]))


def as_of(lake: Lake, moment: datetime) -> dict[str, Any]:
    """The documented as-of query, run by DuckDB over the Delta table."""
    con = duckdb.connect()
    register_views(con, {"ds": lake.dataset(ORG, SANDBOX, "ds").uri})  # what `headwater query` reads
    rows = con.execute(
        "SELECT Id, v FROM ds WHERE _valid_from <= ? AND (_valid_to IS NULL OR _valid_to > ?) ORDER BY Id",
        [moment, moment],
    ).fetchall()
    return dict(rows)


def test_history_keeps_every_version_and_answers_as_of(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    first, _ = land(lake, pa.record_batch({"Id": ["1", "2", "3"], "v": [10, 20, 30]}))
    assert first.rows_inserted == 3 and first.version == 0
    after_first = datetime.now(UTC)
    second, _ = land(lake, pa.record_batch({"Id": ["2", "4"], "v": [21, 40]}), deletes=["3"])
    assert (second.rows_inserted, second.rows_updated, second.rows_deleted) == (1, 1, 1)
    after_second = datetime.now(UTC)
    third, _ = land(lake, pa.record_batch({"Id": ["1", "2"], "v": [10, 22]}))  # "1" unchanged: no version
    assert (third.rows_inserted, third.rows_updated) == (0, 1)

    rows = versions(lake)
    assert [(r["Id"], r["v"], r["_is_current"], r["_deleted"]) for r in rows] == [
        ("1", 10, True, False),
        ("2", 20, False, False),
        ("2", 21, False, False),
        ("2", 22, True, False),
        ("3", 30, False, True),
        ("4", 40, True, False),
    ]
    two = [r for r in rows if r["Id"] == "2"]
    assert two[0]["_valid_to"] == two[1]["_valid_from"] and two[1]["_valid_to"] == two[2]["_valid_from"]
    assert two[2]["_valid_to"] is None
    assert as_of(lake, after_first) == {"1": 10, "2": 20, "3": 30}
    assert as_of(lake, after_second) == {"1": 10, "2": 21, "4": 40}
    assert as_of(lake, datetime.now(UTC)) == {"1": 10, "2": 22, "4": 40}
    assert as_of(lake, datetime(2000, 1, 1, tzinfo=UTC)) == {}


def test_history_run_landed_twice_adds_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1", "2"], "v": [1, 2]}))
    batch = pa.record_batch({"Id": ["1", "2"], "v": [1, 5]})
    land(lake, batch, deletes=["9"])
    before = versions(lake)
    again, _ = land(lake, batch, deletes=["9"])
    assert again.rows_written == 0 and again.version is None
    assert versions(lake) == before


def test_history_run_of_deletes_only(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1", "2"], "v": [1, 2]}))
    result, _ = land(lake, deletes=["2", "missing"])
    assert result.rows_deleted == 1 and result.rows_written == 0
    assert [(r["Id"], r["_is_current"], r["_deleted"]) for r in versions(lake)] == [
        ("1", True, False),
        ("2", False, True),
    ]


def test_history_refuses_new_columns_and_plain_writers(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1"], "v": [1]}))
    with pytest.raises(TerminalError, match="keeps its columns"):
        land(lake, pa.record_batch({"Id": ["1"], "v": [1], "w": ["x"]}))
    with pytest.raises(TerminalError, match="keeps history"):
        land(lake, pa.record_batch({"Id": ["1"], "v": [2]}), history=False)


@pytest.mark.parametrize("history", [False, True])
def test_reconcile_deletes_keys_the_source_lost(tmp_path: Path, history: bool) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1", "2", "3", "4", "5"], "v": [1, 2, 3, 4, 5]}), history=history)
    result, reconciled = land(
        lake, pa.record_batch({"Id": ["6"], "v": [6]}), history=history, source_keys=["1", "3", "5", "6", "7"]
    )
    assert reconciled == 2 and result.rows_deleted == 2 and result.rows_inserted == 1
    rows = lake.dataset(ORG, SANDBOX, "ds").to_arrow().to_pylist()
    if history:
        live = {r["Id"] for r in rows if r["_is_current"]}
        assert {r["Id"] for r in rows if r["_deleted"]} == {"2", "4"}
    else:
        live = {r["Id"] for r in rows}
    assert live == {"1", "3", "5", "6"}
    _, again = land(lake, history=history, source_keys=["1", "3", "5", "6"])
    assert again == 0  # closed versions are not live: nothing to reconcile twice


def test_reconcile_with_an_incomplete_key_list_deletes_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1", "2"], "v": [1, 2]}), history=False)
    writer = lake.dataset(ORG, SANDBOX, "ds").open_writer()
    assert writer.reconcile([pa.array(["1"])], complete=lambda: False) is None
    result = writer.commit()
    assert result.version is None
    assert {r["Id"] for r in lake.dataset(ORG, SANDBOX, "ds").to_arrow().to_pylist()} == {"1", "2"}


@pytest.mark.parametrize("history", [False, True])
def test_patches_update_changed_rows_only(tmp_path: Path, history: bool) -> None:
    lake = Lake(tmp_path)
    struct = pa.array([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "z"}])
    land(lake, pa.record_batch({"Id": ["1", "2", "3"], "v": [1, 2, 3], "s": struct}), history=history)
    patch = pa.record_batch(
        {
            "Id": ["1", "2", "3", "404"],
            "v": [1, 20, 30, 4],
            "s": pa.array([{"a": 1}, {"a": 2}, {"a": 33}, {"a": 4}]),
        }
    )
    # "3" is also written by the run itself: the run's own row wins over the patch
    result, _ = land(
        lake,
        pa.record_batch({"Id": ["3"], "v": [300], "s": struct.slice(2, 1)}),
        history=history,
        patches=[patch],
    )
    assert result.rows_patched == 1  # only "2" changed; "1" equal; "404" unknown
    rows = lake.dataset(ORG, SANDBOX, "ds").to_arrow().to_pylist()
    current = {r["Id"]: r for r in rows if not history or r["_is_current"]}
    assert {k: (r["v"], r["s"]) for k, r in current.items()} == {
        "1": (1, {"a": 1, "b": "x"}),
        "2": (20, {"a": 2, "b": "y"}),
        "3": (300, {"a": 3, "b": "z"}),
    }
    if history:
        assert len(rows) == 5 and set(HISTORY_COLUMNS) <= set(rows[0])


def test_marks_are_commits_even_without_changes(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    dataset = lake.dataset(ORG, SANDBOX, "ds")
    land(lake, pa.record_batch({"Id": ["1"], "v": [1]}), history=False)
    assert dataset.last_mark("headwater.reconciledAt") == (None, 1)
    writer = dataset.open_writer()
    writer.mark("headwater.reconciledAt", "2026-01-01T00:00:00+00:00")
    assert writer.commit().version == 1
    land(lake, pa.record_batch({"Id": ["2"], "v": [2]}), history=False)
    assert dataset.last_mark("headwater.reconciledAt") == ("2026-01-01T00:00:00+00:00", 1)
