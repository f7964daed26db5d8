"""In Chromium: connect the emulator from the catalog (wrong password, then right), explore Account."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from ui_support import SALESFORCE_SPEC_ID, LiveServer

pytestmark = pytest.mark.browser


def fill_connect_form(page: Any, server: LiveServer, password: str) -> None:
    emulator = server.emulator
    page.get_by_label("Account name").fill("My Salesforce")
    page.get_by_label("Environment URL").fill(emulator.url)
    page.get_by_label("Username").fill(emulator.username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Security token").fill(emulator.security_token)


def test_connect_then_explore_account(signed_in: Any, server: LiveServer) -> None:
    page = signed_in
    page.get_by_role("link", name="Sources").click()
    page.locator(f'[data-spec-id="{SALESFORCE_SPEC_ID}"]').get_by_role("link", name="Connect").click()
    assert page.get_by_label("Password").get_attribute("type") == "password"
    assert "Password for the user account" in page.locator("#h-password").inner_text()  # help text

    fill_connect_form(page, server, "not-the-password")
    page.get_by_role("button", name="Test connection").click()
    failed = page.locator("#test-result [role=alert]")
    failed.wait_for()
    assert failed.inner_text().startswith("Connection failed:")
    assert "not-the-password" not in page.content()

    page.get_by_label("Password").fill(server.emulator.password)
    page.get_by_role("button", name="Test connection").click()
    page.locator("#test-result").get_by_text("Connection works").wait_for()
    page.get_by_role("button", name="Save account").click()
    page.get_by_role("heading", name="My Salesforce").wait_for()
    assert "Account 'My Salesforce' saved." in page.get_by_role("status").first.inner_text()
    assert page.get_by_label("Password").input_value() == ""  # a stored secret is never sent back
    assert server.emulator.password not in page.content()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="My Salesforce").wait_for()

    page.get_by_role("link", name="My Salesforce").click()
    page.get_by_role("link", name="Explore").click()
    page.get_by_label("Search objects").fill("acc")
    expect(page.get_by_role("link", name="Contact", exact=True)).to_have_count(0)  # filtered in place
    page.get_by_role("link", name="Account", exact=True).wait_for()
    page.get_by_role("link", name="Account", exact=True).click()

    page.get_by_role("heading", name="Account", exact=True).wait_for()
    columns = page.locator("#columns tbody tr")
    assert columns.count() > 20
    assert page.locator("#columns tbody").get_by_text("Name", exact=True).count() == 1
    preview_rows = page.locator("#preview tbody tr")
    expected = min(100, server.emulator.sql('SELECT count(*) FROM "Account" WHERE NOT "IsDeleted"')[0][0])
    assert preview_rows.count() == expected
    link = page.get_by_role("link", name="Create a dataflow")
    assert link.get_attribute("href").endswith("object=Account")
