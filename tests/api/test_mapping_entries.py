"""``services.mapping_sets.check_entries``: every problem of a mapping set, row by row (the UI's
validate-as-you-type uses it; the same engine as ``POST /mappingSets`` and the flow's Mapping check)."""

from __future__ import annotations

from headwater.dataprep import mapping_sets


def test_check_entries_reports_every_row() -> None:
    columns = [{"name": "Name", "type": "string"}, {"name": "Revenue", "type": "double"}]
    problems = mapping_sets.check_entries(
        [
            {"sourceType": "ATTRIBUTE", "source": "Name", "destination": "a.name"},
            {"sourceType": "ATTRIBUTE", "source": "Nmae", "destination": "b"},
            {"sourceType": "EXPRESSION", "source": "lower(Name", "destination": "c"},
            {"sourceType": "EXPRESSION", "source": "nope(Name)", "destination": "d"},
            {"sourceType": "ATTRIBUTE", "source": "Revenue", "destination": "a.name"},
            {"sourceType": "CONSTANT", "source": "x", "destination": "a"},
            {"sourceType": "ATTRIBUTE", "source": "Name", "destination": "bad path!"},
        ],
        columns,
    )
    assert [(p.index, p.reason) for p in problems] == [
        (1, "UNKNOWN_SOURCE_FIELD"),
        (2, "SYNTAX"),
        (3, "UNKNOWN_FUNCTION"),
        (4, "DUPLICATE_DESTINATION"),
        (5, "INVALID_DESTINATION"),
        (6, "INVALID_DESTINATION"),
    ]
    assert problems[0].message == "unknown source field 'Nmae'"
    assert mapping_sets.check_entries([], columns)[0].index is None
    assert mapping_sets.check_entries([{"source": "Name", "destination": "n"}], columns) == []
