"""In Chromium: sign in (wrong and right secret), the catalog search, phone width, keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from ui_support import SALESFORCE_SPEC_ID, LiveServer

pytestmark = pytest.mark.browser


def test_sign_in_wrong_then_right(page: Any, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Client id").fill(server.client_id)
    page.get_by_label("Client secret").fill("wrong-secret")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That client id and secret do not match")
    page.get_by_label("Client secret").fill(server.client_secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/ui/")
    assert page.get_by_role("navigation", name="Main").is_visible()


def test_catalog_search_live(signed_in: Any, server: LiveServer) -> None:
    page = signed_in
    page.get_by_role("link", name="Sources").click()
    card = page.locator(f'[data-spec-id="{SALESFORCE_SPEC_ID}"]')
    assert card.is_visible()
    page.get_by_label("Search sources").fill("zzz")
    page.get_by_text("No source matches").wait_for()
    assert card.count() == 0
    page.get_by_label("Search sources").fill("sales")
    card.wait_for()
    assert "Connect" in card.inner_text()


def test_keyboard_and_phone_width(browser: Any, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        assert page.evaluate("document.activeElement.id") == "client_id"  # autofocus
        page.keyboard.type(server.client_id)
        page.keyboard.press("Tab")
        page.keyboard.type(server.client_secret)
        page.keyboard.press("Enter")
        page.wait_for_url(server.url + "/ui/")
        page.goto(server.url + "/ui/sources")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the catalog scrolls sideways at phone width ({width}px)"
    finally:
        context.close()
