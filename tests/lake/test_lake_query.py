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
