"""The issue's "done when": the real simple-salesforce package, unmodified, against the emulator over HTTPS."""

from __future__ import annotations

import csv
import io
from typing import Any

from simple_salesforce import Salesforce, SalesforceLogin


def _client(emulator: Any) -> Salesforce:
    session = emulator.requests_session()
    session_id, instance = SalesforceLogin(
        username=emulator.username,
        password=emulator.password,
        security_token=emulator.security_token,
        scratch_url=emulator.url,
        session=session,
    )
    assert instance == emulator.host
    return Salesforce(session_id=session_id, instance_url=f"https://{instance}", session=session)


def test_query_all_describe_and_bulk2_match_the_org(salesforce_emulator: Any) -> None:
    sf = _client(salesforce_emulator)
    expected = salesforce_emulator.sql(
        'SELECT "Id", "Name", "AnnualRevenue", "IsDeleted" FROM "Account" WHERE NOT "IsDeleted" ORDER BY "Id"'
    )
    assert len(expected) == 500

    result = sf.query_all(
        "SELECT Id, Name, AnnualRevenue, IsDeleted, Owner.Email FROM Account",
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    assert result["totalSize"] == 500
    got = [(r["Id"], r["Name"], r["AnnualRevenue"], r["IsDeleted"]) for r in result["records"]]
    assert got == [(i, n, float(a) if a is not None else None, d) for i, n, a, d in expected]
    assert all(r["Owner"]["Email"].endswith("@example.com") for r in result["records"])
    assert sf.api_usage["api-usage"].used >= 3  # three pages of 200, Sforce-Limit-Info parsed by the client

    describe = sf.Account.describe()
    types = {f["name"]: f["type"] for f in describe["fields"]}
    assert (
        types["BillingAddress"] == "address" and types["Id"] == "id" and types["Tier__c"] == "multipicklist"
    )
    assert describe["keyPrefix"] == "001"

    pages = list(
        sf.bulk2.Account.query("SELECT Id, Name, Description FROM Account", max_records=150, wait=0.2)
    )
    assert len(pages) == 4  # 150 + 150 + 150 + 50, each with its own header
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    truth = salesforce_emulator.sql('SELECT "Id", "Name", "Description" FROM "Account" ORDER BY "Id"')
    assert [(r["Id"], r["Name"], r["Description"]) for r in rows] == [
        (i, n, d if d is not None else "") for i, n, d in truth
    ]
    assert any("\n" in r["Name"] for r in rows) and any(r["Name"] == "NA" for r in rows)


def test_every_describe_type_is_covered(salesforce_emulator: Any) -> None:
    sf = _client(salesforce_emulator)
    seen: set[str] = set()
    calculated = 0
    for sobject in sf.describe()["sobjects"]:
        fields = getattr(sf, sobject["name"]).describe()["fields"]
        seen |= {f["type"] for f in fields}
        calculated += sum(1 for f in fields if f["calculated"])
    wanted = "id string textarea picklist multipicklist reference boolean int double currency percent date datetime email phone url address location base64"
    assert set(wanted.split()) <= seen
    assert calculated >= 3


def test_simple_salesforce_record_writes_and_deleted_updated(salesforce_emulator: Any) -> None:
    from datetime import UTC, datetime, timedelta

    sf = _client(salesforce_emulator)
    start = datetime.now(UTC) - timedelta(minutes=1)
    created = sf.Contact.create({"LastName": "Nguyễn", "Email": "n@example.com"})
    assert created["success"] and created["id"].startswith("003")
    sf.Contact.update(created["id"], {"Title": "CTO"})
    assert sf.Contact.get(created["id"])["Title"] == "CTO"
    assert salesforce_emulator.get("Contact", created["id"])["Title"] == "CTO"
    end = datetime.now(UTC) + timedelta(minutes=1)
    assert created["id"] in sf.Contact.updated(start, end)["ids"]
    sf.Contact.delete(created["id"])
    assert [d["id"] for d in sf.Contact.deleted(start, end)["deletedRecords"]] == [created["id"]]
    soql = f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{created['id']}'"
    assert sf.query(soql)["totalSize"] == 0
    assert sf.query_all(soql, include_deleted=True)["records"][0]["IsDeleted"] is True


def test_bulk_v1_query_all_as_dlt_uses_it(salesforce_emulator: Any) -> None:
    sf = _client(salesforce_emulator)
    deleted_id = salesforce_emulator.sql('SELECT min("Id") FROM "Opportunity"')[0][0]
    salesforce_emulator.delete("Opportunity", deleted_id)
    chunks = sf.bulk.Opportunity.query_all(
        "SELECT Id, Name, CloseDate, CreatedDate, IsDeleted, Account.Name FROM Opportunity",
        lazy_operation=True,
    )
    records = [r for chunk in chunks for r in chunk]
    assert len(records) == 500
    truth = dict(salesforce_emulator.sql('SELECT "Id", epoch_ms("CreatedDate") FROM "Opportunity"'))
    assert all(
        r["CreatedDate"] == truth[r["Id"]] for r in records
    )  # epoch milliseconds, as Bulk 1.0 JSON sends
    assert next(r for r in records if r["Id"] == deleted_id)["IsDeleted"] is True
    assert all(r["Account"]["attributes"]["type"] == "Account" for r in records)


def test_bulk_v1_root_entity_mismatch_fails_the_batch(salesforce_emulator: Any) -> None:
    import pytest
    from simple_salesforce.exceptions import SalesforceGeneralError

    sf = _client(salesforce_emulator)
    with pytest.raises(SalesforceGeneralError) as caught:
        list(sf.bulk.Account.query("SELECT Id FROM Contact", wait=0.1))
    assert "does not match the entity of the requested Bulk API Job (Account)" in str(caught.value)
