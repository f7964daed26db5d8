"""Wire behaviour of the emulator over real HTTPS: auth, REST, SOQL errors, Bulk 2.0, faults, mutations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from headwater.emulators.salesforce.testing import RunningEmulator, running_emulator

V = "/services/data/v62.0"


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with running_emulator(Path(tmp_path_factory.mktemp("sfwire"))) as emulator:
        yield emulator


@pytest.fixture
def client(sf: RunningEmulator) -> Iterator[httpx.Client]:
    sf.reset_faults()
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context(), timeout=30) as http:
        token = _token(http, sf)
        http.headers["Authorization"] = f"Bearer {token}"
        yield http
    sf.reset_faults()


def _token(http: httpx.Client, sf: RunningEmulator) -> str:
    response = http.post(
        "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sf.client_id,
            "client_secret": sf.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    return response.status_code, body[0]["errorCode"], body[0]["message"]


# --- auth -----------------------------------------------------------------------------------------


def test_soap_login_fault_for_password_without_token(sf: RunningEmulator) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        SalesforceLogin(
            username=sf.username,
            password=sf.password,
            security_token="",
            scratch_url=sf.url,
            session=sf.requests_session(),
        )
    assert caught.value.code == "INVALID_LOGIN"


def test_oauth_grants_and_errors(sf: RunningEmulator) -> None:
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context()) as http:
        password = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
                "username": sf.username,
                "password": sf.password + sf.security_token,
            },
        )
        body = password.json()
        assert (
            password.status_code == 200 and body["instance_url"] == sf.url and body["token_type"] == "Bearer"
        )
        assert "refresh_token" not in body
        basic = http.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(sf.client_id, sf.client_secret),
        )
        assert basic.status_code == 200 and basic.json()["access_token"]
        refresh = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
                "refresh_token": sf.refresh_token,
            },
        )
        assert refresh.status_code == 200
        usable = http.get(
            f"{V}/limits", headers={"Authorization": "Bearer " + refresh.json()["access_token"]}
        )
        assert usable.status_code == 200 and usable.json()["DailyApiRequests"]["Max"] == 100000

        wrong_password = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
                "username": sf.username,
                "password": sf.password,
            },
        )
        assert (wrong_password.status_code, wrong_password.json()) == (
            400,
            {"error": "invalid_grant", "error_description": "authentication failure"},
        )
        wrong_client = http.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
        )
        assert wrong_client.json() == {
            "error": "invalid_client_id",
            "error_description": "client identifier invalid",
        }
        bad_refresh = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
                "refresh_token": "old",
            },
        )
        assert bad_refresh.json()["error_description"] == "expired access/refresh token"


def test_invalid_session_is_a_json_array_401(sf: RunningEmulator) -> None:
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context()) as http:
        response = http.get(f"{V}/sobjects", headers={"Authorization": "Bearer not-a-session"})
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert response.status_code == 401


def test_versions_need_no_auth_and_get_no_limit_header(sf: RunningEmulator) -> None:
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context()) as http:
        response = http.get("/services/data/")
    assert response.status_code == 200 and "sforce-limit-info" not in response.headers
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in response.json()


# --- REST -----------------------------------------------------------------------------------------


def test_limit_info_header_and_unknown_version(client: httpx.Client, sf: RunningEmulator) -> None:
    response = client.get(f"{V}/sobjects/")
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={sf.api_usage}/100000"
    assert [o["name"] for o in response.json()["sobjects"]][:2] == ["User", "Account"]
    assert _error(client.get("/services/data/v9.0/sobjects"))[:2] == (404, "NOT_FOUND")
    assert _error(client.get(f"{V}/sobjects/Nope/describe"))[:2] == (404, "NOT_FOUND")


def test_query_paging_batch_size_and_value_formats(client: httpx.Client, sf: RunningEmulator) -> None:
    soql = "SELECT Id, Name, CreatedDate, Birthdate, MailingAddress, Account.Name, HasOptedOutOfEmail FROM Contact WHERE Account.Industry = 'banking'"
    first = client.get(
        f"{V}/query", params={"q": soql}, headers={"Sforce-Query-Options": "batchSize=50"}
    ).json()
    expected = sf.sql(
        'SELECT count(*) FROM "Contact" c JOIN "Account" a ON a."Id" = c."AccountId" WHERE a."Industry" = \'Banking\' AND NOT c."IsDeleted"'
    )[0][0]
    assert first["totalSize"] == expected and len(first["records"]) == min(
        200, expected
    )  # batchSize clamps to 200
    records = list(first["records"])
    page = first
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith(f"{V}/query/01g")
        page = client.get(page["nextRecordsUrl"]).json()
        records += page["records"]
    assert "nextRecordsUrl" not in page and len(records) == expected
    record = records[0]
    assert record["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{record['Id']}"}
    assert record["CreatedDate"].endswith("+0000") and len(record["CreatedDate"]) == 28
    assert set(record["MailingAddress"]) == {
        "street",
        "city",
        "state",
        "postalCode",
        "country",
        "latitude",
        "longitude",
        "geocodeAccuracy",
    }
    assert record["Account"]["attributes"]["type"] == "Account" and isinstance(
        record["HasOptedOutOfEmail"], bool
    )


def test_missing_parent_is_null(client: httpx.Client) -> None:
    records = client.get(
        f"{V}/query", params={"q": "SELECT Id, Account.Name FROM Contact WHERE AccountId = null LIMIT 3"}
    ).json()["records"]
    assert records and all(r["Account"] is None for r in records)


@pytest.mark.parametrize(
    "literal",
    [
        "2022-01-01T00:00:00Z",
        "2022-01-01T00:00:00.000Z",
        "2022-01-01T00:00:00+00:00",
        "2022-01-01T00:00:00.000000Z",
        "2022-01-01T01:00:00.000+01:00",
    ],
)
def test_datetime_literals_clients_send(client: httpx.Client, sf: RunningEmulator, literal: str) -> None:
    soql = f"SELECT Id FROM Account WHERE SystemModstamp >= {literal} AND (Type IN ('Partner', 'Other') OR NOT Name LIKE 'acme%') ORDER BY Id"
    body = client.get(f"{V}/query", params={"q": soql}).json()
    truth = sf.sql(
        """SELECT "Id" FROM "Account" WHERE NOT "IsDeleted" AND "SystemModstamp" >= TIMESTAMP '2022-01-01'
           AND ("Type" IN ('Partner', 'Other') OR NOT "Name" ILIKE 'acme%') ORDER BY "Id" """
    )
    assert [r["Id"] for r in body["records"]] == [t[0] for t in truth]


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported."),
        ("SELECT Id, Nmae FROM Account", "INVALID_FIELD", "No such column 'Nmae' on entity 'Account'."),
        (
            "SELECT Id, Foo.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Foo' in field path.",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate > '2020-01-01'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELEC Id FROM Account", "MALFORMED_QUERY", "unexpected token: 'SELEC'"),
        (
            "SELECT Name, COUNT(Id) FROM Account WHERE Name = 'x'",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        ("SELECT Id, COUNT() FROM Account", "MALFORMED_QUERY", "COUNT() must be the only element"),
        (
            "SELECT SUM(Name) FROM Account",
            "MALFORMED_QUERY",
            "field Name does not support aggregate operator SUM",
        ),
        (
            "SELECT Score__c, COUNT(Id) FROM Account GROUP BY Score__c",
            "MALFORMED_QUERY",
            "can not be grouped",
        ),
        ("SELECT Id total FROM Account", "MALFORMED_QUERY", "Only aggregate expressions use field aliasing"),
    ],
)
def test_soql_error_bodies(client: httpx.Client, soql: str, code: str, fragment: str) -> None:
    status, error_code, message = _error(client.get(f"{V}/query", params={"q": soql}))
    assert (status, error_code) == (400, code)
    assert fragment in message and "ERROR at Row:1:Column:" in message


# --- Bulk 2.0 -------------------------------------------------------------------------------------


def _wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(500):
        info = client.get(f"{V}/jobs/query/{job_id}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return dict(info)
        time.sleep(0.02)
    raise AssertionError("job did not finish")


def test_bulk_pages_locator_and_delimiters(client: httpx.Client, sf: RunningEmulator) -> None:
    created = client.post(
        f"{V}/jobs/query",
        json={
            "operation": "query",
            "query": "SELECT Id, Name, Account.Name, CreatedDate FROM Contact",
            "columnDelimiter": "TAB",
            "lineEnding": "CRLF",
        },
    ).json()
    assert (
        created["state"] == "UploadComplete"
        and created["id"].startswith("750")
        and created["object"] == "Contact"
    )
    info = _wait(client, created["id"])
    assert info["numberRecordsProcessed"] == 1000 and info["jobType"] == "V2Query"
    locator, bodies = None, []
    while locator != "null":
        params = {"maxRecords": "400", **({"locator": locator} if locator else {})}
        page = client.get(f"{V}/jobs/query/{created['id']}/results", params=params)
        assert page.headers["content-type"].startswith("text/csv")
        bodies.append((page.headers["Sforce-NumberOfRecords"], page.text))
        locator = page.headers["Sforce-Locator"]
    assert [n for n, _ in bodies] == ["400", "400", "200"]
    assert all(text.startswith('"Id"\t"Name"\t"Account.Name"\t"CreatedDate"\r\n') for _, text in bodies)
    first_row = bodies[0][1].split("\r\n")[1].split("\t")
    assert first_row[3].endswith('Z"') and first_row[0] == f'"{sf.sql("SELECT min(Id) FROM Contact")[0][0]}"'
    assert client.delete(f"{V}/jobs/query/{created['id']}").status_code == 204
    assert _error(client.get(f"{V}/jobs/query/{created['id']}"))[:2] == (404, "NOT_FOUND")


def test_bulk_412_abort_and_delete_rules(client: httpx.Client, sf: RunningEmulator) -> None:
    sf.set_faults(bulk_job_seconds=5)
    job = client.post(
        f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()
    early = client.get(f"{V}/jobs/query/{job['id']}/results")
    status, code, message = _error(early)
    assert (status, code) == (412, "JOB_NOT_COMPLETE") and message.startswith(
        "can only download query results of successfully completed bulk job"
    )
    status, code, message = _error(client.delete(f"{V}/jobs/query/{job['id']}"))
    assert (status, code, message) == (
        400,
        "API_ERROR",
        "Error encountered when deleting the job because the job is not terminated",
    )
    aborted = client.patch(f"{V}/jobs/query/{job['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    assert client.delete(f"{V}/jobs/query/{job['id']}").status_code == 204


def test_bulk_rejects_compound_fields_and_bad_soql(client: httpx.Client) -> None:
    compound = client.post(
        f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id, BillingAddress FROM Account"}
    )
    assert (
        _error(compound)[0] == 400
        and _error(compound)[2] == "Selecting compound data not supported in Bulk Query"
    )
    bad = client.post(f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Nothing"})
    assert _error(bad)[:2] == (400, "INVALID_TYPE")


# --- fault knobs ----------------------------------------------------------------------------------


def test_request_limit_exceeded_after_n_calls(client: httpx.Client, sf: RunningEmulator) -> None:
    sf.set_faults(request_limit=sf.api_usage + 2)
    assert client.get(f"{V}/limits").status_code == 200
    assert client.get(f"{V}/limits").status_code == 200
    refused = client.get(f"{V}/limits")
    assert _error(refused) == (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    assert refused.headers["Sforce-Limit-Info"].startswith(f"api-usage={sf.api_usage}/")


def test_session_expires_after_n_calls(client: httpx.Client, sf: RunningEmulator) -> None:
    sf.set_faults(session_expiry_calls=2)
    token = _token(client, sf)
    headers = {"Authorization": f"Bearer {token}"}
    assert [client.get(f"{V}/limits", headers=headers).status_code for _ in range(3)] == [200, 200, 401]
    assert client.get(f"{V}/limits", headers=headers).status_code == 401  # gone for good


def test_expire_sessions_via_admin_api(client: httpx.Client) -> None:
    assert client.post("/__emulator__/sessions/expire").status_code == 204
    assert _error(client.get(f"{V}/limits"))[:2] == (401, "INVALID_SESSION_ID")


def test_transient_503_then_recovery(client: httpx.Client, sf: RunningEmulator) -> None:
    client.post("/__emulator__/faults", json={"unavailable_calls": 2})
    assert [client.get(f"{V}/limits").status_code for _ in range(3)] == [503, 503, 200]


def test_query_timeout_rest_and_bulk(client: httpx.Client, sf: RunningEmulator) -> None:
    sf.set_faults(query_timeouts=1)
    timed_out = client.get(f"{V}/query", params={"q": "SELECT Id FROM Task"})
    assert _error(timed_out) == (400, "QUERY_TIMEOUT", "Your query request was running for too long.")
    assert client.get(f"{V}/query", params={"q": "SELECT Id FROM Task"}).status_code == 200
    sf.set_faults(query_timeouts=1)
    job = client.post(f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Task"}).json()
    info = _wait(client, job["id"])
    assert info["state"] == "Failed" and "QUERY_TIMEOUT" in info["errorMessage"]


def test_connection_dropped_in_the_middle_of_a_page(client: httpx.Client, sf: RunningEmulator) -> None:
    job = client.post(
        f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id, Name FROM Account"}
    ).json()
    _wait(client, job["id"])
    sf.set_faults(dropped_pages=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{V}/jobs/query/{job['id']}/results")
    whole = client.get(f"{V}/jobs/query/{job['id']}/results")  # the retry gets the same page in full
    assert whole.headers["Sforce-NumberOfRecords"] == "500" and whole.text.count('\n"001') == 500


def test_slow_responses(client: httpx.Client, sf: RunningEmulator) -> None:
    sf.set_faults(delay_seconds=0.3)
    started = time.monotonic()
    assert client.get(f"{V}/limits").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_unknown_fault_knob_is_refused(client: httpx.Client) -> None:
    response = client.post("/__emulator__/faults", json={"nonsense": 1})
    assert _error(response)[:2] == (400, "INVALID_FIELD")


# --- mutations ------------------------------------------------------------------------------------


def _ids(client: httpx.Client, resource: str, soql: str) -> dict[str, Any]:
    return {r["Id"]: r for r in client.get(f"{V}/{resource}", params={"q": soql}).json()["records"]}


def test_mutations_seen_by_query_queryall_deleted_and_updated(
    client: httpx.Client, sf: RunningEmulator
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    record_id = sf.insert("Invoice__c", Amount__c=100, Tax_Rate__c=20, Status__c="Draft")
    soql = (
        f"SELECT Id, Amount__c, Total__c, SystemModstamp, IsDeleted FROM Invoice__c WHERE Id = '{record_id}'"
    )
    inserted = _ids(client, "query", soql)[record_id]
    assert inserted["Total__c"] == 120.0  # the formula field is computed

    via_http = client.patch(f"/__emulator__/records/Invoice__c/{record_id}", json={"Amount__c": 200})
    assert via_http.status_code == 204
    updated = _ids(client, "query", soql)[record_id]
    assert updated["Amount__c"] == 200.0 and updated["SystemModstamp"] > inserted["SystemModstamp"]

    window = {
        "start": start.isoformat(timespec="seconds"),
        "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds"),
    }
    assert record_id in client.get(f"{V}/sobjects/Invoice__c/updated/", params=window).json()["ids"]

    sf.delete("Invoice__c", record_id)
    assert record_id not in _ids(client, "query", soql)
    deleted = _ids(client, "queryAll", soql)[record_id]
    assert deleted["IsDeleted"] is True and deleted["SystemModstamp"] > updated["SystemModstamp"]
    log = client.get(f"{V}/sobjects/Invoice__c/deleted/", params=window).json()
    assert [d["id"] for d in log["deletedRecords"]] == [record_id]
    assert record_id not in client.get(f"{V}/sobjects/Invoice__c/updated/", params=window).json()["ids"]

    assert client.post("/__emulator__/purge", json={"sobject": "Invoice__c"}).json() == {"purged": 1}
    assert record_id not in _ids(client, "queryAll", soql)


def test_admin_insert_and_bulk_queryall_sees_deletes(client: httpx.Client, sf: RunningEmulator) -> None:
    created = client.post("/__emulator__/records/Lead", json={"LastName": "O'Hare", "Company": 'Quote "Co"'})
    assert created.status_code == 201
    lead_id = created.json()["id"]
    assert lead_id.startswith("00Q") and len(lead_id) == 18
    client.delete(f"/__emulator__/records/Lead/{lead_id}")
    job = client.post(
        f"{V}/jobs/query",
        json={
            "operation": "queryAll",
            "query": f"SELECT Id, IsDeleted, Company FROM Lead WHERE Id = '{lead_id}'",
        },
    ).json()
    _wait(client, job["id"])
    text = client.get(f"{V}/jobs/query/{job['id']}/results").text
    assert text == f'"Id","IsDeleted","Company"\n"{lead_id}","true","Quote ""Co"""\n'
    bad = client.post("/__emulator__/records/Lead", json={"Nope__c": 1})
    assert _error(bad)[:2] == (400, "INVALID_FIELD")


def test_a_completed_job_is_a_snapshot(client: httpx.Client, sf: RunningEmulator) -> None:
    job = client.post(
        f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id, Name FROM Campaign"}
    ).json()
    _wait(client, job["id"])
    before = client.get(f"{V}/jobs/query/{job['id']}/results", params={"maxRecords": "7"}).text
    first_id = before.splitlines()[1].split(",")[0].strip('"')
    sf.update("Campaign", first_id, Name="Renamed after the job")
    sf.insert("Campaign", Name="Added after the job")
    again = client.get(f"{V}/jobs/query/{job['id']}/results", params={"maxRecords": "7"})
    assert again.text == before and again.headers["Sforce-Locator"] == "Nw"
    total = 0
    locator = None
    while locator != "null":
        page = client.get(
            f"{V}/jobs/query/{job['id']}/results",
            params={"maxRecords": "7", **({"locator": locator} if locator else {})},
        )
        total += int(page.headers["Sforce-NumberOfRecords"])
        locator = page.headers["Sforce-Locator"]
    assert total == 20


def test_query_cursor_pages_are_a_snapshot(client: httpx.Client, sf: RunningEmulator) -> None:
    soql = "SELECT Id FROM Contact ORDER BY Id DESC LIMIT 450"
    expected = [
        r[0] for r in sf.sql('SELECT "Id" FROM "Contact" WHERE NOT "IsDeleted" ORDER BY "Id" DESC LIMIT 450')
    ]
    first = client.get(
        f"{V}/query", params={"q": soql}, headers={"Sforce-Query-Options": "batchSize=200"}
    ).json()
    sf.delete("Contact", expected[300])  # not yet fetched, still served: the cursor is a snapshot
    sf.insert("Contact", LastName="After the cursor")  # the highest id now, yet not in this cursor
    ids, page, pages = [r["Id"] for r in first["records"]], first, 1
    while not page["done"]:
        page = client.get(page["nextRecordsUrl"]).json()
        ids += [r["Id"] for r in page["records"]]
        pages += 1
    assert (first["totalSize"], pages) == (450, 3) and ids == expected


def test_results_need_the_jobs_api_version(client: httpx.Client) -> None:
    job = client.post(
        f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Campaign"}
    ).json()
    _wait(client, job["id"])
    assert _error(client.get(f"/services/data/v58.0/jobs/query/{job['id']}/results"))[:2] == (
        409,
        "API_VERSION_MISMATCH",
    )
    listed = client.get(f"{V}/jobs/query").json()
    assert job["id"] in [j["id"] for j in listed["records"]] and listed["done"] is True
