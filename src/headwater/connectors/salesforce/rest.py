"""REST ``query``/``queryAll`` with ``nextRecordsUrl`` paging, for objects and fields Bulk cannot serve.

Each page is one request retried on its own, so a failure resumes from the last ``nextRecordsUrl``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from .arrow import records_to_batch
from .client import SalesforceApi


class SalesforceRestReader:
    def __init__(self, api: SalesforceApi) -> None:
        self.api = api

    def pages(self, soql: str, include_deleted: bool) -> Iterator[list[dict[str, Any]]]:
        path: str | None = "queryAll/" if include_deleted else "query/"
        params: dict[str, str] | None = {"q": soql}
        while path:
            body = orjson.loads(self.api.call("GET", path, params=params).content)
            yield body.get("records", [])
            path = None if body.get("done", True) else body.get("nextRecordsUrl")
            params = None

    def query(self, soql: str, schema: pa.Schema, include_deleted: bool) -> Iterator[pa.RecordBatch]:
        for records in self.pages(soql, include_deleted):
            if records:
                yield records_to_batch(records, schema)
