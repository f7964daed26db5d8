"""The direct landing path: our own Parquet files committed as one Delta transaction of add/remove
actions (first loads and merges whose columns match the table), against real tables on disk."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from headwater.lake import Lake

ORG, SANDBOX = "ACME123@AdobeOrg", "prod"
SMALL_FILES = 1  # byte: every batch closes its own data file


def batch(ids: list[int], version: int) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "Id": [f"{i:06d}" for i in ids],
            "v": pa.array([version] * len(ids), pa.int64()),
            "name": [f"account {i} v{version}" for i in ids],
            "at": pa.array([1_700_000_000_000 + i for i in ids], pa.timestamp("ms", tz="UTC")),
        }
    )


def log_actions(uri: str, version: int) -> list[dict[str, object]]:
    path = Path(uri) / "_delta_log" / f"{version:020d}.json"
    return [json.loads(line) for line in path.read_text().splitlines()]


def current(dataset_uri: str) -> dict[str, tuple[int, str]]:
    rows = DeltaTable(dataset_uri).to_pyarrow_table().to_pylist()
    return {row["Id"]: (row["v"], row["name"]) for row in rows}


def test_first_load_commits_our_files_with_statistics(tmp_path: Path) -> None:
    dataset = Lake(tmp_path).dataset(ORG, SANDBOX, "ds")
    writer = dataset.open_writer("first", target_file_size=SMALL_FILES)
    writer.write(batch(list(range(0, 500)), 1))
    writer.write(batch(list(range(500, 1000)), 1))
    writer.delete(["000007"])  # a delete in the first load removes the staged row
    writer.write(batch([3], 2))  # the last op of a key wins
    result = writer.commit()
    assert (result.version, result.rows_inserted, result.rows_updated) == (0, 999, 0)
    adds = [a["add"] for a in log_actions(dataset.uri, 0) if "add" in a]
    assert len(adds) >= 2 and result.bytes_written == sum(a["size"] for a in adds)
    stats = [json.loads(a["stats"]) for a in adds]
    assert sum(s["numRecords"] for s in stats) == 999
    assert all(s["minValues"]["Id"] <= s["maxValues"]["Id"] and s["nullCount"]["Id"] == 0 for s in stats)
    for add in adds:  # plain Delta data files: no staging columns, timestamps in microseconds
        schema = pq.read_schema(Path(dataset.uri) / add["path"])
        assert schema.names == ["Id", "v", "name", "at"]
        assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    rows = current(dataset.uri)
    assert len(rows) == 999 and "000007" not in rows and rows["000003"] == (2, "account 3 v2")
    assert dataset.stats()["rows"] == 999 and dataset.committed_version_of("first") == 0
    con = duckdb.connect()
    con.register("accounts", DeltaTable(dataset.uri).to_pyarrow_dataset())
    got = con.sql('SELECT max("at") FROM accounts').fetchall()
    assert got == [(datetime.fromtimestamp(1_700_000_000.999, UTC),)]


def test_merge_rewrites_only_files_holding_changed_keys(tmp_path: Path) -> None:
    dataset = Lake(tmp_path).dataset(ORG, SANDBOX, "ds")
    writer = dataset.open_writer("load", target_file_size=SMALL_FILES)
    for start in range(0, 1000, 100):  # ten files, each one range of 100 Ids
        writer.write(batch(list(range(start, start + 100)), 1))
    writer.commit()
    before = {a["add"]["path"] for a in log_actions(dataset.uri, 0) if "add" in a}
    assert len(before) == 10

    writer = dataset.open_writer("change", target_file_size=SMALL_FILES)
    writer.write(batch([150, 151, 5000], 2))  # two updates in the second file, one insert
    writer.delete(["000420", "999999"])  # a delete in the fifth file, a missing key (no-op)
    result = writer.commit()
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 2, 1)
    actions = log_actions(dataset.uri, 1)
    removed = {a["remove"]["path"] for a in actions if "remove" in a}
    assert len(removed) == 2 and removed < before  # eight files untouched
    rows = current(dataset.uri)
    assert len(rows) == 1000 and "000420" not in rows
    assert rows["000150"] == (2, "account 150 v2") and rows["005000"] == (2, "account 5000 v2")
    assert rows["000149"] == (1, "account 149 v1")
    assert dataset.committed_version_of("change") == 1


def test_merges_agree_with_a_model_over_many_runs(tmp_path: Path) -> None:
    dataset = Lake(tmp_path).dataset(ORG, SANDBOX, "ds")
    rng = random.Random(7)
    model: dict[str, tuple[int, str]] = {}
    for run in range(8):
        writer = dataset.open_writer(f"run-{run}", target_file_size=SMALL_FILES * 4)
        for _ in range(3):
            ids = rng.sample(range(2000), 150)
            writer.write(batch(ids, run))
            model.update({f"{i:06d}": (run, f"account {i} v{run}") for i in ids})
            gone = [f"{i:06d}" for i in rng.sample(range(2000), 40)]
            writer.delete(gone)
            for key in gone:
                model.pop(key, None)
        writer.commit()
        assert current(dataset.uri) == model
    assert DeltaTable(dataset.uri).version() == 7  # one commit per run


def test_a_retried_run_lands_once(tmp_path: Path) -> None:
    dataset = Lake(tmp_path).dataset(ORG, SANDBOX, "ds")
    for attempt in range(3):
        writer = dataset.open_writer(f"attempt-{attempt}", target_file_size=SMALL_FILES)
        for start in range(0, 600, 200):
            writer.write(batch(list(range(start, start + 200)), 1))
        result = writer.commit()
        assert result.rows_written == 600
        assert (result.rows_inserted, result.rows_updated) == ((600, 0) if attempt == 0 else (0, 600))
    assert dataset.stats()["rows"] == 600 and len(current(dataset.uri)) == 600


KILLED_IN_COMMIT = """
import sys, time
import deltalake
import pyarrow as pa
from headwater.lake import Lake

def pause(*args, **kwargs):  # the data files are written; stop right before the log entry
    print("files written", flush=True)
    time.sleep(60)

deltalake.DeltaTable.create_write_transaction = pause
writer = Lake(sys.argv[1]).dataset("ACME123@AdobeOrg", "prod", "ds").open_writer("killed")
writer.write(pa.record_batch({"Id": [f"{i:06d}" for i in range(300)], "v": pa.array([9] * 300, pa.int64())}))
writer.commit()
"""


def test_a_run_killed_while_committing_leaves_the_table_unchanged(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    dataset = lake.dataset(ORG, SANDBOX, "ds")
    first = pa.record_batch({"Id": [f"{i:06d}" for i in range(100)], "v": pa.array([1] * 100, pa.int64())})
    writer = dataset.open_writer("first")
    writer.write(first)
    writer.commit()
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_IN_COMMIT), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "files written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    table_files = set(os.listdir(dataset.uri)) - {"_delta_log"}
    assert len(table_files) == 2  # the committed file and the dead run's orphan
    assert dataset.stats()["version"] == 0 and dataset.stats()["rows"] == 100
    assert {row["v"] for row in dataset.to_arrow().to_pylist()} == {1}
    # the retry lands once; vacuum then removes the orphan (no commit refers to it)
    writer = dataset.open_writer("retry")
    writer.write(
        pa.record_batch({"Id": [f"{i:06d}" for i in range(300)], "v": pa.array([9] * 300, pa.int64())})
    )
    result = writer.commit()
    assert (result.rows_inserted, result.rows_updated) == (200, 100)
    assert dataset.stats()["rows"] == 300
    assert len(dataset.vacuum(retention_hours=0)) >= 1
    assert dataset.to_arrow().num_rows == 300


def test_small_source_batches_land_in_full_row_groups(tmp_path: Path) -> None:
    dataset = Lake(tmp_path).dataset(ORG, SANDBOX, "ds")
    writer = dataset.open_writer("small-batches")
    for start in range(0, 40_000, 1_000):  # a Bulk CSV chunk is ~1,500 rows
        writer.write(batch(list(range(start, start + 1_000)), 1))
    writer.commit()
    (add,) = [a["add"] for a in log_actions(dataset.uri, 0) if "add" in a]
    meta = pq.read_metadata(Path(dataset.uri) / add["path"])
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [16_384, 16_384, 7_232]
    assert current(dataset.uri)["039999"] == (1, "account 39999 v1")


def test_merge_trusts_truncated_text_statistics_only_as_a_prefix(tmp_path: Path) -> None:
    """Other Delta writers may cut long text statistics to a prefix; the key past the cut is still found."""
    from deltalake import Schema
    from deltalake.transaction import AddAction, create_table_with_add_actions

    dataset = Lake(tmp_path).dataset(ORG, SANDBOX, "ds")
    folder = Path(dataset.uri)
    folder.mkdir(parents=True)
    long_ids = ["customer-" + "x" * 40 + suffix for suffix in ("a", "b")]
    table = pa.table({"Id": long_ids, "v": pa.array([1, 1], pa.int64())})
    pq.write_table(table, folder / "other-writer.parquet")
    stats = {"numRecords": 2, "minValues": {"Id": long_ids[0][:32]}, "maxValues": {"Id": long_ids[1][:32]}}
    size = (folder / "other-writer.parquet").stat().st_size
    add = AddAction("other-writer.parquet", size, {}, 0, True, json.dumps(stats))
    create_table_with_add_actions(dataset.uri, Schema.from_arrow(table.schema), [add])  # type: ignore[arg-type]
    writer = dataset.open_writer("update")
    writer.write(pa.record_batch({"Id": [long_ids[1]], "v": pa.array([2], pa.int64())}))
    result = writer.commit()
    assert (result.rows_inserted, result.rows_updated) == (0, 1)
    assert sorted(dataset.to_arrow().to_pylist(), key=lambda r: r["Id"]) == [
        {"Id": long_ids[0], "v": 1},
        {"Id": long_ids[1], "v": 2},
    ]
