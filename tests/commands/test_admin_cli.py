"""The admin commands against a real SQLite database in a temporary data dir."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from headwater.cli import main


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_admin_commands(tmp_path: Path) -> None:
    d = str(tmp_path)
    first = json.loads(run("credentials", "--data-dir", d, "--json"))
    again = json.loads(run("credentials", "--data-dir", d, "--json"))
    assert first["clientId"] == again["clientId"] and first["clientSecret"] == again["clientSecret"]
    assert first["accessToken"].count(".") == 2
    org = json.loads(run("orgs", "create", "Acme", "--data-dir", d))
    listed = [json.loads(line) for line in run("orgs", "list", "--data-dir", d).splitlines()]
    assert {o["id"] for o in listed} == {first["imsOrgId"], org["id"]}
    run("sandboxes", "create", "--org", org["id"], "dev", "--data-dir", d)
    sandboxes = [
        json.loads(line)["name"]
        for line in run("sandboxes", "list", "--org", org["id"], "--data-dir", d).splitlines()
    ]
    assert sandboxes == ["prod", "dev"]
    client = json.loads(run("clients", "create", "--org", org["id"], "--data-dir", d))
    clients = [
        json.loads(line)["clientId"]
        for line in run("clients", "list", "--org", org["id"], "--data-dir", d).splitlines()
    ]
    assert clients == [client["clientId"]]
    assert "up to date" in run("db", "upgrade", "--data-dir", d)


def test_admin_errors_are_clean(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["sandboxes", "create", "--org", "nope@AdobeOrg", "x", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code != 0 and "not found" in result.output
