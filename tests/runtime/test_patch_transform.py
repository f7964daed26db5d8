"""A formula refresh's patches go through the flow's mapping: only the entries its columns can feed."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from headwater.lake import Lake
from headwater.runtime.plans import mapping_transform

MAPPINGS = [
    {"sourceType": "ATTRIBUTE", "source": "Name", "destination": "account.name"},
    {"sourceType": "EXPRESSION", "source": "lower(Industry__f)", "destination": "account.industry"},
    {"sourceType": "ATTRIBUTE", "source": "Score__f", "destination": "score"},
    {"sourceType": "CONSTANT", "source": "salesforce", "destination": "origin"},
]


def test_patches_are_mapped_and_overlay_the_landed_rows(tmp_path: Path) -> None:
    transform = mapping_transform(MAPPINGS)
    full = pa.record_batch(
        {
            "Id": ["1", "2"],
            "Name": ["Acme", "Globex"],
            "Industry__f": ["Energy", "Media"],
            "Score__f": [1.0, 2.0],
        }
    )
    writer = Lake(tmp_path).dataset("ORG@AdobeOrg", "prod", "ds").open_writer()
    writer.write(transform(full))
    writer.commit()

    patches = transform.patches()
    patch = patches(
        pa.record_batch({"Id": ["1", "2"], "Industry__f": ["BANKING", "Media"], "Score__f": [1.0, 9.0]})
    )
    assert patch.schema.names == ["account", "score", "Id"]
    assert patch.column("account").type == pa.struct(
        [pa.field("industry", pa.string())]
    )  # no name, no constant

    writer = Lake(tmp_path).dataset("ORG@AdobeOrg", "prod", "ds").open_writer()
    writer.patch(patch)
    result = writer.commit()
    assert result.rows_patched == 2
    rows = {r["Id"]: r for r in Lake(tmp_path).dataset("ORG@AdobeOrg", "prod", "ds").to_arrow().to_pylist()}
    assert rows["1"]["account"] == {"name": "Acme", "industry": "banking"} and rows["1"]["score"] == 1.0
    assert rows["2"]["account"] == {"name": "Globex", "industry": "media"} and rows["2"]["score"] == 9.0
    assert rows["1"]["origin"] == "salesforce"
