"""`headwater query "SELECT ..."`: DuckDB over every dataset found in the lake root."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from headwater.core.jsonutil import dumps_str


@click.command()
@click.argument("sql")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Headwater data folder (default: settings' data dir); the lake is its 'lake' subfolder.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
def query(sql: str, data_dir: Path | None, fmt: str) -> None:
    """Run SQL over the lake; each dataset is a view named by its dataset id."""
    from headwater.core.settings import load_settings
    from headwater.lake.query import connect, discover

    data_dir = data_dir or load_settings().resolved_data_dir
    root = data_dir / "lake" if (data_dir / "lake").is_dir() else data_dir
    try:
        con = connect(discover(root))
        cursor = con.execute(sql)
    except Exception as exc:  # DuckDB raises many unrelated classes; all mean "your SQL failed"
        raise click.ClickException(str(exc)) from exc
    names = [d[0] for d in cursor.description or []]
    rows = cursor.fetchall()
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(rows)
    elif fmt == "json":
        click.echo(dumps_str([dict(zip(names, row, strict=True)) for row in rows]))
    else:
        _table(names, rows)


def _table(names: list[str], rows: list[tuple[object, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*names)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)
