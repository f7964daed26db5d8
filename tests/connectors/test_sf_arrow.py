"""Value conversion edge cases that the emulator does not produce (Salesforce can)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from headwater.connectors.salesforce.arrow import records_to_batch
from headwater.connectors.salesforce.types import TIMESTAMP

SCHEMA = pa.schema(
    [
        ("Id", pa.string()),
        ("N", pa.int64()),
        ("X", pa.float64()),
        ("D", pa.date32()),
        ("T", TIMESTAMP),
        ("S", pa.string()),
    ]
)


def test_rest_records_fast_path() -> None:
    records = [
        {
            "attributes": {"type": "X"},
            "Id": "1",
            "N": 3,
            "X": 2,
            "D": "2024-02-29",
            "T": "2013-05-20T20:49:32.000+0000",
            "S": "NA",
        },
        {"attributes": {"type": "X"}, "Id": "2", "N": None, "X": None, "D": None, "T": None, "S": None},
    ]
    batch = records_to_batch(records, SCHEMA)
    assert batch.to_pylist() == [
        {
            "Id": "1",
            "N": 3,
            "X": 2.0,
            "D": date(2024, 2, 29),
            "T": datetime(2013, 5, 20, 20, 49, 32, tzinfo=UTC),
            "S": "NA",
        },
        {"Id": "2", "N": None, "X": None, "D": None, "T": None, "S": None},
    ]


def test_rest_records_with_odd_values_fall_back_to_text() -> None:
    records = [{"Id": "1", "N": 4.0, "X": 1.5, "D": None, "T": None, "S": 12345}]
    batch = records_to_batch(records, SCHEMA)
    assert batch.column("S").to_pylist() == ["12345"] and batch.column("N").to_pylist() == [4]
