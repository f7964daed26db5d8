"""`headwater query` and the DuckDB view registration, over real Delta tables."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner

from headwater.cli import main
from headwater.core.errors import TerminalError
from headwater.lake import Lake, nest_batch
from headwater.lake.query import connect, register_views


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    lake = Lake(tmp_path / "lake")
    accounts = lake.dataset("ORG1@AdobeOrg", "prod", "ds-accounts").open_writer()
    accounts.write(
        pa.record_batch(
            {"Id": ["001", "002", "003"], "Name": ['Acme "A"', "Glöbex\nCorp", None], "N": [1, 2, 3]}
        )
    )
    accounts.commit()
    people = lake.dataset("ORG1@AdobeOrg", "dev", "ds-people").open_writer()
    people.write(nest_batch(pa.record_batch({"Id": ["1"], "person.name.firstName": ["Ada"]})))
    people.commit()
    return tmp_path


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["query", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_csv_and_json_output(data_dir: Path) -> None:
    sql = 'SELECT Id, Name FROM "ds-accounts" ORDER BY Id'
    rows = list(csv.reader(io.StringIO(run(sql, "--data-dir", str(data_dir), "--format", "csv"))))
    assert rows == [["Id", "Name"], ["001", 'Acme "A"'], ["002", "Glöbex\nCorp"], ["003", ""]]
    records = json.loads(run(sql, "--data-dir", str(data_dir), "--format", "json"))
    assert records[2] == {"Id": "003", "Name": None} and records[1]["Name"] == "Glöbex\nCorp"


def test_nested_columns_and_table_output(data_dir: Path) -> None:
    out = run('SELECT person.name.firstName AS first FROM "ds-people"', "--data-dir", str(data_dir))
    assert "Ada" in out and "(1 row)" in out


def test_alias_and_lake_root(data_dir: Path) -> None:
    out = run(
        "SELECT sum(N) AS total FROM accounts",
        "--lake-root",
        str(data_dir / "lake"),
        "--alias",
        "accounts=ds-accounts",
        "--format",
        "json",
    )
    assert json.loads(out) == [{"total": 6}]


def test_bad_sql_is_a_clear_error(data_dir: Path) -> None:
    result = CliRunner().invoke(main, ["query", "SELECT * FROM missing", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "query failed" in result.output and "Traceback" not in result.output


def test_register_views_with_caller_names(data_dir: Path) -> None:
    lake = Lake(data_dir / "lake")
    con = duckdb.connect()
    uri = lake.dataset("ORG1@AdobeOrg", "prod", "ds-accounts").uri
    register_views(con, {"Salesforce Accounts": uri})
    assert con.execute('SELECT count(*) FROM "Salesforce Accounts"').fetchall() == [(3,)]
    with pytest.raises(TerminalError, match="no Delta table"):
        register_views(con, {"x": str(data_dir / "nope")})
    with pytest.raises(TerminalError, match="unknown dataset"):
        connect(lake, {"a": "zzz"})


def test_filters_on_columns_without_file_statistics(tmp_path: Path) -> None:
    """Timestamps, booleans and long text carry no min/max in our data files; deltalake's per-file
    guards made DuckDB's pushed-down comparisons on them false (no rows)."""
    from datetime import UTC, datetime

    lake = Lake(tmp_path)
    writer = lake.dataset("ORG1@AdobeOrg", "prod", "ds").open_writer()
    stamps = [datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)]
    writer.write(
        pa.record_batch(
            {
                "Id": ["1", "2"],
                "SystemModstamp": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
                "Active": [True, False],
                "Notes": ["x" * 5000, "short"],
            }
        )
    )
    writer.commit()
    con = connect(lake)
    assert con.sql(
        "SELECT Id FROM ds WHERE SystemModstamp > TIMESTAMPTZ '2025-01-01 00:00:00+00'"
    ).fetchall() == [("2",)]
    assert con.sql("SELECT Id FROM ds WHERE Active = true").fetchall() == [("1",)]
    assert con.sql("SELECT Id FROM ds WHERE Notes = 'short'").fetchall() == [("2",)]
