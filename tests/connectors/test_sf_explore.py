"""Explore (contract §5.8) on every emulated object, including Invoice__c."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.api.error_codes import code_of
from headwater.core.errors import Invalid, SourceObjectNotFound
from headwater.emulators.salesforce.catalog import OBJECTS

OBJECT_NAMES = [o.name for o in OBJECTS]


def test_root_lists_every_queryable_object(make_connector: Any) -> None:
    items = [item.to_json() for item in make_connector().explore("root")]
    assert {i["path"] for i in items} >= set(OBJECT_NAMES)
    invoice = next(i for i in items if i["path"] == "Invoice__c")
    assert invoice == {
        "type": "table",
        "name": "Invoice",
        "path": "Invoice__c",
        "canPreview": True,
        "canFetchSchema": True,
    }


def test_root_uses_describe_global_only(make_connector: Any) -> None:
    connector = make_connector()
    connector.explore("root")
    before = connector.api.calls
    connector.explore("root")  # cached for the TTL
    assert connector.api.calls == before


@pytest.mark.parametrize("name", OBJECT_NAMES)
def test_table_schema_and_preview(make_connector: Any, name: str) -> None:
    connector = make_connector()
    body = connector.explore("table", name, preview=True).to_json()
    assert body["format"] == "flat"
    columns = body["schema"]["columns"]
    described = connector.describes.describe(name)
    compound = {n for n, f in described.fields.items() if f["type"] in ("address", "location")}
    assert [c["name"] for c in columns] == [n for n in described.fields if n not in compound]
    for column in columns:
        assert set(column) >= {"name", "type", "xdm", "meta"}
        assert column["meta"]["originalType"] == described.fields[column["name"]]["type"]
    assert 0 < len(body["data"]) <= 100
    assert set(body["data"][0]) == {c["name"] for c in columns}


def test_compound_fields_are_component_columns(make_connector: Any) -> None:
    account = {
        c["name"]: c for c in make_connector().explore("table", "Account").to_json()["schema"]["columns"]
    }
    assert "BillingAddress" not in account
    assert account["BillingCity"]["type"] == "string"
    assert account["BillingLatitude"]["xdm"] == {"type": "number"}
    invoice = {
        c["name"]: c for c in make_connector().explore("table", "invoice__C").to_json()["schema"]["columns"]
    }
    assert "Site__c" not in invoice and invoice["Site__latitude__s"]["type"] == "double"
    assert invoice["Paid_At__c"]["xdm"] == {"type": "string", "format": "date-time"}
    assert invoice["Paid_At__c"]["meta:xdmType"] == "date-time"
    assert invoice["Paid__c"]["xdm"] == {"type": "boolean"}
    assert invoice["Due_Date__c"]["xdm"]["format"] == "date"


def test_table_without_preview_has_no_data(make_connector: Any) -> None:
    assert "data" not in make_connector().explore("table", "Contact").to_json()


@pytest.mark.parametrize("name", ["Nope__c", "Account; DELETE", "Account WHERE Id != null", ""])
def test_unknown_objects_are_flow_errors(make_connector: Any, name: str) -> None:
    connector = make_connector()
    with pytest.raises((SourceObjectNotFound, Invalid)) as info:
        connector.explore("table", name)
    assert code_of(info.value)[0] in ("1003-404", "1337-400")


def test_bad_object_type(make_connector: Any) -> None:
    with pytest.raises(Invalid) as info:
        make_connector().explore("folder")
    assert code_of(info.value)[0] == "1358-400"
    with pytest.raises(Invalid) as info:
        make_connector().explore("table")
    assert code_of(info.value)[0] == "1337-400"
