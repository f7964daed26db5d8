"""The dataflow pages over plain HTTP (in-process app + the emulator): the builder's live mapping
check and its refusals, creating a flow, run now, enable/disable, re-trigger, datasets, CSRF."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from ui_support import csrf_of, emulator_connection_body


@dataclass
class Signed:
    http: TestClient
    csrf: str
    account: str
    emulator: Any
    app: Any


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    from headwater.app import prepare
    from headwater.core.settings import load_settings
    from headwater.emulators.salesforce.testing import running_emulator

    with running_emulator(tmp_path_factory.mktemp("flows-sf"), rows={"Account": 30}) as emulator:
        settings = load_settings(
            data_dir=tmp_path_factory.mktemp("flows-http"),
            ca_bundle=emulator.ca_file,
            outbound_allow=emulator.host,
        )
        app, credentials = prepare(settings, runtime=False)
        with TestClient(app, raise_server_exceptions=False) as http:  # type: ignore[arg-type]
            token = http.post(
                "/ims/token/v3",
                data={
                    "grant_type": "client_credentials",
                    "client_id": credentials.client_id,  # type: ignore[attr-defined]
                    "client_secret": credentials.client_secret,  # type: ignore[attr-defined]
                },
            ).json()["access_token"]
            headers = {
                "Authorization": f"Bearer {token}",
                "x-api-key": credentials.client_id,  # type: ignore[attr-defined]
                "x-gw-ims-org-id": credentials.org_id,  # type: ignore[attr-defined]
                "x-sandbox-name": "prod",
            }
            created = http.post(
                "/data/foundation/flowservice/connections",
                headers=headers,
                json=emulator_connection_body(emulator),
            )
            assert created.status_code == 201, created.text
            login = csrf_of(http.get("/ui/login").text)
            response = http.post(
                "/ui/login",
                data={
                    "client_id": credentials.client_id,  # type: ignore[attr-defined]
                    "client_secret": credentials.client_secret,  # type: ignore[attr-defined]
                    "csrf_token": login,
                },
                follow_redirects=False,
            )
            assert response.status_code == 303
            csrf = csrf_of(http.get("/ui/flows").text)
            yield Signed(http, csrf, created.json()["id"], emulator, app)


def builder_form(signed: Signed, **overrides: Any) -> dict[str, Any]:
    start = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 3600))
    form: dict[str, Any] = {
        "csrf_token": signed.csrf,
        "account": signed.account,
        "object": "Account",
        "name": "Accounts nightly",
        "column_types": ["Id:string", "Name:string", "Phone:string", "AnnualRevenue:double"],
        "columns": ["Id", "Name", "Phone", "AnnualRevenue"],
        "dataset_choice": "new",
        "dataset_name": "Accounts",
        "source_type": ["ATTRIBUTE", "EXPRESSION"],
        "source": ["Name", "lower(Name)"],
        "destination": ["account.name", "account.key"],
        "frequency": "once",
        "interval": "",
        "start_time": start,
        "delta_column": "",
    }
    form.update(overrides)
    return form


def row_error(html: str, index: int) -> str:
    match = re.search(rf'<p id="row-error-{index}" class="row-error"[^>]*>(.*?)</p>', html, re.S)
    assert match is not None, html
    return match.group(1).strip()


def test_builder_lists_columns_from_the_source(signed: Signed) -> None:
    page = signed.http.get("/ui/flows/new", params={"account": signed.account, "object": "Account"})
    assert page.status_code == 200
    for column in ("Id", "Name", "LastModifiedDate"):
        assert f'name="columns" value="{column}" checked' in page.text
    assert 'value="Account from Emulated Salesforce"' in page.text
    objects = signed.http.get("/ui/flows/new/objects", params={"account": signed.account})
    assert '<option value="Account"' in objects.text and '<option value="Contact"' in objects.text
    unknown = signed.http.get("/ui/flows/new", params={"account": signed.account, "object": "Nope"})
    assert unknown.status_code == 200 and 'role="alert"' in unknown.text and "Nope" in unknown.text


def test_mapping_validation_endpoint(signed: Signed) -> None:
    form = builder_form(
        signed,
        source_type=["ATTRIBUTE", "EXPRESSION", "CONSTANT", "ATTRIBUTE", "EXPRESSION"],
        source=["Nmae", "concat(Name, ", "ACME", "Name", "upper(Phone)"],
        destination=["n", "c", "account..x", "n", "phone"],
    )
    response = signed.http.post("/ui/flows/new/validate", data=form)
    assert response.status_code == 200
    assert "4 mapping rows need attention" in response.text
    assert row_error(response.text, 0) == "unknown source field &#39;Nmae&#39; (UNKNOWN_SOURCE_FIELD)"
    assert "(SYNTAX)" in row_error(response.text, 1)
    assert "(INVALID_DESTINATION)" in row_error(response.text, 2)
    assert "(DUPLICATE_DESTINATION)" in row_error(response.text, 3)
    assert row_error(response.text, 4) == ""
    # A column the user un-ticks is no longer a valid source.
    narrowed = builder_form(signed, columns=["Id", "Name"])
    response = signed.http.post("/ui/flows/new/validate", data=narrowed)
    assert "The mapping is valid (2 rows)" in response.text
    narrowed["source"] = ["Phone", "lower(Name)"]
    response = signed.http.post("/ui/flows/new/validate", data=narrowed)
    assert "unknown source field &#39;Phone&#39;" in row_error(response.text, 0)
    empty = builder_form(signed, source_type=["ATTRIBUTE"], source=[""], destination=[""])
    response = signed.http.post("/ui/flows/new/validate", data=empty)
    assert "Add at least one mapping" in response.text


def test_mapping_rows_add_and_remove(signed: Signed) -> None:
    added = signed.http.post("/ui/flows/new/mapping", params={"op": "add"}, data=builder_form(signed))
    assert added.text.count('class="map-row"') == 3
    removed = signed.http.post("/ui/flows/new/mapping", params={"op": "remove-0"}, data=builder_form(signed))
    assert removed.text.count('class="map-row"') == 1 and 'value="lower(Name)"' in removed.text


def test_builder_refuses_with_reasons_and_keeps_the_input(signed: Signed) -> None:
    past = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 86400))
    form = builder_form(
        signed,
        name="",
        columns=[],
        dataset_name="",
        source=["Name", "lower(Nme)"],
        start_time=past,
    )
    response = signed.http.post("/ui/flows/new/review", data=form)
    assert response.status_code == 400
    text = response.text
    assert "Give the dataflow a name." in text
    assert "Choose at least one column." in text
    assert "Name the new dataset." in text
    assert "The start time cannot be set in the past" in text and "1360-400" in text
    assert 'value="lower(Nme)"' in text  # nothing typed is lost
    periodic = builder_form(signed, frequency="minute", interval="5", delta_column="LastModifiedDate")
    response = signed.http.post("/ui/flows/new/review", data=periodic)
    assert response.status_code == 400 and "(1362-400)" in response.text
    no_delta = builder_form(signed, frequency="hour", interval="1", delta_column="")
    response = signed.http.post("/ui/flows/new/review", data=no_delta)
    assert response.status_code == 400 and "needs a delta column" in response.text


def test_review_create_run_now_enable_disable(signed: Signed) -> None:
    review = signed.http.post("/ui/flows/new/review", data=builder_form(signed))
    assert review.status_code == 200, review.text
    assert "Create dataflow" in review.text and "account.key" in review.text
    created = signed.http.post("/ui/flows/new", data=builder_form(signed), follow_redirects=False)
    assert created.status_code == 303, created.text
    flow_url = created.headers["location"]
    flow_id = flow_url.rsplit("/", 1)[1]
    detail = signed.http.get(flow_url)
    assert "Dataflow Accounts nightly created." in detail.text
    assert "Run now" in detail.text and "No run yet." in detail.text
    listing = signed.http.get("/ui/flows")
    assert "Accounts nightly" in listing.text and ">Account<" in listing.text and "enabled" in listing.text
    assert 'hx-trigger="every 15s"' in listing.text  # no run yet: the slow refresh

    run = signed.http.post(f"{flow_url}/run", data={"csrf_token": signed.csrf}, follow_redirects=True)
    assert "scheduled." in run.text and "badge scheduled" in run.text
    fragment = signed.http.get(f"{flow_url}/runs", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in fragment.text and "<html" not in fragment.text
    table = signed.http.get("/ui/flows", headers={"HX-Request": "true"})
    assert (
        'id="flow-table" hx-get="/ui/flows" hx-trigger="every 2s"' in table.text and "<html" not in table.text
    )

    disabled = signed.http.post(
        f"{flow_url}/action", data={"csrf_token": signed.csrf, "op": "disable"}, follow_redirects=True
    )
    assert "Dataflow disabled." in disabled.text and "badge disabled" in disabled.text
    assert ">Enable</button>" in disabled.text
    bad = signed.http.post(
        f"{flow_url}/action", data={"csrf_token": signed.csrf, "op": "pause"}, follow_redirects=True
    )
    assert "1435-400" in bad.text
    enabled = signed.http.post(
        f"{flow_url}/action", data={"csrf_token": signed.csrf, "op": "enable"}, follow_redirects=True
    )
    assert "Dataflow enabled." in enabled.text and ">Disable</button>" in enabled.text
    # Re-trigger of a run that did not fail: the runtime's refusal, shown on the page.
    run_id = re.search(r'data-run-id="([^"]+)"', enabled.text).group(1)  # type: ignore[union-attr]
    again = signed.http.post(
        f"{flow_url}/runs/{run_id}/retrigger", data={"csrf_token": signed.csrf}, follow_redirects=True
    )
    assert "1387-400" in again.text
    missing = signed.http.get("/ui/flows/no-such-flow")
    assert missing.status_code == 404
    fragment = signed.http.get("/ui/flows/<b>x</b>/runs", headers={"HX-Request": "true"})
    assert (
        fragment.status_code == 404 and "&lt;b&gt;x&lt;/b&gt;" in fragment.text and "<b>" not in fragment.text
    )
    # The new dataset is listed, empty: nothing ran in this process.
    datasets = signed.http.get("/ui/datasets")
    dataset_id = re.search(r'href="/ui/datasets/([0-9a-f]+)">Accounts<', datasets.text).group(1)  # type: ignore[union-attr]
    empty = signed.http.get(f"/ui/datasets/{dataset_id}")
    assert "This dataset is empty" in empty.text
    assert flow_id in signed.http.get("/ui/flows").text


def test_run_now_also_runs_a_scheduled_flow(signed: Signed) -> None:
    """The API keeps Adobe's rule (POST /runs only for once flows, 1386); the UI's Run now runs any flow."""
    form = builder_form(
        signed, name="Accounts hourly", frequency="hour", interval="1", delta_column="LastModifiedDate"
    )
    form["column_types"] = [*form["column_types"], "LastModifiedDate:date-time"]
    form["columns"] = [*form["columns"], "LastModifiedDate"]
    created = signed.http.post("/ui/flows/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    flow_url = created.headers["location"]
    page = signed.http.post(f"{flow_url}/run", data={"csrf_token": signed.csrf}, follow_redirects=True)
    assert "scheduled." in page.text and "badge scheduled" in page.text and "1386" not in page.text


def test_forms_need_the_csrf_token(signed: Signed) -> None:
    form = builder_form(signed)
    del form["csrf_token"]
    for path in ("/ui/flows/new/validate", "/ui/flows/new/mapping", "/ui/flows/new/review", "/ui/flows/new"):
        assert signed.http.post(path, data=form).status_code == 403
    for path in ("/ui/flows/x/run", "/ui/flows/x/action", "/ui/flows/x/runs/y/retrigger"):
        response = signed.http.post(path, data={"op": "disable", "csrf_token": "forged"})
        assert response.status_code == 403 and "Form expired" in response.text


def test_lists_without_anything(ui_http: tuple[Any, Any], tmp_path: Path) -> None:
    http, credentials = ui_http
    token = csrf_of(http.get("/ui/login").text)
    http.post(
        "/ui/login",
        data={
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "csrf_token": token,
        },
    )
    assert "No dataflow yet" in http.get("/ui/flows").text
    assert "No dataset yet" in http.get("/ui/datasets").text
    assert "Connect a source" in http.get("/ui/flows/new").text
    assert http.get("/ui/datasets/nope").status_code == 404


def execute(signed: Signed, run_id: str, *, with_lake: bool) -> str:
    """Run the worker's executor in-process on one run (the served tests use the embedded runtime)."""
    from headwater.core.errors import ConfigurationError
    from headwater.lake import Lake
    from headwater.runtime.executor import RunExecutor
    from headwater.runtime.plans import dataflow_plan_builder

    state = signed.app.state.headwater
    lake = Lake(state.settings.resolved_lake_root)

    def writer(dataflow: Any, context: Any) -> Any:
        if not with_lake:
            raise ConfigurationError(f"Run {context.run_id}: no lake writer is configured.")
        return lake.dataset(dataflow.org_id, dataflow.sandbox_name, dataflow.dataset_id).open_writer(
            context.run_id
        )

    builder = dataflow_plan_builder(state.settings, state.engine, open_writer=writer)
    return RunExecutor(state.engine, builder, "ui-test-worker", heartbeat_seconds=1.0).execute(run_id)


def test_failed_run_shows_its_error_and_re_triggers(signed: Signed) -> None:
    form = builder_form(signed, name="Accounts failing", dataset_name="Failing accounts")
    flow_url = signed.http.post("/ui/flows/new", data=form, follow_redirects=False).headers["location"]
    page = signed.http.post(f"{flow_url}/run", data={"csrf_token": signed.csrf}, follow_redirects=True)
    run_id = re.search(r'data-run-id="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert execute(signed, run_id, with_lake=False) == "failed"
    failed = signed.http.get(flow_url)
    assert "badge failed" in failed.text and "no lake writer is configured" in failed.text
    assert re.search(r"<code>[A-Z]+-\d{4}-\d{3}</code> Run [^ ]+ no lake writer", failed.text)
    assert 'hx-trigger="every 15s"' in failed.text  # nothing pending: the slow poll
    assert "Re-trigger" in failed.text and 'class="bar failed"' in failed.text
    listing = signed.http.get("/ui/flows").text
    assert re.search(r"Accounts failing</a>.*?badge failed", listing, re.S)
    again = signed.http.post(
        f"{flow_url}/runs/{run_id}/retrigger", data={"csrf_token": signed.csrf}, follow_redirects=True
    )
    assert f"Run {run_id} scheduled again." in again.text and "badge scheduled" in again.text
    assert 'hx-trigger="every 2s"' in again.text
    assert execute(signed, run_id, with_lake=True) == "success"
    done = signed.http.get(f"{flow_url}/runs", headers={"HX-Request": "true"}).text
    assert "badge success" in done and ">30</td>" in done and "records out from 30 to 30" in done
    dataset_id = re.search(r'/ui/datasets/([0-9a-f]+)"', signed.http.get(flow_url).text).group(1)  # type: ignore[union-attr]
    dataset = signed.http.get(f"/ui/datasets/{dataset_id}").text
    assert "<code>account.key</code>" in dataset and dataset.count("<tr><td>") >= 30


def test_a_refused_create_says_why(signed: Signed) -> None:
    """The form claims a column the source does not have: the source connection service refuses it
    (1330, checked against the source itself), the builder shows why, and no dataset or flow is made."""
    before = signed.http.get("/ui/datasets").text.count("<tr>")
    form = builder_form(
        signed,
        name="Tampered",
        dataset_name="Tampered accounts",
        columns=["Id", "Name", "Bogus"],
        column_types=["Id:string", "Name:string", "Bogus:string"],
    )
    response = signed.http.post("/ui/flows/new", data=form)
    assert response.status_code == 400
    assert (
        "The dataflow was not created: The columns Bogus were not found for table Account. (1330-400)"
        in response.text
    )
    assert signed.http.get("/ui/datasets").text.count("<tr>") == before
    assert "Tampered" not in signed.http.get("/ui/flows").text
