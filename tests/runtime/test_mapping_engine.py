"""The Data Prep mapping engine: both request forms, functions, validation errors, and the lake nesting."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from headwater.api.error_codes import code_of
from headwater.core.errors import Invalid
from headwater.dataprep.engine import compile_mapping_set, parse_expression
from headwater.lake import Lake, nest_batch

# Adobe's COL-CRM request, verbatim mappings (contract §7.10)
COL_CRM_MAPPINGS: list[dict[str, Any]] = [
    {
        "destinationXdmPath": "person.name.firstName",
        "sourceAttribute": "first_name",
        "identity": False,
        "identityGroup": None,
        "namespaceCode": None,
        "version": 0,
    },
    {
        "destinationXdmPath": "person.name.lastName",
        "sourceAttribute": "last_name",
        "identity": False,
        "identityGroup": None,
        "namespaceCode": None,
        "version": 0,
    },
    {
        "destinationXdmPath": "personalEmail.address",
        "sourceAttribute": "email",
        "identity": False,
        "identityGroup": None,
        "namespaceCode": None,
        "version": 0,
    },
]
SOURCE = {"first_name": pa.string(), "last_name": pa.string(), "email": pa.string(), "Id": pa.string()}


def source_batch() -> pa.RecordBatch:
    return pa.record_batch(
        {
            "first_name": ["Ada", "Grace"],
            "last_name": ["Lovelace", "Hopper"],
            "email": ["ada@example.com", None],
            "Id": ["003A", "003B"],
        }
    )


def test_the_tutorial_mapping_set_copies_attributes_to_dotted_paths() -> None:
    mapping = compile_mapping_set(COL_CRM_MAPPINGS, SOURCE)
    out = mapping(source_batch())
    assert out.schema.names == ["person.name.firstName", "person.name.lastName", "personalEmail.address"]
    assert out.column("personalEmail.address").to_pylist() == ["ada@example.com", None]


def test_the_newer_form_with_expressions_and_constants() -> None:
    mappings = [
        {"sourceType": "ATTRIBUTE", "source": "Id", "destination": "Id"},
        {
            "sourceType": "EXPRESSION",
            "source": 'concat(Id,"@${CRM_ORG_ID}.Salesforce")',
            "destination": "b2b.personKey.sourceKey",
        },
        {"sourceType": "CONSTANT", "source": "Salesforce", "destination": "b2b.personKey.sourceType"},
        {"sourceType": "EXPRESSION", "source": "upper(trim(last_name))", "destination": "name.upper"},
        {
            "sourceType": "EXPRESSION",
            "source": 'iif(is_empty(email), "none", lower(email))',
            "destination": "mail",
        },
    ]
    out = compile_mapping_set(mappings, SOURCE)(source_batch()).to_pydict()
    assert out["b2b.personKey.sourceKey"] == [
        "003A@${CRM_ORG_ID}.Salesforce",
        "003B@${CRM_ORG_ID}.Salesforce",
    ]
    assert out["b2b.personKey.sourceType"] == ["Salesforce", "Salesforce"]
    assert out["name.upper"] == ["LOVELACE", "HOPPER"]
    assert out["mail"] == ["ada@example.com", "none"]


def test_functions() -> None:
    source = {"s": pa.string(), "n": pa.int64(), "when": pa.string()}
    batch = pa.record_batch(
        {
            "s": ["  MiXed ", None, "ümlaut 🦆"],
            "n": [1, 5, None],
            "when": ["2024-01-02T03:04:05.000+0000", "2024-02-30", "not a date"],
        }
    )

    def run(expr: str) -> list[Any]:
        mapping = compile_mapping_set(
            [{"sourceType": "EXPRESSION", "source": expr, "destination": "x"}], source
        )
        return mapping(batch).column("x").to_pylist()

    assert run("lower(s)") == ["  mixed ", None, "ümlaut 🦆"]
    assert run("ucase(trim(s))") == ["MIXED", None, "ÜMLAUT 🦆"]
    assert run('concat("a", s, "-", n, "\\"q\\"")') == ['a  MiXed -1"q"', 'a-5"q"', 'aümlaut 🦆-"q"']
    assert run("concat(s)") == ["  MiXed ", "", "ümlaut 🦆"]
    assert run("to_date(when)") == [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None, None]
    assert run("date(when, \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\")")[0] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert run('iif(n > 1 || is_null(n), "big", "small")') == ["small", "big", "big"]
    assert run('coalesce(s, "default")') == ["  MiXed ", "default", "ümlaut 🦆"]
    assert run("length(s)") == [8, None, 8]
    assert run("substr(s, 2, 3)") == ["MiX", None, "lau"]
    assert run("${s}") == ["  MiXed ", None, "ümlaut 🦆"]


@pytest.mark.parametrize(
    ("mapping", "reason", "needle"),
    [
        ({"sourceAttribute": "nope", "destinationXdmPath": "a"}, "UNKNOWN_SOURCE_FIELD", "'nope'"),
        (
            {"sourceType": "EXPRESSION", "source": "shout(email)", "destination": "a"},
            "UNKNOWN_FUNCTION",
            "shout",
        ),
        (
            {"sourceType": "EXPRESSION", "source": "lower(email, Id)", "destination": "a"},
            "WRONG_ARITY",
            "takes 1",
        ),
        (
            {"sourceType": "EXPRESSION", "source": "lower(email", "destination": "a"},
            "SYNTAX",
            "ends too early",
        ),
        ({"sourceType": "EXPRESSION", "source": 'concat("a" "b")', "destination": "a"}, "SYNTAX", "expected"),
        ({"sourceType": "EXPRESSION", "source": "lower(email) #", "destination": "a"}, "SYNTAX", "'#'"),
        ({"sourceAttribute": "email", "destinationXdmPath": "a..b"}, "INVALID_DESTINATION", "a..b"),
        ({"sourceAttribute": "email", "destinationXdmPath": ""}, "INVALID_DESTINATION", "destination"),
        (
            {"sourceType": "WHATEVER", "source": "email", "destination": "a"},
            "INVALID_SOURCE_TYPE",
            "sourceType",
        ),
        ({"destination": "a"}, "MISSING_SOURCE", "no source"),
        ({"sourceType": "EXPRESSION", "source": "iif(email, 1, 2)", "destination": "a"}, "TYPE_MISMATCH", ""),
    ],
)
def test_validation_errors_name_the_entry(mapping: dict[str, Any], reason: str, needle: str) -> None:
    mappings = [{"sourceAttribute": "Id", "destinationXdmPath": "Id"}, mapping]
    with pytest.raises(Invalid) as info:
        compile_mapping_set(mappings, SOURCE)
    error = info.value
    assert code_of(error)[0] == "1419-400"
    assert error.details["reason"] == reason and error.details["mappingIndex"] == 1
    assert error.message.startswith("mapping #1") and needle in error.message


def test_duplicate_and_overlapping_destinations() -> None:
    dup = [
        {"sourceAttribute": "Id", "destinationXdmPath": "a.b"},
        {"sourceAttribute": "email", "destinationXdmPath": "a.b"},
    ]
    with pytest.raises(Invalid, match="already mapped by mapping #0") as info:
        compile_mapping_set(dup, SOURCE)
    assert info.value.details["reason"] == "DUPLICATE_DESTINATION"
    overlap = [
        {"sourceAttribute": "Id", "destinationXdmPath": "a"},
        {"sourceAttribute": "email", "destinationXdmPath": "a.b"},
    ]
    with pytest.raises(Invalid, match="overlaps"):
        compile_mapping_set(overlap, SOURCE)
    with pytest.raises(Invalid, match="non-empty list"):
        compile_mapping_set([], SOURCE)


def test_parser_shapes() -> None:
    expr = parse_expression('concat(lower(a.b), "x, y", ${First Name})')
    assert repr(expr).startswith("Call(name='concat'")
    assert "First Name" in repr(expr) and "a.b" in repr(expr)


def test_mapped_batches_land_nested_in_the_lake(tmp_path: Path) -> None:
    mappings = [{"sourceAttribute": "Id", "destinationXdmPath": "Id"}, *COL_CRM_MAPPINGS]
    mapping = compile_mapping_set(mappings, SOURCE)
    lake = Lake(tmp_path)
    writer = lake.dataset("ORG", "prod", "people").open_writer()
    writer.write(nest_batch(mapping(source_batch())))
    writer.commit()
    rows = lake.dataset("ORG", "prod", "people").to_arrow().sort_by("Id").to_pylist()
    assert rows[0] == {
        "Id": "003A",
        "person": {"name": {"firstName": "Ada", "lastName": "Lovelace"}},
        "personalEmail": {"address": "ada@example.com"},
    }
