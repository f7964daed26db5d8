from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from headwater.core.errors import TerminalError
from headwater.lake import Lake, nest_dotted

HOSTILE = ["quote \" ' x", "new\nline", "ümlaut ✓ 🚀", "NA", "null", "x" * 10000, "select"]


def _batch(ids: list[str], names: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"Id": ids, "Name": names})


def _rows(ds_uri: str) -> dict[str, str]:
    from deltalake import DeltaTable

    table = DeltaTable(ds_uri).to_pyarrow_table()
    return dict(zip(table.column("Id").to_pylist(), table.column("Name").to_pylist(), strict=True))


def test_first_load_then_upsert_and_delete(tmp_path: Path) -> None:
    ds = Lake(tmp_path).dataset("org", "prod", "ds1")
    run = ds.run_writer()
    run.write(_batch(["a", "b", "c"], ["A", "B", "C"]))
    first = run.commit()
    assert (first.rows_inserted, first.version) == (3, 0)

    run = ds.run_writer()
    run.write(_batch(["b", "d"], ["B2", "D"]))
    run.delete(pa.array(["a", "zz"]))
    second = run.commit()
    assert (second.rows_inserted, second.rows_updated, second.rows_deleted) == (1, 1, 1)
    assert _rows(ds.uri) == {"b": "B2", "c": "C", "d": "D"}
    assert ds.describe()["rows"] == 3


def test_duplicates_in_one_run_last_call_wins(tmp_path: Path) -> None:
    ds = Lake(tmp_path).dataset("org", "prod", "ds1")
    run = ds.run_writer()
    run.write(_batch(["a", "a"], ["first", "second"]))
    run.write(_batch(["a"], ["third"]))
    run.commit()
    assert _rows(ds.uri) == {"a": "third"}
    run = ds.run_writer()
    run.delete(pa.array(["a"]))
    run.write(_batch(["a"], ["back"]))
    run.commit()
    assert _rows(ds.uri) == {"a": "back"}


def test_killed_run_leaves_table_unchanged_and_retry_lands_once(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    ds = lake.dataset("org", "prod", "ds1")
    run = ds.run_writer()
    run.write(_batch(["a"], ["A"]))
    run.commit()
    before = ds.describe()

    doomed = ds.run_writer("run-7")
    doomed.write(_batch(["b", "a"], ["B", "A2"]))
    del doomed  # killed before commit: staging garbage only
    assert ds.describe()["version"] == before["version"]
    assert _rows(ds.uri) == {"a": "A"}
    assert lake.clean_staging(older_than_seconds=-1) == 1

    for _ in range(2):  # the retry, and a retry of the retry
        retry = ds.run_writer("run-7")
        retry.write(_batch(["b", "a"], ["B", "A2"]))
        retry.commit()
    assert _rows(ds.uri) == {"a": "A2", "b": "B"}


def test_schema_evolution_adds_columns_and_rejects_incompatible(tmp_path: Path) -> None:
    ds = Lake(tmp_path).dataset("org", "prod", "ds1")
    run = ds.run_writer()
    run.write(_batch(["a"], ["A"]))
    run.commit()
    run = ds.run_writer()
    run.write(pa.RecordBatch.from_pydict({"Id": ["b"], "Name": ["B"], "Industry": ["Tech"]}))
    run.commit()
    got = ds.to_arrow().sort_by("Id").to_pydict()
    assert got["Industry"] == [None, "Tech"]
    run = ds.run_writer()
    run.write(pa.RecordBatch.from_pydict({"Id": ["c"], "Name": [pa.scalar(3).as_py()]}))
    with pytest.raises(TerminalError):
        run.commit()
    assert len(ds.to_arrow()) == 2


def test_hostile_values_and_names_round_trip_through_duckdb(tmp_path: Path) -> None:
    ds = Lake(tmp_path).dataset("org", "prod", "ds1")
    ids = [f"id{i}" for i in range(len(HOSTILE))]
    run = ds.run_writer()
    run.write(pa.RecordBatch.from_pydict({"Id": ids, "Name": HOSTILE, "select": HOSTILE, "Grüße": HOSTILE}))
    run.commit()
    from deltalake import DeltaTable

    view = DeltaTable(ds.uri).to_pyarrow_dataset()  # noqa: F841 - read by DuckDB's replacement scan
    got = duckdb.sql('SELECT "select", "Grüße" FROM view ORDER BY Id').fetchall()
    assert [r[0] for r in got] == HOSTILE
    assert [r[1] for r in got] == HOSTILE


def test_nest_dotted_builds_structs_and_commits(tmp_path: Path) -> None:
    flat = pa.RecordBatch.from_pydict(
        {"Id": ["a"], "person.name.firstName": ["Ann"], "person.name.lastName": ["Lee"], "person.age": [3]}
    )
    nested = nest_dotted(flat)
    assert nested.schema.names == ["Id", "person"]
    assert nested.to_pylist() == [
        {"Id": "a", "person": {"name": {"firstName": "Ann", "lastName": "Lee"}, "age": 3}}
    ]
    ds = Lake(tmp_path).dataset("org", "prod", "ds1")
    run = ds.run_writer()
    run.write(nested)
    run.commit()
    assert ds.to_arrow().to_pylist() == nested.to_pylist()
    with pytest.raises(TerminalError):
        nest_dotted(pa.RecordBatch.from_pydict({"a": [1], "a.b": [2]}))


def test_bad_path_segment(tmp_path: Path) -> None:
    with pytest.raises(TerminalError):
        Lake(tmp_path).dataset("org", "../x", "ds")
