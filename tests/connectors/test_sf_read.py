"""Reads against the emulator: every field type into Arrow, full and incremental, deletes, fallbacks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest
from connector_helpers import drain, ids

from headwater.core.errors import SourceObjectNotFound

HOSTILE = 'He said "hi", then left\nnew line, comma; ümlaut 日本語 🚀 \\ back\r\nslash'


def _truth_ids(
    sf: Any, sobject: str, where: str = "NOT IsDeleted", params: list[Any] | None = None
) -> set[str]:
    return {row[0] for row in sf.sql(f'SELECT "Id" FROM "{sobject}" WHERE {where}', params)}


def test_full_read_account_bulk(make_connector: Any, salesforce_emulator: Any) -> None:
    connector = make_connector()
    stream = connector.read("Account", None, None)
    table, deletes = drain(stream)
    assert table is not None and deletes == []
    assert set(ids(table)) == _truth_ids(salesforce_emulator, "Account")
    assert len(ids(table)) == table.num_rows  # no duplicates
    assert table.schema.field("AnnualRevenue").type == pa.float64()
    assert table.schema.field("NumberOfEmployees").type == pa.int64()
    assert table.schema.field("SystemModstamp").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("Active__c").type == pa.bool_()
    assert table.schema.field("LastActivityDate").type == pa.date32()
    assert "BillingAddress" not in table.column_names and "BillingCity" in table.column_names
    assert stream.cursor is not None and stream.cursor["field"] == "SystemModstamp"
    assert stream.stopped is None
    assert connector.reader.plan("Account", None).use_bulk


@pytest.mark.parametrize(
    "text", [HOSTILE, "NA", "null", "None", "N/A", "'quoted'", '""', ",", " lead and trail "]
)
def test_hostile_strings_survive_bulk(make_connector: Any, salesforce_emulator: Any, text: str) -> None:
    new_id = salesforce_emulator.insert("Account", Name=text, Description=text)
    table, _ = drain(make_connector().read("Account", ["Name", "Description"], None))
    assert table is not None
    row = table.filter(pa.compute.equal(table["Id"], new_id)).to_pylist()
    assert row == [{"Id": new_id, "Name": text, "Description": text}]


def test_every_field_type_into_arrow(make_connector: Any, salesforce_emulator: Any) -> None:
    sf = salesforce_emulator
    paid_at = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    account = next(iter(_truth_ids(sf, "Account")))
    new_id = sf.insert(
        "Invoice__c",
        Name='INV-ümlaut\n"x"',
        Account__c=account,
        Amount__c=1234.5,
        Tax_Rate__c=7.5,
        Status__c="Paid",
        Tags__c="Gold;Partner",
        Due_Date__c=date(2025, 1, 31),
        Paid__c=True,
        Paid_At__c=paid_at.replace(tzinfo=None),
        Quantity__c=0.25,
        Line_Count__c=3,
        Billing_Email__c="a@b.example",
        Support_Phone__c="+1 (555) 010-0000",
        Portal_Url__c="https://x.example/?a=1&b=2",
        Notes__c=HOSTILE,
        Site__latitude__s=-33.5,
        Site__longitude__s=151.25,
    )
    connector = make_connector()
    table, _ = drain(connector.read("Invoice__c", None, None))
    assert table is not None
    row = table.filter(pa.compute.equal(table["Id"], new_id)).to_pylist()[0]
    assert row["Name"] == 'INV-ümlaut\n"x"' and row["Notes__c"] == HOSTILE
    assert row["Account__c"] == account and row["Status__c"] == "Paid" and row["Tags__c"] == "Gold;Partner"
    assert row["Amount__c"] == 1234.5 and row["Tax_Rate__c"] == 7.5 and row["Quantity__c"] == 0.25
    assert row["Total__c"] == pytest.approx(1327.09, abs=0.01)  # formula field, computed by the source
    assert row["Line_Count__c"] == 3 and row["Paid__c"] is True
    assert row["Due_Date__c"] == date(2025, 1, 31)
    assert row["Paid_At__c"] == paid_at
    assert row["Site__latitude__s"] == -33.5 and row["Site__longitude__s"] == 151.25
    assert row["Billing_Email__c"] == "a@b.example" and row["Portal_Url__c"] == "https://x.example/?a=1&b=2"
    assert row["Scan__c"] is None or isinstance(row["Scan__c"], str)
    # base64 (Scan__c) is not Bulk-capable: the whole object was read over REST
    assert not connector.reader.plan("Invoice__c", None).use_bulk
    assert connector.reader.plan("Invoice__c", ["Name", "Amount__c"]).use_bulk


def test_bulk_and_rest_paths_agree(make_connector: Any) -> None:
    columns = ["Name", "Amount__c", "Paid__c", "Paid_At__c", "Due_Date__c", "Notes__c", "Line_Count__c"]
    connector = make_connector()
    bulk, _ = drain(connector.read("Invoice__c", columns, None))
    rest, _ = drain(connector.read("Invoice__c", [*columns, "Scan__c"], None))
    assert bulk is not None and rest is not None
    assert bulk.sort_by("Id").equals(rest.select(bulk.column_names).sort_by("Id"))


def test_incremental_reads_give_exactly_the_changed_rows(
    make_connector: Any, salesforce_emulator: Any
) -> None:
    sf = salesforce_emulator
    connector = make_connector("oauth", includeDeletedObjects=True, tuning={"lookback_seconds": 0})
    first = connector.read("Contact", None, None)
    table, deletes = drain(first)
    assert table is not None and deletes == []
    cursor = first.cursor
    assert cursor is not None

    existing = sorted(_truth_ids(sf, "Contact"))
    added = [sf.insert("Contact", LastName="New 1"), sf.insert("Contact", LastName='New\n"2"')]
    sf.update("Contact", existing[0], LastName="Changed")
    sf.delete("Contact", existing[1])

    second = connector.read("Contact", None, cursor)
    table, deletes = drain(second)
    # ">=" re-reads the rows tied with the old cursor value: they are part of the expected answer
    ties = _truth_ids(sf, "Contact", 'NOT IsDeleted AND "SystemModstamp" = ?', [_naive(cursor["value"])])
    assert set(ids(table)) == {*added, existing[0]} | ties
    assert deletes == [existing[1]]
    assert existing[1] not in ids(table)
    changed = table.filter(pa.compute.equal(table["Id"], existing[0])).to_pylist()[0]
    assert changed["LastName"] == "Changed"
    assert second.cursor is not None and second.cursor["value"] > cursor["value"]

    third = connector.read("Contact", None, second.cursor)
    table, deletes = drain(third)
    assert set(ids(table)) | set(deletes) <= {*added, existing[0], existing[1]}
    assert third.cursor == second.cursor


def test_lookback_rereads_recent_rows(make_connector: Any, salesforce_emulator: Any) -> None:
    sf = salesforce_emulator
    connector = make_connector(tuning={"lookback_seconds": 3600})
    stream = connector.read("Lead", None, None)
    drain(stream)
    new_id = sf.insert("Lead", LastName="Late", Company="Acme")
    after = connector.read("Lead", None, stream.cursor)
    drain(after)
    again, _ = drain(connector.read("Lead", None, after.cursor))
    assert new_id in ids(again)  # within the hour of look-back: read again, never lost


def test_deletes_hidden_without_include_deleted(make_connector: Any, salesforce_emulator: Any) -> None:
    sf = salesforce_emulator
    victim = sorted(_truth_ids(sf, "Case"))[0]
    sf.delete("Case", victim)
    table, deletes = drain(make_connector("basic").read("Case", None, None))
    assert victim not in ids(table) and deletes == []


def test_full_read_with_deletes_reports_them(make_connector: Any, salesforce_emulator: Any) -> None:
    sf = salesforce_emulator
    victim = sorted(_truth_ids(sf, "Case"))[0]
    sf.delete("Case", victim)
    table, deletes = drain(
        make_connector("oauth", includeDeletedObjects=True).read("Case", ["Subject"], None)
    )
    assert deletes == [victim] and victim not in ids(table)
    assert table is not None and table.column_names == ["Id", "Subject"]


def test_wide_objects_split_by_columns_and_rejoined(make_connector: Any) -> None:
    whole, _ = drain(make_connector().read("Account", None, None))
    split_connector = make_connector(tuning={"max_query_chars": 300})
    split, _ = drain(split_connector.read("Account", None, None))
    assert whole is not None and split is not None
    assert split.sort_by("Id").equals(whole.sort_by("Id"))


def test_wide_split_over_rest(make_connector: Any) -> None:
    whole, _ = drain(make_connector().read("Invoice__c", None, None))
    split, _ = drain(make_connector(tuning={"max_query_chars": 250}).read("Invoice__c", None, None))
    assert whole is not None and split is not None
    assert split.sort_by("Id").equals(whole.sort_by("Id"))


def test_unknown_columns_are_refused(make_connector: Any) -> None:
    with pytest.raises(SourceObjectNotFound):
        make_connector().read("Account", ["Name", "Name, (SELECT Id FROM Contacts)"], None)
    with pytest.raises(SourceObjectNotFound):
        make_connector().read("Account", ["NoSuchField__c"], None)


def test_columns_are_matched_case_insensitively(make_connector: Any) -> None:
    table, _ = drain(make_connector().read("account", ["name", "INDUSTRY"], None))
    assert table is not None and table.column_names == ["Id", "Name", "Industry"]


def _naive(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)
