import datetime as dt

import pyarrow as pa
import pytest

from headwater.core.errors import ValidationFailed
from headwater.lake import nest_dotted
from headwater.runtime.mapping import compile_mapping

SOURCE = pa.RecordBatch.from_pydict(
    {
        "Id": ["1", "2"],
        "FirstName": ["  Ann ", "Émile"],
        "LastName": ["Lee", None],
        "CreatedDate": ["2024-01-31", "bad"],
    }
)
COLUMNS = dict(zip(SOURCE.schema.names, SOURCE.schema.types, strict=True))


def test_both_request_forms_attributes_constants_expressions() -> None:
    mapping = compile_mapping(
        [
            {"sourceType": "ATTRIBUTE", "source": "Id", "destination": "_id"},
            {"sourceAttribute": "LastName", "destinationXdmPath": "person.name.lastName"},
            {
                "sourceType": "EXPRESSION",
                "source": "upper(trim(FirstName))",
                "destination": "person.name.firstName",
            },
            {
                "sourceType": "EXPRESSION",
                "source": 'concat(lower(FirstName), ", \\"x\\"", Id)',
                "destination": "label",
            },
            {"sourceType": "EXPRESSION", "source": "to_date(CreatedDate)", "destination": "created"},
            {"sourceType": "CONSTANT", "source": "crm", "destination": "origin"},
        ],
        COLUMNS,
    )
    out = mapping.apply(SOURCE)
    assert out.column("person.name.firstName").to_pylist() == ["ANN", "ÉMILE"]
    assert out.column("label").to_pylist() == ['  ann , "x"1', 'émile, "x"2']
    assert out.column("created").to_pylist() == [dt.date(2024, 1, 31), None]
    assert out.column("origin").to_pylist() == ["crm", "crm"]
    nested = nest_dotted(out)
    assert nested.to_pylist()[0]["person"] == {"name": {"lastName": "Lee", "firstName": "ANN"}}


def test_iif_and_formatted_date() -> None:
    src = pa.RecordBatch.from_pydict(
        {"d": ["31/01/2024"], "n": [None]}, schema=pa.schema([("d", pa.string()), ("n", pa.string())])
    )
    m = compile_mapping(
        [
            {"sourceType": "EXPRESSION", "source": 'to_date(d, "dd/MM/yyyy")', "destination": "a"},
            {"sourceType": "EXPRESSION", "source": 'iif(is_empty(n), "none", n)', "destination": "b"},
        ],
        {"d": pa.string(), "n": pa.string()},
    )
    assert m.apply(src).to_pylist() == [{"a": dt.date(2024, 1, 31), "b": "none"}]


@pytest.mark.parametrize(
    ("entry", "code", "words"),
    [
        ({"source": "Nope", "destination": "x"}, "2000-400", "unknown source field 'Nope'"),
        (
            {"sourceType": "EXPRESSION", "source": "shout(Id)", "destination": "x"},
            "2001-400",
            "unknown function",
        ),
        ({"sourceType": "EXPRESSION", "source": "lower(Id, Id)", "destination": "x"}, "2002-400", "takes 1"),
        ({"source": "Id", "destination": "a..b"}, "2003-400", "bad destination"),
        (
            {"sourceType": "EXPRESSION", "source": "lower(Id", "destination": "x"},
            "2005-400",
            "end of expression",
        ),
        ({"sourceType": "EXPRESSION", "source": "lower(Nope)", "destination": "x"}, "2000-400", "Nope"),
        ({"sourceType": "WHAT", "source": "Id", "destination": "x"}, "2006-400", "sourceType"),
    ],
)
def test_validation_errors_name_the_entry(entry: dict[str, str], code: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        compile_mapping([{"source": "Id", "destination": "ok"}, entry], COLUMNS)
    assert info.value.code == code
    assert "mappings[1]" in str(info.value) and words in str(info.value)


def test_duplicate_destination() -> None:
    with pytest.raises(ValidationFailed) as info:
        compile_mapping(
            [{"source": "Id", "destination": "x"}, {"source": "LastName", "destination": "x"}], COLUMNS
        )
    assert info.value.code == "2004-400"
