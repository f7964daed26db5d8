"""Helpers for the UI tests: a served Headwater with the emulator, a headless Chromium, sign-in.

The server is the real ``headwater serve`` in a subprocess (its embedded runtime executes runs); the
Salesforce emulator runs in the test process over HTTPS and the server trusts its CA through
``HEADWATER_CA_BUNDLE``. The browser is Debian's Chromium (``/usr/bin/chromium``, or
``HEADWATER_TEST_CHROMIUM``) driven by Playwright.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from served import clean_env, credentials, free_port, start_headwater, wait_healthy

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
    env = clean_env(HEADWATER_CA_BUNDLE=str(emulator.ca_file), HEADWATER_OUTBOUND_ALLOW=emulator.host)
    process = start_headwater("serve", "--port", str(port), "--data-dir", str(data_dir), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        creds = credentials(data_dir)
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


def emulator_connection_body(emulator: Any, name: str = "Emulated Salesforce") -> dict[str, Any]:
    """``POST /connections`` body for a Basic-auth account on the emulator."""
    return {
        "name": name,
        "auth": {
            "specName": "Basic Authentication",
            "params": {
                "environmentUrl": emulator.url,
                "username": emulator.username,
                "password": emulator.password,
                "securityToken": emulator.security_token,
            },
        },
        "connectionSpec": {"id": SALESFORCE_SPEC_ID, "version": "1.0"},
    }
