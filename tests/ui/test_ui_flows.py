"""In Chromium, against the served Headwater: build a dataflow for Account with a mapping (a function,
a nested destination), run it, watch the run succeed with the record count and the chart, then read
the landed rows on the dataset page."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from ui_support import LiveServer, emulator_connection_body

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def account(server: LiveServer) -> str:
    """The emulator as an account, created over the REST API as a script would."""
    emulator = server.emulator
    response = httpx.post(
        server.url + "/data/foundation/flowservice/connections",
        headers=server.api_headers(),
        json=emulator_connection_body(emulator),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_build_run_and_read_a_dataflow(signed_in: Any, server: LiveServer, account: str) -> None:
    page = signed_in
    accounts = server.emulator.sql('SELECT count(*) FROM "Account" WHERE NOT "IsDeleted"')[0][0]

    # 1. Source: the account, then the object (htmx fills the object list when the account changes).
    page.get_by_role("link", name="Dataflows", exact=True).click()
    page.get_by_role("link", name="Create a dataflow").click()
    page.get_by_label("Account", exact=True).select_option(label="Emulated Salesforce")
    page.get_by_label("Object", exact=True).select_option("Account")
    page.get_by_role("button", name="Choose columns").click()

    # 2. Columns: all ticked by default.
    assert page.get_by_role("checkbox", name=re.compile(r"^Name\b")).is_checked()
    assert page.get_by_role("checkbox", name=re.compile(r"^Phone\b")).is_checked()
    page.get_by_role("button", name="Clear all columns").click()
    page.locator("#row-error-0").get_by_text("unknown source field 'Name'").wait_for()
    page.get_by_role("button", name="Select all columns").click()
    page.get_by_text("The mapping is valid (1 row)").wait_for()

    # 3. Mapping: the first row is prefilled; make it nested, add a function row, checked as typed.
    page.get_by_label("Dataset column of mapping 1").fill("account.name")
    page.get_by_role("button", name="Add a mapping row").click()
    page.get_by_label("Type of mapping 2").select_option(label="Expression")
    page.get_by_label("Source of mapping 2").fill("lower(Nmae)")
    page.get_by_label("Dataset column of mapping 2").fill("account.key")
    error = page.locator("#row-error-1")
    error.get_by_text("unknown source field 'Nmae'").wait_for()
    assert page.get_by_label("Source of mapping 2").get_attribute("aria-describedby") == "row-error-1"
    page.get_by_label("Source of mapping 2").fill("lower(Name)")
    page.get_by_text("The mapping is valid (2 rows)").wait_for()
    assert error.inner_text() == ""

    # 4-5. Dataset (new, named) and schedule (once, the default start time), then review and create.
    page.get_by_label("New dataset name").fill("Browser accounts")
    page.get_by_label("Dataflow name").fill("Accounts from the browser")
    assert page.get_by_label("Frequency").input_value() == "once"
    page.get_by_role("button", name="Review").click()
    assert page.get_by_role("heading", name="Review the dataflow").is_visible()
    assert page.get_by_role("cell", name="lower(Name)").is_visible()
    page.get_by_role("button", name="Create dataflow").click()
    page.get_by_text("Dataflow Accounts from the browser created.").wait_for()

    # Run it; the runs fragment polls until the run has succeeded.
    page.get_by_role("button", name="Run now").click()
    page.get_by_text("scheduled.").first.wait_for()
    runs = page.locator("#runs")
    runs.locator(".badge.success").wait_for(timeout=180_000)
    row = runs.locator("table.runs tbody tr").first
    cells = row.locator("td")
    assert cells.nth(0).inner_text() == "success"
    assert cells.nth(3).inner_text() == str(accounts)  # records in
    assert cells.nth(4).inner_text() == str(accounts)  # records out
    assert cells.nth(5).inner_text() == "0"
    chart = runs.get_by_role("img", name=re.compile("Records out and duration per run"))
    assert chart.is_visible()
    bar_title = chart.locator("rect.bar title").first.text_content() or ""
    assert f"{accounts} records out" in bar_title
    assert f"records out from {accounts} to {accounts}" in runs.locator("figcaption").inner_text()
    flows = page.get_by_role("link", name="Dataflows", exact=True)

    # The dataset: its schema with the nested column as a dotted path, and the landed rows.
    dataset_link = page.locator("dl.facts a[href^='/ui/datasets/']")
    dataset_link.click()
    page.get_by_role("heading", name="Browser accounts").wait_for()
    schema = page.get_by_role("table", name="Schema")
    for path in ("Id", "account.name", "account.key"):
        assert schema.get_by_role("cell", name=path, exact=True).is_visible()
    preview = page.get_by_role("table", name="Preview")
    assert preview.locator("tbody tr").count() == min(accounts, 100)
    headers = preview.locator("thead th").all_inner_texts()
    first = dict(zip(headers, preview.locator("tbody tr").first.locator("td").all_inner_texts(), strict=True))
    assert first["account.key"] == first["account.name"].lower() and first["account.name"]
    assert page.locator("dl.facts").get_by_text(str(accounts), exact=True).is_visible()

    # The monitor lists the flow with its last run.
    flows.click()
    listed = page.get_by_role("row", name=re.compile("Accounts from the browser"))
    assert "Account" in listed.inner_text() and "success" in listed.inner_text()
    page.get_by_role("link", name="Headwater").click()  # the start page shows the same table
    home_row = page.get_by_role("row", name=re.compile("Accounts from the browser"))
    home_row.wait_for()
    assert "success" in home_row.inner_text()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    assert (
        page.get_by_role("row", name=re.compile("Browser accounts")).get_by_text(str(accounts)).is_visible()
    )


def test_flow_pages_at_phone_width(browser: Any, server: LiveServer, account: str) -> None:
    from ui_support import sign_in

    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, server)
        for path in ("/ui/flows", f"/ui/flows/new?account={account}&object=Account", "/ui/datasets"):
            page.goto(server.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} scrolls sideways at phone width ({width}px)"
    finally:
        context.close()
