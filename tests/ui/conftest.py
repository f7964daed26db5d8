"""UI fixtures: one served Headwater + emulator per module, one Chromium per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ui_support import LiveServer, live_server, need_chromium, sign_in

UI_ROWS = {"Account": 250, "Contact": 400}


@pytest.fixture(scope="module")
def ui_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from headwater.emulators.salesforce.testing import running_emulator

    with running_emulator(tmp_path_factory.mktemp("ui-salesforce"), rows=UI_ROWS) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ui_emulator: Any) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("ui-served"), ui_emulator) as served:
        yield served


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def signed_in(page: Any, server: LiveServer) -> Any:
    """A page signed in as the server's default client."""
    sign_in(page, server)
    return page


@pytest.fixture
def ui_http(tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    """(TestClient, default credentials) on an in-process app: fast checks without a browser."""
    from starlette.testclient import TestClient

    from headwater.app import prepare
    from headwater.core.settings import load_settings

    app, credentials = prepare(load_settings(data_dir=tmp_path), runtime=False)
    with TestClient(app, raise_server_exceptions=False) as http:  # type: ignore[arg-type]
        yield http, credentials
