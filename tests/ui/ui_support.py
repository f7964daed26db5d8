"""Helpers for the UI tests: a served Headwater with the emulator, a headless Chromium, sign-in.

The server is the real ``headwater serve`` in a subprocess (its embedded runtime executes runs); the
Salesforce emulator runs in the test process over HTTPS and the server trusts its CA through
``HEADWATER_CA_BUNDLE``. The browser is Debian's Chromium (``/usr/bin/chromium``, or
``HEADWATER_TEST_CHROMIUM``) driven by Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REQUIRE_SERVICES = os.environ.get("HEADWATER_TEST_REQUIRE_SERVICES") == "1"
SALESFORCE_SPEC_ID = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"


def chromium_path() -> str | None:
    configured = os.environ.get("HEADWATER_TEST_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    client_id: str
    client_secret: str
    org_id: str
    emulator: Any  # headwater.emulators.salesforce.testing.RunningEmulator
    process: subprocess.Popen[bytes]

    def api_headers(self) -> dict[str, str]:
        """Headers for the REST API as the same client the browser signs in with."""
        token = httpx.post(
            self.url + "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        ).json()["access_token"]
        return {
            "Authorization": f"Bearer {token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
            "x-sandbox-name": "prod",
        }


@contextmanager
def live_server(data_dir: Path, emulator: Any) -> Iterator[LiveServer]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_CA_BUNDLE"] = str(emulator.ca_file)
    command = [sys.executable, "-m", "headwater", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.communicate(timeout=10)[0].decode(errors="replace")
                raise AssertionError(f"headwater serve did not start:\n{output}")
            time.sleep(0.2)
        creds = json.loads(
            subprocess.run(
                [sys.executable, "-m", "headwater", "credentials", "--data-dir", str(data_dir), "--json"],
                check=True,
                capture_output=True,
                env=env,
            ).stdout
        )
        yield LiveServer(
            url=url,
            data_dir=data_dir,
            client_id=creds["clientId"],
            client_secret=creds["clientSecret"],
            org_id=creds["imsOrgId"],
            emulator=emulator,
            process=process,
        )
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def need_chromium() -> str:
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium, or set HEADWATER_TEST_CHROMIUM)"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (HEADWATER_TEST_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return path


def sign_in(page: Any, server: LiveServer) -> None:
    """Sign in through the form, as a person would."""
    page.goto(server.url + "/")
    page.get_by_label("Client id").fill(server.client_id)
    page.get_by_label("Client secret").fill(server.client_secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/ui/")


def csrf_of(html: str) -> str:
    """The CSRF token of a rendered page's first form (pages without a form: its <meta> tag)."""
    marker = 'name="csrf_token" value="'
    if marker not in html:
        marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
