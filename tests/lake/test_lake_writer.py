"""The run writer against real Delta tables on disk, read back with deltalake and DuckDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from headwater.core.errors import TerminalError
from headwater.lake import Lake, nest_batch

ORG, SANDBOX = "ACME123@AdobeOrg", "prod"


def rows_by_id(lake: Lake, dataset_id: str = "ds") -> dict[str, dict[str, object]]:
    table = lake.dataset(ORG, SANDBOX, dataset_id).to_arrow()
    return {row["Id"]: row for row in table.to_pylist()}


def land(lake: Lake, *batches: pa.RecordBatch, deletes: list[str] | None = None, run: str = "r") -> object:
    writer = lake.dataset(ORG, SANDBOX, "ds").open_writer(run)
    for batch in batches:
        writer.write(batch)
    if deletes:
        writer.delete(deletes)
    return writer.commit()


def test_first_load_appends_and_duckdb_reads_it(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    result = land(lake, pa.record_batch({"Id": ["001", "002"], "Name": ["Acme", "Globex"]}))
    assert result.version == 0 and result.rows_inserted == 2 and result.rows_written == 2
    assert result.bytes_written > 0
    uri = lake.dataset(ORG, SANDBOX, "ds").uri
    assert Path(uri).is_dir() and uri == f"{tmp_path}/{ORG}/{SANDBOX}/ds"
    con = duckdb.connect()
    con.register("ds", DeltaTable(uri).to_pyarrow_dataset())
    assert con.sql("SELECT Id, Name FROM ds ORDER BY Id").fetchall() == [("001", "Acme"), ("002", "Globex")]


def test_upsert_update_delete_in_one_commit(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1", "2", "3"], "v": [1, 2, 3]}))
    result = land(lake, pa.record_batch({"Id": ["2", "4"], "v": [20, 40]}), deletes=["3", "nope"])
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 1, 1)
    assert result.version == 1
    assert {k: r["v"] for k, r in rows_by_id(lake).items()} == {"1": 1, "2": 20, "4": 40}
    assert len(DeltaTable(lake.dataset(ORG, SANDBOX, "ds").uri).history()) == 2  # one commit per run


def test_duplicates_in_a_run_collapse_last_call_wins(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    first = pa.record_batch({"Id": ["a", "b", "a"], "v": [1, 2, 3]})
    land(lake, first, pa.record_batch({"Id": ["b"], "v": [22]}), deletes=["a"])
    assert {k: r["v"] for k, r in rows_by_id(lake).items()} == {"b": 22}
    # a write after a delete of the same key brings it back
    writer = lake.dataset(ORG, SANDBOX, "ds").open_writer("r2")
    writer.delete(["b"])
    writer.write(pa.record_batch({"Id": ["b"], "v": [222]}))
    result = writer.commit()
    assert result.rows_updated == 1 and result.rows_deleted == 0
    assert {k: r["v"] for k, r in rows_by_id(lake).items()} == {"b": 222}


def test_retry_of_the_same_batches_lands_exactly_once(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    batch = pa.record_batch({"Id": [str(i) for i in range(100)], "v": list(range(100))})
    land(lake, batch)
    again = land(lake, batch)
    assert again.rows_inserted == 0 and again.rows_updated == 100
    assert lake.dataset(ORG, SANDBOX, "ds").stats()["rows"] == 100


def test_abort_and_exceptions_before_commit_leave_the_table_unchanged(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1"], "v": [1]}))
    dataset = lake.dataset(ORG, SANDBOX, "ds")
    writer = dataset.open_writer("boom")
    writer.write(pa.record_batch({"Id": ["1", "2"], "v": [9, 9]}))
    writer.abort()
    assert dataset.stats()["version"] == 0 and rows_by_id(lake) == {"1": {"Id": "1", "v": 1}}
    assert not any(lake.staging_root.rglob("*.parquet"))
    with pytest.raises(TerminalError):
        writer.commit()


KILLED_RUN = """
import sys, time, pyarrow as pa
from headwater.lake import Lake
writer = Lake(sys.argv[1]).dataset("ACME123@AdobeOrg", "prod", "ds").open_writer("killed")
for i in range(5):
    writer.write(pa.record_batch({"Id": [f"{i}-{j}" for j in range(1000)], "v": [i] * 1000}))
print("staged", flush=True)
time.sleep(60)
writer.commit()
"""


def test_a_killed_run_leaves_the_table_unchanged_and_its_retry_lands_once(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["0-0"], "v": [-1]}))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "staged"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    dataset = lake.dataset(ORG, SANDBOX, "ds")
    assert dataset.stats() == {**dataset.stats(), "rows": 1, "version": 0}
    assert any(lake.staging_root.rglob("owner.json"))  # the dead run's staging folder
    removed = lake.clean_staging()
    assert len(removed) == 1 and not any(lake.staging_root.rglob("owner.json"))
    assert dataset.stats()["rows"] == 1
    batches = [pa.record_batch({"Id": [f"{i}-{j}" for j in range(1000)], "v": [i] * 1000}) for i in range(5)]
    for attempt in range(2):
        result = land(lake, *batches, run=f"retry{attempt}")
        assert result.rows_written == 5000
    assert dataset.stats()["rows"] == 5000
    assert rows_by_id(lake)["0-0"]["v"] == 0


def test_clean_staging_keeps_live_runs(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    writer = lake.dataset(ORG, SANDBOX, "ds").open_writer("live")
    writer.write(pa.record_batch({"Id": ["1"]}))
    assert lake.clean_staging() == []
    assert writer.commit().rows_written == 1


def test_schema_evolution_adds_columns_and_widens_safely(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1"], "n": pa.array([1], pa.int64())}))
    land(lake, pa.record_batch({"Id": ["2"], "n": pa.array([2], pa.int32()), "extra": ["x"]}))
    rows = rows_by_id(lake)
    assert rows["1"] == {"Id": "1", "n": 1, "extra": None}
    assert rows["2"] == {"Id": "2", "n": 2, "extra": "x"}
    assert lake.dataset(ORG, SANDBOX, "ds").arrow_schema().field("n").type == pa.int64()  # type: ignore[union-attr]
    # a column added in the middle of one run
    land(lake, pa.record_batch({"Id": ["3"]}), pa.record_batch({"Id": ["4"], "late": [True]}))
    assert rows_by_id(lake)["3"]["late"] is None and rows_by_id(lake)["4"]["late"] is True


def test_incompatible_type_change_is_a_terminal_error_and_changes_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1"], "n": [1]}))
    with pytest.raises(TerminalError, match="'n' is int64 in the dataset but string"):
        land(lake, pa.record_batch({"Id": ["2"], "n": ["two"]}))
    assert lake.dataset(ORG, SANDBOX, "ds").stats()["version"] == 0


def test_a_value_that_does_not_fit_the_dataset_type_is_a_terminal_error(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    land(lake, pa.record_batch({"Id": ["1"], "n": pa.array([1], pa.int32())}))
    land(lake, pa.record_batch({"Id": ["2"], "n": pa.array([2], pa.int64())}), run="fits")
    with pytest.raises(TerminalError, match="does not fit"):
        land(lake, pa.record_batch({"Id": ["3"], "n": pa.array([2**40], pa.int64())}), run="overflows")
    assert sorted(rows_by_id(lake)) == ["1", "2"]


def test_bad_batches_are_refused(tmp_path: Path) -> None:
    writer = Lake(tmp_path).dataset(ORG, SANDBOX, "ds").open_writer()
    with pytest.raises(TerminalError, match="no primary key"):
        writer.write(pa.record_batch({"Name": ["x"]}))
    with pytest.raises(TerminalError, match="null values"):
        writer.write(pa.record_batch({"Id": ["1", None]}))
    with pytest.raises(TerminalError, match="reserved"):
        writer.write(pa.record_batch({"Id": ["1"], "_hw_deleted": [True]}))
    with pytest.raises(TerminalError, match="invalid org"):
        Lake(tmp_path).dataset("../etc", SANDBOX, "ds")


def test_nested_columns_land_as_structs(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    flat = pa.record_batch(
        {
            "Id": ["1", "2"],
            "person.name.firstName": ["Ada", "Alan"],
            "person.name.lastName": ["Lovelace", "Turing"],
            "personalEmail.address": ["ada@example.com", None],
        }
    )
    land(lake, nest_batch(flat))
    dataset = lake.dataset(ORG, SANDBOX, "ds")
    assert [c.path for c in dataset.columns()] == [
        "Id",
        "person.name.firstName",
        "person.name.lastName",
        "personalEmail.address",
    ]
    update = nest_batch(
        pa.record_batch(
            {
                "Id": ["2"],
                "person.name.firstName": ["A. M."],
                "person.name.lastName": ["T"],
                "personalEmail.address": ["t@example.com"],
            }
        )
    )
    land(lake, update, run="r2")
    con = duckdb.connect()
    con.register("people", DeltaTable(dataset.uri).to_pyarrow_dataset())
    got = con.sql(
        "SELECT Id, person.name.firstName, personalEmail.address FROM people ORDER BY Id"
    ).fetchall()
    assert got == [("1", "Ada", "ada@example.com"), ("2", "A. M.", "t@example.com")]


HOSTILE_VALUES = [
    "quote \" and ' here",
    "line\nbreak",
    "ünïcödé ✓",
    "emoji 🦆",
    "NA",
    "null",
    "",
    "x" * 100_000,
]


def test_hostile_column_names_and_values_round_trip(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    n = len(HOSTILE_VALUES)
    batch = pa.record_batch(
        {
            "Id": [f"id-{i}" for i in range(n)],
            "select": HOSTILE_VALUES,
            "ümlaut": list(reversed(HOSTILE_VALUES)),
            "with space": [None] * n,
            'quo"te': list(range(n)),
        }
    )
    land(lake, batch)
    land(lake, batch, run="again")  # the merge path too
    table = lake.dataset(ORG, SANDBOX, "ds").to_arrow().sort_by("Id")
    assert table.column("select").to_pylist() == HOSTILE_VALUES
    assert table.column("ümlaut").to_pylist() == list(reversed(HOSTILE_VALUES))
    con = duckdb.connect()
    con.register("t", table)
    assert con.sql("SELECT count(*) FROM t WHERE \"select\" = 'NA'").fetchall() == [(1,)]


def test_catalog_metadata_history_and_preview(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    dataset = lake.dataset(ORG, SANDBOX, "ds")
    assert dataset.stats() == {"rows": 0, "bytes": 0, "files": 0, "version": None}
    assert dataset.history() == [] and dataset.columns() == []
    land(lake, pa.record_batch({"Id": [str(i) for i in range(50)], "v": list(range(50))}), run="run-1")
    land(lake, pa.record_batch({"Id": ["x"], "v": [1]}), run="run-2")
    stats = dataset.stats()
    assert stats["rows"] == 51 and stats["bytes"] > 0 and stats["version"] == 1
    history = dataset.history()
    assert [h["version"] for h in history] == [1, 0] and [h["runId"] for h in history] == ["run-2", "run-1"]
    assert dataset.committed_version_of("run-1") == 0 and dataset.committed_version_of("zzz") is None
    assert dataset.preview(5).num_rows == 5
    assert [d.id for d in lake.datasets()] == ["ds"]


def test_empty_run_commits_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    result = lake.dataset(ORG, SANDBOX, "ds").open_writer().commit()
    assert result.version is None and result.rows_written == 0
    assert lake.dataset(ORG, SANDBOX, "ds").table() is None
