"""Accounts over plain HTTP: validation, masking, edit with secrets kept, delete refused while used, CSRF."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import httpx
import pytest
from ui_support import SALESFORCE_SPEC_ID, LiveServer, csrf_of

from headwater.ui.forms import fields_of, label_of, params_from_form

SF = "/data/foundation/flowservice"


@pytest.fixture
def http(server: LiveServer) -> Any:
    """A signed-in HTTP client of the served UI (cookies kept, redirects not followed)."""
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        token = csrf_of(client.get("/ui/login").text)
        signed = client.post(
            "/ui/login",
            data={"client_id": server.client_id, "client_secret": server.client_secret, "csrf_token": token},
        )
        assert signed.status_code == 303
        yield client


def connect(http: Any, server: LiveServer, name: str, **override: str) -> httpx.Response:
    emulator = server.emulator
    data = {
        "csrf_token": csrf_of(http.get(f"/ui/connect/{SALESFORCE_SPEC_ID}").text),
        "name": name,
        "auth_spec": "Basic Authentication",
        "param.environmentUrl": emulator.url,
        "param.username": emulator.username,
        "param.password": emulator.password,
        "param.securityToken": emulator.security_token,
        **override,
    }
    response: httpx.Response = http.post(f"/ui/connect/{SALESFORCE_SPEC_ID}", data=data)
    return response


def account_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def test_form_helpers() -> None:
    assert label_of("environmentUrl") == "Environment URL" and label_of("clientId") == "Client ID"
    assert label_of("includeDeletedObjects") == "Include deleted objects"
    spec = {
        "spec": {
            "properties": {
                "a": {"type": "string", "format": "password"},
                "b": {"type": "boolean"},
                "c": {"type": "integer"},
                "d": {"type": "string", "enum": ["x", "y"]},
            },
            "required": ["a"],
        }
    }
    fields = fields_of(spec)
    assert [f.kind for f in fields] == ["password", "checkbox", "number", "select"]
    assert params_from_form(fields, {"param.c": "12", "param.d": "x"}) == {"b": False, "c": 12, "d": "x"}
    assert params_from_form(fields, {"param.a": ""}, keep_secrets={"a": "kept"})["a"] == "kept"


def test_connect_validation_errors_keep_input_but_not_secrets(http: Any, server: LiveServer) -> None:
    missing = connect(http, server, "Broken", **{"param.username": ""})
    assert missing.status_code == 400
    assert "auth.params.username is not provided" in missing.text and "(1304-400)" in missing.text
    assert server.emulator.password not in missing.text and server.emulator.security_token not in missing.text
    assert 'value="Broken"' in missing.text and server.emulator.url in missing.text
    bad_pattern = connect(http, server, "Broken", **{"param.apiVersion": "sixty"})
    assert bad_pattern.status_code == 400 and "auth.params.apiVersion is invalid" in bad_pattern.text
    unnamed = connect(http, server, "")
    assert unnamed.status_code == 400 and "Give the account a name." in unnamed.text


def test_test_before_save_reports_the_sources_reason(http: Any, server: LiveServer) -> None:
    page = http.get(f"/ui/connect/{SALESFORCE_SPEC_ID}").text
    data = {
        "auth_spec": "Basic Authentication",
        "param.environmentUrl": server.emulator.url,
        "param.username": server.emulator.username,
        "param.password": "wrong",
        "param.securityToken": server.emulator.security_token,
    }
    headers = {"X-CSRF-Token": csrf_of(page), "HX-Request": "true"}
    wrong = http.post(f"/ui/connect/{SALESFORCE_SPEC_ID}/test", data=data, headers=headers)
    assert wrong.status_code == 200 and "Connection failed:" in wrong.text and "<html" not in wrong.text
    right = http.post(
        f"/ui/connect/{SALESFORCE_SPEC_ID}/test",
        data={**data, "param.password": server.emulator.password},
        headers=headers,
    )
    assert "Connection works" in right.text
    listed = httpx.get(server.url + SF + "/connections", headers=server.api_headers()).json()["items"]
    assert not [c for c in listed if c["name"] == "Test only"]  # testing stores nothing
    forged = http.post(f"/ui/connect/{SALESFORCE_SPEC_ID}/test", data=data, headers={"HX-Request": "true"})
    assert forged.status_code == 403


def test_edit_keeps_secrets_and_checks_the_etag(http: Any, server: LiveServer) -> None:
    new_id = account_id(connect(http, server, "Editable"))
    page = http.get(f"/ui/accounts/{new_id}")
    assert page.status_code == 200 and server.emulator.password not in page.text
    assert "stored — leave empty to keep" in page.text
    etag = re.search(r'name="etag" value="([^"]+)"', page.text)
    assert etag is not None
    form = {
        "csrf_token": csrf_of(page.text),
        "etag": html.unescape(etag.group(1)),
        "name": "Edited",
        "description": "now with a description",
        "auth_spec": "Basic Authentication",
        "param.environmentUrl": server.emulator.url,
        "param.username": server.emulator.username,
        "param.password": "",
        "param.securityToken": "",
    }
    saved = http.post(f"/ui/accounts/{new_id}", data=form)
    assert saved.status_code == 303, re.findall(r"flash error[^<]*<", saved.text)
    api = httpx.get(f"{server.url}{SF}/connections/{new_id}", headers=server.api_headers()).json()["items"][0]
    assert api["name"] == "Edited" and api["description"] == "now with a description"
    assert api["auth"]["params"]["password"] == "*****"
    tested = http.post(f"/ui/accounts/{new_id}/test", headers={"X-CSRF-Token": form["csrf_token"]})
    assert "Connection works" in tested.text  # the kept secrets still sign in
    stale = http.post(f"/ui/accounts/{new_id}", data={**form, "name": "Stale"})  # the old etag
    assert (
        stale.status_code == 400
        and "Stale"
        not in httpx.get(f"{server.url}{SF}/connections/{new_id}", headers=server.api_headers()).text
    )


def test_delete_is_refused_while_a_flow_uses_the_account(http: Any, server: LiveServer) -> None:
    used_id = account_id(connect(http, server, "Used by a flow"))
    headers = server.api_headers()
    source = httpx.post(
        server.url + SF + "/sourceConnections",
        headers=headers,
        json={
            "name": "src",
            "baseConnectionId": used_id,
            "data": {"format": "tabular"},
            "params": {"tableName": "Account", "columns": [{"name": "Id", "type": "string"}]},
            "connectionSpec": {"id": SALESFORCE_SPEC_ID, "version": "1.0"},
        },
    ).json()["id"]
    created = httpx.post(
        server.url + "/data/foundation/catalog/dataSets", headers=headers, json={"name": "ds"}
    ).json()
    dataset = created[0].rsplit("/", 1)[1]
    target = httpx.post(
        server.url + SF + "/targetConnections",
        headers=headers,
        json={
            "name": "tgt",
            "params": {"dataSetId": dataset},
            "connectionSpec": {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c", "version": "1.0"},
        },
    ).json()["id"]
    flow = httpx.post(
        server.url + SF + "/flows",
        headers=headers,
        json={
            "name": "uses the account",
            "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [],
            "scheduleParams": {"startTime": str(int(time.time()) + 3600), "frequency": "once"},
        },
    )
    assert flow.status_code == 201, flow.text
    confirm = http.get(f"/ui/accounts/{used_id}/delete")
    refused = http.post(f"/ui/accounts/{used_id}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert (
        refused.status_code == 400
        and "(1418-400)" in refused.text
        and "being used in one or more flows" in refused.text
    )
    assert httpx.get(f"{server.url}{SF}/connections/{used_id}", headers=headers).status_code == 200

    free_id = account_id(connect(http, server, "Free"))
    confirm = http.get(f"/ui/accounts/{free_id}/delete")
    deleted = http.post(f"/ui/accounts/{free_id}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/ui/accounts"
    assert httpx.get(f"{server.url}{SF}/connections/{free_id}", headers=headers).status_code == 404
    assert "Account &#39;Free&#39; deleted." in http.get("/ui/accounts").text
    gone = http.get(f"/ui/accounts/{free_id}")
    assert gone.status_code == 404 and "is not found" in gone.text


def test_explore_pages(http: Any, server: LiveServer) -> None:
    new_id = account_id(connect(http, server, "Explorable"))
    objects = http.get(
        f"/ui/accounts/{new_id}/explore", params={"q": "contact"}, headers={"HX-Request": "true"}
    )
    assert (
        f"/ui/accounts/{new_id}/explore/Contact" in objects.text and '/explore/Account"' not in objects.text
    )
    table = http.get(f"/ui/accounts/{new_id}/explore/Contact")
    assert table.status_code == 200 and "<code>Email</code>" in table.text
    assert table.text.count("<tr>") - 2 == min(
        100, server.emulator.sql('SELECT count(*) FROM "Contact"')[0][0]
    ) + len(re.findall(r"<tr><td><code>", table.text))
    missing = http.get(f"/ui/accounts/{new_id}/explore/NoSuchObject__c")
    assert missing.status_code == 200 and 'class="flash error"' in missing.text
