import json
from pathlib import Path

import pyarrow as pa
from click.testing import CliRunner

from headwater.commands.query import query
from headwater.lake import Lake
from headwater.lake.query import connect, discover


def _land(root: Path) -> None:
    lake = Lake(root)
    for ds_id, names in (("dsA", ["Ann", "Émile 🚀"]), ("dsB", ["x"])):
        run = lake.dataset("org1", "prod", ds_id).run_writer()
        run.write(pa.RecordBatch.from_pydict({"Id": [str(i) for i in range(len(names))], "Name": names}))
        run.commit()
    lake.dataset("org1", "prod", "dsC").run_writer()  # staging only: not a table


def test_query_command_json_and_csv(tmp_path: Path) -> None:
    _land(tmp_path / "lake")
    out = CliRunner().invoke(
        query, ["SELECT Name FROM dsA ORDER BY Id", "--data-dir", str(tmp_path), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [{"Name": "Ann"}, {"Name": "Émile 🚀"}]
    out = CliRunner().invoke(
        query, ["SELECT count(*) AS n FROM dsB", "--data-dir", str(tmp_path), "--format", "csv"]
    )
    assert out.output.splitlines() == ["n", "1"]
    bad = CliRunner().invoke(query, ["SELECT * FROM nope", "--data-dir", str(tmp_path)])
    assert bad.exit_code != 0 and "nope" in bad.output


def test_connect_with_readable_aliases(tmp_path: Path) -> None:
    _land(tmp_path)
    found = discover(tmp_path)
    assert sorted(found) == ["dsA", "dsB"]
    con = connect({"Salesforce Accounts": found["dsA"]})
    assert con.execute('SELECT count(*) FROM "Salesforce Accounts"').fetchone() == (2,)
