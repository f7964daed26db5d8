"""``headwater emulator salesforce`` as a real subprocess: it prints its URL, credentials and CA file, and serves."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_serves_https_with_printed_ca_and_credentials(tmp_path: Path) -> None:
    port = _free_port()
    args = [
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
        "--rows",
        "Account=250",
        "--username",
        "me@x.example",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "emulator", "salesforce", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        while not any("admin API" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        printed = "".join(lines)
        assert f"https://127.0.0.1:{port}" in printed and "me@x.example" in printed
        ca_file = next(line.split(":", 1)[1].strip() for line in lines if "CA certificate" in line)
        assert Path(ca_file).is_file()
        with httpx.Client(verify=ssl.create_default_context(cafile=ca_file)) as http:
            for _ in range(200):
                try:
                    token = http.post(
                        f"https://127.0.0.1:{port}/services/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        auth=("headwater-demo-client", "headwater-demo-secret"),
                    )
                    break
                except httpx.ConnectError:
                    time.sleep(0.05)
            headers = {"Authorization": "Bearer " + token.json()["access_token"]}
            body = http.get(
                f"https://127.0.0.1:{port}/services/data/v62.0/query?q=SELECT+Id+FROM+Account",
                headers=headers,
            ).json()
        assert body["totalSize"] == 250
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_rows_option_is_validated(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headwater",
            "emulator",
            "salesforce",
            "--data-dir",
            str(tmp_path),
            "--rows",
            "Account=lots",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "expected OBJECT=N" in result.stderr
