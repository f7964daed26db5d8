"""``headwater query "SELECT ..."``: DuckDB SQL over the datasets in the lake (views named by id)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from headwater.core.errors import HeadwaterError
from headwater.core.settings import load_settings


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@click.command()
@click.argument("sql")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Headwater data folder (lake = <data dir>/lake)."
)
@click.option("--lake-root", help="Root of the lake, overriding the data folder's.")
@click.option("--alias", "aliases", multiple=True, metavar="NAME=DATASET_ID", help="An extra view name.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
def query(sql: str, data_dir: Path | None, lake_root: str | None, aliases: tuple[str, ...], fmt: str) -> None:
    """Run SQL over the lake; each dataset is a view named by its id (e.g. SELECT * FROM "<id>")."""
    from headwater.lake import Lake
    from headwater.lake.query import connect

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if lake_root is not None:
        overrides["lake_root"] = lake_root
    settings = load_settings(**overrides)
    alias_map = dict(a.split("=", 1) for a in aliases if "=" in a)
    try:
        con = connect(Lake.from_settings(settings), alias_map)
        result = con.execute(sql)
        names = [column[0] for column in result.description or []]
        rows = result.fetchall()
    except HeadwaterError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # DuckDB's parser/binder/catalog errors: show them, not a traceback
        raise click.ClickException(f"query failed: {exc}") from exc
    _print(names, rows, fmt)


def _print(names: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    if fmt == "json":
        records = [dict(zip(names, row, strict=True)) for row in rows]
        sys.stdout.write(
            orjson.dumps(records, default=_json_default, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*names)
        for row in rows:
            table.add_row(*["NULL" if v is None else str(v) for v in row])
        Console().print(table)
        click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
