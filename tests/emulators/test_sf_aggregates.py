"""Aggregate SOQL over real HTTPS, checked against the org's own DuckDB truth (``sf.sql``).

Salesforce's documented forms: ``COUNT()`` answers ``totalSize`` with no records; every other
aggregate answers ``AggregateResult`` records (``attributes.type`` only, no url) whose unaliased
aggregates are named ``expr0``, ``expr1``... in SELECT order, aliases as given, grouped fields by
their field name; Bulk queries refuse aggregates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from simple_salesforce import Salesforce, SalesforceLogin

from headwater.emulators.salesforce.testing import RunningEmulator, running_emulator

V = "/services/data/v62.0"


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with running_emulator(Path(tmp_path_factory.mktemp("sfagg")), rows={"Account": 700}) as emulator:
        emulator.delete("Account", emulator.sql('SELECT "Id" FROM "Account" ORDER BY "Id" LIMIT 1')[0][0])
        yield emulator


@pytest.fixture
def client(sf: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context(), timeout=30) as http:
        token = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _query(client: httpx.Client, soql: str, endpoint: str = "query") -> dict[str, Any]:
    response = client.get(f"{V}/{endpoint}", params={"q": soql})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _one(sf: RunningEmulator, sql: str) -> Any:
    return sf.sql(sql)[0][0]


LIVE = 'FROM "Account" WHERE NOT "IsDeleted"'


def test_count_with_no_argument_is_the_total_size_form(sf: RunningEmulator, client: httpx.Client) -> None:
    assert _query(client, "SELECT COUNT() FROM Account") == {"totalSize": 699, "done": True, "records": []}
    assert _query(client, "SELECT COUNT() FROM Account", "queryAll")["totalSize"] == 700
    body = _query(client, "SELECT COUNT() FROM Account WHERE Industry = 'Banking' AND Active__c = true")
    truth = _one(sf, f'SELECT count(*) {LIVE} AND "Industry" = \'Banking\' AND "Active__c"')
    assert body["totalSize"] == truth and body["records"] == [] and 0 < truth < 699


def test_simple_salesforce_count_unmodified(sf: RunningEmulator) -> None:
    session = sf.requests_session()
    session_id, instance = SalesforceLogin(
        username=sf.username,
        password=sf.password,
        security_token=sf.security_token,
        scratch_url=sf.url,
        session=session,
    )
    client = Salesforce(session_id=session_id, instance_url=f"https://{instance}", session=session)
    assert client.query("SELECT COUNT() FROM Account")["totalSize"] == 699
    counted = client.query("SELECT COUNT(Id) n FROM Account")["records"]
    assert counted == [{"attributes": {"type": "AggregateResult"}, "n": 699}]


def test_every_aggregate_function_and_expr_names(sf: RunningEmulator, client: httpx.Client) -> None:
    body = _query(
        client,
        "SELECT COUNT(Id), COUNT(Fax), COUNT_DISTINCT(Industry), MIN(CreatedDate), MAX(AnnualRevenue) top, "
        "SUM(NumberOfEmployees), AVG(Score__c), MIN(LastActivityDate) FROM Account",
    )
    assert body["totalSize"] == 1 and body["done"] is True
    record = body["records"][0]
    assert record["attributes"] == {"type": "AggregateResult"}
    assert list(record) == [
        "attributes",
        "expr0",
        "expr1",
        "expr2",
        "expr3",
        "top",
        "expr4",
        "expr5",
        "expr6",
    ]
    count, fax, industries, first, top, employees, score, activity = sf.sql(
        'SELECT count("Id"), count("Fax"), count(DISTINCT "Industry"), min("CreatedDate"), '
        f'max("AnnualRevenue"), sum("NumberOfEmployees"), avg("Score__c"), min("LastActivityDate") {LIVE}'
    )[0]
    assert (record["expr0"], record["expr1"], record["expr2"]) == (count, fax, industries)
    assert record["expr3"] == first.strftime("%Y-%m-%dT%H:%M:%S.") + f"{first.microsecond // 1000:03d}+0000"
    assert record["top"] == float(top)
    assert record["expr4"] == employees and isinstance(record["expr4"], int)
    assert record["expr5"] == pytest.approx(score)
    assert record["expr6"] == activity.isoformat()


def test_group_by_with_alias_order_and_limit(sf: RunningEmulator, client: httpx.Client) -> None:
    body = _query(
        client,
        "SELECT Industry, COUNT(Id) n, SUM(AnnualRevenue) FROM Account WHERE Active__c = true "
        "GROUP BY Industry ORDER BY COUNT(Id) DESC, Industry LIMIT 5",
    )
    truth = sf.sql(
        f'SELECT "Industry", count(*), sum("AnnualRevenue") {LIVE} AND "Active__c" '
        'GROUP BY "Industry" ORDER BY count(*) DESC, "Industry" LIMIT 5'
    )
    assert body["totalSize"] == 5
    got = [(r["Industry"], r["n"], r["expr0"]) for r in body["records"]]
    assert got == [(i, n, pytest.approx(float(s))) for i, n, s in truth]
    grouped = _query(client, "SELECT Owner.Name, COUNT(Id) FROM Account GROUP BY Owner.Name")
    assert {"Name", "expr0"} <= set(grouped["records"][0])  # a relationship field is named by its field
    assert sum(r["expr0"] for r in grouped["records"]) == 699
    groups = _query(client, "SELECT COUNT() FROM Account GROUP BY Industry")
    assert groups["totalSize"] == _one(sf, f'SELECT count(DISTINCT "Industry") {LIVE}')


def test_bulk_refuses_aggregates(sf: RunningEmulator, client: httpx.Client) -> None:
    response = client.post(
        f"{V}/jobs/query", json={"operation": "query", "query": "SELECT COUNT() FROM Account"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "API_ERROR"
    assert "not supported in Bulk Query" in response.json()[0]["message"]
    grouped = client.post(
        f"{V}/jobs/query",
        json={"operation": "query", "query": "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry"},
    )
    assert grouped.status_code == 400


def test_bulk_v1_batch_with_an_aggregate_fails(sf: RunningEmulator, client: httpx.Client) -> None:
    import time

    session = {"X-SFDC-Session": client.headers["Authorization"].split(" ", 1)[1]}
    job = client.post(
        "/services/async/62.0/job",
        json={"operation": "query", "object": "Account", "contentType": "JSON"},
        headers=session,
    ).json()
    batch = client.post(
        f"/services/async/62.0/job/{job['id']}/batch",
        content="SELECT COUNT(Id) FROM Account",
        headers={**session, "Content-Type": "application/json"},
    ).json()
    for _ in range(200):
        info = client.get(f"/services/async/62.0/job/{job['id']}/batch/{batch['id']}", headers=session).json()
        if info["state"] not in ("Queued", "InProgress"):
            break
        time.sleep(0.05)
    assert info["state"] == "Failed"
    assert info["stateMessage"].startswith("InvalidBatch : Failed to process query: API_ERROR")
