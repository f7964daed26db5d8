"""The real thing over a socket: `headwater serve` in a subprocess, the seed's curl, `headwater
credentials`, and the community client aepp (token from our /ims/token/v3 included)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from served import credentials, free_port, start_headwater, wait_healthy

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
SEED_PASSWORD = "Seed-Password-0123456789"


def headwater(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("served")
    port = free_port()
    process = start_headwater("serve", "--port", str(port), "--data-dir", str(data_dir))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url, data_dir
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
        assert SEED_PASSWORD not in output  # never logged
        assert f"{url}/data/foundation/flowservice" in output and "headwater credentials" in output


@pytest.fixture(scope="module")
def creds(server: tuple[str, Path]) -> dict[str, str]:
    return credentials(server[1])


def test_first_start_created_defaults(server: tuple[str, Path], creds: dict[str, str]) -> None:
    assert set(creds) == {"imsOrgId", "sandboxName", "clientId", "clientSecret", "accessToken"}
    assert creds["sandboxName"] == "prod" and creds["imsOrgId"].endswith("@AdobeOrg")
    key = server[1] / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_verbatim(server: tuple[str, Path], creds: dict[str, str]) -> None:
    url, data_dir = server
    body = (
        '{\n        "name": "Salesforce Connection",\n        "description": "Connection for Salesforce account",\n'
        '        "auth": {\n            "specName": "Basic Authentication",\n            "params": {\n'
        '                "username": "{USERNAME}",\n                "password": "{PASSWORD}",\n'
        '                "securityToken": "{SECURITY_TOKEN}"\n            }\n        },\n'
        '        "connectionSpec": {\n            "id": "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5",\n'
        '            "version": "1.0"\n        }\n    }'
    )
    body = body.replace("{USERNAME}", "acme").replace("{PASSWORD}", SEED_PASSWORD)
    body = body.replace("{SECURITY_TOKEN}", "Seed-Token-987")
    command = [
        "curl", "-s", "-w", "\n%{http_code}", "-X", "POST", f"{url}/data/foundation/flowservice/connections",
        "-H", f"Authorization: Bearer {creds['accessToken']}",
        "-H", f"x-api-key: {creds['clientId']}",
        "-H", f"x-gw-ims-org-id: {creds['imsOrgId']}",
        "-H", f"x-sandbox-name: {creds['sandboxName']}",
        "-H", "Content-Type: application/json",
        "-d", body,
    ]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30).stdout
    text, status = out.rsplit("\n", 1)
    assert status == "201", text
    created = json.loads(text)
    headers = {
        "Authorization": f"Bearer {creds['accessToken']}",
        "x-api-key": creds["clientId"],
        "x-gw-ims-org-id": creds["imsOrgId"],
        "x-sandbox-name": creds["sandboxName"],
    }
    got = httpx.get(f"{url}/data/foundation/flowservice/connections/{created['id']}", headers=headers).json()
    params = got["items"][0]["auth"]["params"]
    assert params["password"] == params["securityToken"] == "*****"
    for path in data_dir.iterdir():
        if path.name.startswith("headwater.db"):
            assert SEED_PASSWORD.encode() not in path.read_bytes()


def _aepp_flow_service(url: str, creds: dict[str, str], *, token_from_ims: bool) -> Any:
    import aepp
    from aepp import flowservice

    if token_from_ims:
        aepp.configure(
            org_id=creds["imsOrgId"],
            client_id=creds["clientId"],
            secret=creds["clientSecret"],
            scopes="openid,AdobeID,read_organizations",
            sandbox=creds["sandboxName"],
            environment="support",
            endpoint=url,
        )
        # aepp hard-codes Adobe's IMS host; its config object is where the token endpoint is chosen.
        aepp.config.config_object["oauthTokenEndpointV2"] = f"{url}/ims/token/v3"
    else:
        aepp.configure(
            org_id=creds["imsOrgId"],
            client_id=creds["clientId"],
            sandbox=creds["sandboxName"],
            environment="support",
            endpoint=url,
            accesstoken=creds["accessToken"],
        )
        # aepp 0.6.0 reads connectionType when a token is given but only sets it on its oauth paths.
        aepp.config.config_object["connectionType"] = "support"
    return flowservice.FlowService()


@pytest.mark.parametrize("token_from_ims", [False, True], ids=["given-token", "ims-token"])
def test_aepp_round_trip(server: tuple[str, Path], creds: dict[str, str], token_from_ims: bool) -> None:
    flow = _aepp_flow_service(server[0], creds, token_from_ims=token_from_ims)
    if token_from_ims:
        assert flow.connector.token and flow.connector.token != creds["accessToken"]
    specs = flow.getConnectionSpecs()
    assert SALESFORCE in [spec["id"] for spec in specs]
    created = flow.createConnection(
        data={
            "name": "aepp connection",
            "auth": {"specName": "Basic Authentication",
                     "params": {"username": "u", "password": "aepp-secret", "securityToken": "t"}},
            "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
        }
    )  # fmt: skip
    assert set(created) == {"id", "etag"}
    got = flow.getConnection(created["id"])
    assert got["name"] == "aepp connection" and got["auth"]["params"]["password"] == "*****"
    listed = flow.getConnections(limit=1, n_results="inf")
    assert created["id"] in [item["id"] for item in listed] and len(listed) >= 1
    patched = flow.patchConnection(
        created["id"], [{"op": "replace", "path": "/name", "value": "renamed by aepp"}]
    )
    assert patched["id"] == created["id"] and patched["etag"] != created["etag"]
    assert flow.getConnection(created["id"])["name"] == "renamed by aepp"
    flow.deleteConnection(created["id"])
    assert flow.getConnection(created["id"]) == {}


def test_example_script(server: tuple[str, Path], creds: dict[str, str], tmp_path: Path) -> None:
    creds_file = tmp_path / "creds.json"
    creds_file.write_text(json.dumps(creds))
    script = Path(__file__).parents[2] / "examples" / "create_salesforce_connection.py"
    out = subprocess.run(
        [sys.executable, str(script), server[0], str(creds_file), "me", "example-password", "example-token"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    first, rest = out.split("\n", 1)
    assert set(json.loads(first)) == {"id", "etag"}
    shown = json.loads(rest)
    assert shown["auth"]["params"]["password"] == "*****" and "example-password" not in out
