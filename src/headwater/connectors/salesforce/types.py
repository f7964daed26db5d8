"""Every Salesforce field type -> explore column type, Arrow type and XDM type.

Compound ``address``/``location`` fields are not columns: their component fields (``BillingCity``,
``Site__latitude__s``...) already are, and Bulk cannot select the compound parent.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from headwater.connectors.base import Column

TIMESTAMP = pa.timestamp("ms", tz="UTC")

# describe ``type`` -> (explore type, Arrow type, XDM type)
_STRING = ("string", pa.string(), {"type": "string"})
TYPE_MAP: dict[str, tuple[str, pa.DataType, dict[str, Any]]] = {
    "id": _STRING,
    "reference": _STRING,
    "string": _STRING,
    "textarea": _STRING,
    "picklist": _STRING,
    "multipicklist": _STRING,
    "combobox": _STRING,
    "phone": _STRING,
    "email": _STRING,
    "url": _STRING,
    "encryptedstring": _STRING,
    "datacategorygroupreference": _STRING,
    "complexvalue": _STRING,
    "json": _STRING,
    "anyType": _STRING,
    "masterrecord": _STRING,
    "byte": _STRING,
    "base64": ("string", pa.string(), {"type": "string", "contentEncoding": "base64"}),
    # Salesforce ``time`` is ``HH:MM:SS.sssZ``; kept as text (XDM has no time-of-day type).
    "time": _STRING,
    "boolean": ("boolean", pa.bool_(), {"type": "boolean"}),
    "int": ("integer", pa.int64(), {"type": "integer"}),
    "long": ("long", pa.int64(), {"type": "integer"}),
    "double": ("double", pa.float64(), {"type": "number"}),
    "currency": ("double", pa.float64(), {"type": "number"}),
    "percent": ("double", pa.float64(), {"type": "number"}),
    "date": ("date", pa.date32(), {"type": "string", "format": "date"}),
    "datetime": ("string", TIMESTAMP, {"type": "string", "format": "date-time"}),
}
COMPOUND_TYPES = frozenset({"address", "location"})
# Types Bulk API 2.0 cannot select (salesforce-wire §4.4): such fields are read over REST.
NOT_BULK_TYPES = frozenset({"base64", "address", "location", "json"})


def column_for(field: dict[str, Any]) -> Column:
    """A describe ``fields[]`` entry -> Column; unknown future types are read as text."""
    sf_type = str(field.get("type", "string"))
    explore_type, arrow_type, xdm = TYPE_MAP.get(sf_type, _STRING)
    return Column(
        name=str(field["name"]),
        type=explore_type,
        arrow_type=arrow_type,
        xdm=xdm,
        original_type=sf_type,
        label=str(field.get("label") or field["name"]),
    )
