"""The SOQL parser and its translation, without a server."""

from __future__ import annotations

from datetime import datetime

import pytest

from headwater.emulators.salesforce.org import id_checksum, salesforce_id
from headwater.emulators.salesforce.soql import BoolOp, Comparison, InList, Like, Not, SoqlError, parse
from headwater.emulators.salesforce.sqlgen import plan_query


def test_parses_the_subset() -> None:
    query = parse(
        "select Id, Account.Owner.Name from Contact where (Name like 'a\\%%' or not Email in ('x', null)) "
        "and CreatedDate >= 2024-01-01T00:00:00Z and Birthdate < 2000-01-01 and IsDeleted = false "
        "order by Name desc nulls last, Id limit 10"
    )
    assert [f.parts for f in query.fields] == [("Id",), ("Account", "Owner", "Name")]
    assert query.sobject == "Contact" and query.limit == 10
    assert isinstance(query.where, BoolOp) and query.where.op == "AND"
    first = query.where.operands[0]
    assert isinstance(first, BoolOp) and first.op == "OR"
    assert isinstance(first.operands[0], Like) and first.operands[0].pattern.value == "a\\%%"
    assert isinstance(first.operands[1], Not) and isinstance(first.operands[1].operand, InList)
    created = query.where.operands[1]
    assert isinstance(created, Comparison) and created.value.value == datetime(2024, 1, 1)
    assert [(o.path.text, o.descending, o.nulls_first) for o in query.order_by] == [
        ("Name", True, False),
        ("Id", False, True),
    ]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10)),
        ("2024-03-01T10:00:00.123Z", datetime(2024, 3, 1, 10, 0, 0, 123000)),
        ("2024-03-01T12:00:00+02:00", datetime(2024, 3, 1, 10)),
        ("2024-03-01T05:00:00.000-05:00", datetime(2024, 3, 1, 10)),
        ("2024-03-01T10:00:00.123456Z", datetime(2024, 3, 1, 10, 0, 0, 123456)),
    ],
)
def test_datetime_literals_are_normalised_to_utc(literal: str, expected: datetime) -> None:
    where = parse(f"SELECT Id FROM Account WHERE SystemModstamp > {literal}").where
    assert isinstance(where, Comparison) and where.value.value == expected


def test_string_escapes() -> None:
    where = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ \n'").where
    assert isinstance(where, Comparison) and where.value.value == "O'Brien \\ \n"


@pytest.mark.parametrize(
    ("soql", "code", "column"),
    [
        ("SELECT FROM Account", "MALFORMED_QUERY", 8),
        ("SELECT Id FROM Account WHERE Name = ", "MALFORMED_QUERY", 37),
        ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY", 30),
        ("SELECT Id FROM Account OFFSET 5", "MALFORMED_QUERY", 24),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY", 12),
        ("SELECT Id FROM Account WHERE Name = 'x' #", "MALFORMED_QUERY", 41),
        ("SELECT Id FROM Accounts", "INVALID_TYPE", 16),
        ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD", 50),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD", 37),
        ("SELECT Id FROM Account WHERE SLAExpirationDate__c = 2024-01-01T00:00:00Z", "INVALID_FIELD", 53),
        ("SELECT Id FROM Account WHERE IsDeleted > true", "INVALID_FIELD", 42),
        ("SELECT Id FROM Account ORDER BY BillingAddress", "INVALID_FIELD", 33),
        ("SELECT Id, Owner.Nope FROM Account", "INVALID_FIELD", 12),
    ],
)
def test_errors_carry_code_and_position(soql: str, code: str, column: int) -> None:
    with pytest.raises(SoqlError) as caught:
        plan_query(soql)
    assert caught.value.code == code
    assert f"ERROR at Row:1:Column:{column}\n" in caught.value.render(soql)


def test_values_are_parameters_never_sql_text() -> None:
    hostile = 'x\'); DROP TABLE "Account"; --'
    plan = plan_query("SELECT Id FROM Account WHERE Name = 'x\\'); DROP TABLE \"Account\"; --'")
    sql = plan.select_sql(False, [], order=True)
    assert "DROP" not in sql and plan.params == [hostile.lower()]


def test_bulk_rejects_compound_fields_only_in_bulk() -> None:
    assert plan_query("SELECT BillingAddress FROM Account").columns[0].parts[0] == "street"
    with pytest.raises(SoqlError, match="Selecting compound data not supported in Bulk Query"):
        plan_query("SELECT BillingAddress FROM Account", bulk=True)


def test_ids_are_salesforce_shaped() -> None:
    # Checksums of real ids quoted in the reference (SF-REST examples and simple-salesforce fixtures).
    assert [id_checksum(i) for i in ("005R0000000UyrW", "003RO0000035WQg", "a00D0000008pQSN")] == [
        "IAS",
        "YAM",
        "IA2",
    ]
    assert salesforce_id("00Q", 5) == "00Q000000000005EAA" and len(salesforce_id("001", 10**9)) == 18


def test_generated_ids_use_each_objects_key_prefix() -> None:
    from headwater.emulators.salesforce.catalog import OBJECTS
    from headwater.emulators.salesforce.schema import KEY_PREFIXES

    assert {o.name: o.key_prefix for o in OBJECTS} == KEY_PREFIXES
