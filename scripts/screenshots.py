"""Regenerate docs/screenshots/: every page of the web UI, at 1280 px and a few at phone width.

Run: ``make screenshots`` (or ``.venv/bin/python scripts/screenshots.py [--out DIR]``). Needs Chromium
(``apt-get install chromium``, or ``HEADWATER_TEST_CHROMIUM=/path``).

It runs ``headwater demo`` in a temporary data directory (emulator, service, the Account and Contact
dataflows and their first runs), signs in as the default client and visits each page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SALESFORCE_SPEC_ID = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
FLOWSERVICE = "/data/foundation/flowservice"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_demo(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    command = [
        sys.executable, "-m", "headwater", "demo", "--data-dir", str(data_dir), "--port", str(port),
        "--emulator-port", "0", "--rows", "Account=400,Contact=600",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    deadline = time.monotonic() + 300
    seen = []
    for line in process.stdout:
        seen.append(line)
        print("  demo |", line.rstrip())
        if "Serving on" in line:
            # keep draining the pipe, or a chatty server would block on a full one
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit("headwater demo did not come up:\n" + "".join(seen))


def api_ids(url: str, data_dir: Path) -> dict[str, str]:
    """Ids of the demo's account, Account flow and its dataset, read through the REST API."""
    creds = json.loads(
        subprocess.run(
            [sys.executable, "-m", "headwater", "credentials", "--data-dir", str(data_dir), "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    headers = {
        "Authorization": f"Bearer {creds['accessToken']}",
        "x-api-key": creds["clientId"],
        "x-gw-ims-org-id": creds["imsOrgId"],
        "x-sandbox-name": creds["sandboxName"],
    }
    with httpx.Client(base_url=url + FLOWSERVICE, headers=headers) as api:
        account = api.get("/connections", params={"property": "name==Demo Salesforce"}).json()["items"][0]
        flow = api.get("/flows", params={"property": "name==Demo Salesforce Account"}).json()["items"][0]
        target = api.get(f"/targetConnections/{flow['targetConnectionIds'][0]}").json()["items"][0]
    return {
        "client_id": creds["clientId"],
        "client_secret": creds["clientSecret"],
        "account": account["id"],
        "flow": flow["id"],
        "dataset": target["params"]["dataSetId"],
    }


def pages(ids: dict[str, str]) -> list[tuple[str, str]]:
    account, flow, dataset = ids["account"], ids["flow"], ids["dataset"]
    return [
        ("home", "/ui/"),
        ("sources", "/ui/sources"),
        ("connect", f"/ui/connect/{SALESFORCE_SPEC_ID}"),
        ("accounts", "/ui/accounts"),
        ("account", f"/ui/accounts/{account}"),
        ("explore", f"/ui/accounts/{account}/explore"),
        ("explore-account", f"/ui/accounts/{account}/explore/Account"),
        ("flows", "/ui/flows"),
        ("flow-new", f"/ui/flows/new?account={account}&object=Account"),
        ("flow", f"/ui/flows/{flow}"),
        ("datasets", "/ui/datasets"),
        ("dataset", f"/ui/datasets/{dataset}"),
    ]


PHONE_PAGES = ("flows", "flow", "explore-account")


def shoot(page: Page, url: str, path: Path) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=True)
    print("  wrote", path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    chromium = os.environ.get("HEADWATER_TEST_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium is needed: apt-get install chromium (or set HEADWATER_TEST_CHROMIUM)")
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="headwater-shots-") as tmp:
        process = start_demo(Path(tmp), port)
        try:
            ids = api_ids(url, Path(tmp))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True)
                desktop = browser.new_page(viewport={"width": 1280, "height": 800})
                shoot(desktop, url + "/ui/login", args.out / "sign-in.png")
                desktop.get_by_label("Client id").fill(ids["client_id"])
                desktop.get_by_label("Client secret").fill(ids["client_secret"])
                desktop.get_by_role("button", name="Sign in").click()
                desktop.wait_for_url(url + "/ui/")
                for name, path in pages(ids):
                    shoot(desktop, url + path, args.out / f"{name}.png")
                phone = desktop.context.browser.new_context(  # type: ignore[union-attr]
                    viewport={"width": 375, "height": 740}, storage_state=desktop.context.storage_state()
                ).new_page()
                for name, path in pages(ids):
                    if name in PHONE_PAGES:
                        shoot(phone, url + path, args.out / f"{name}-phone.png")
                browser.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
