"""Bulk API 2.0 query jobs: create, poll, stream each CSV result page straight into Arrow.

Memory is bounded by one CSV block (plus what the caller holds): pages are streamed from the socket
through ``pyarrow.csv.open_csv``. A page that fails half-way (dropped connection, 5xx) is fetched
again by its locator after a back-off, skipping the rows already delivered -- never from the start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv

from headwater.core.errors import SourceUnavailable, UnsupportedBySource

from .arrow import IterStream, csv_options
from .client import QueryTimeout, SalesforceApi

log = logging.getLogger(__name__)


class SalesforceBulkReader:
    def __init__(self, api: SalesforceApi) -> None:
        self.api = api

    def query(
        self, soql: str, names: list[str], include_deleted: bool, page_records: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Text-typed batches of the query's rows, page after page (``page_records`` rows per page)."""
        job_id = self._create(soql, "queryAll" if include_deleted else "query")
        try:
            self._wait(job_id)
            locator: str | None = None
            while True:
                locator = yield from self._page(job_id, locator, names, page_records)
                if not locator or locator == "null":
                    return
        finally:
            self._delete(job_id)

    def _create(self, soql: str, operation: str) -> str:
        body = {
            "operation": operation,
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        return str(self.api.call("POST", "jobs/query", json=body).json()["id"])

    def _wait(self, job_id: str) -> None:
        delay = self.api.tuning.poll_interval
        while True:
            info = self.api.get_json(f"jobs/query/{job_id}")
            state = info.get("state")
            if state == "JobComplete":
                return
            if state in ("Failed", "Aborted"):
                message = str(info.get("errorMessage") or state)  # remote text: steers, never shown
                if "QUERY_TIMEOUT" in message or "running for too long" in message:
                    raise QueryTimeout(f"Bulk job {job_id} timed out (QUERY_TIMEOUT).")
                raise UnsupportedBySource(f"Bulk job {job_id} ended {state}.")
            time.sleep(delay)
            delay = min(delay * 1.2, self.api.tuning.poll_cap)  # gentle: each poll is an API call

    def _page(
        self, job_id: str, locator: str | None, names: list[str], page_records: int | None = None
    ) -> Generator[pa.RecordBatch, None, str | None]:
        """Yield one result page; return the next locator. Retries resume inside the page."""
        params = {"maxRecords": str(page_records or self.api.tuning.bulk_page_records)}
        if locator:
            params["locator"] = locator
        delivered = 0
        attempt = 0
        while True:
            try:
                with self.api.stream(f"jobs/query/{job_id}/results", params=params) as response:
                    expected = int(response.headers.get("Sforce-NumberOfRecords", "-1"))
                    following = response.headers.get("Sforce-Locator")
                    seen = 0
                    if expected != 0:
                        for batch in self._parse(response, names):
                            start = max(delivered - seen, 0)
                            seen += batch.num_rows
                            if start < batch.num_rows:
                                part = batch.slice(start) if start else batch
                                delivered += part.num_rows
                                yield part
                    if expected >= 0 and seen != expected:
                        raise SourceUnavailable(f"Result page had {seen} rows, expected {expected}")
                    return following
            except (httpx.TransportError, pa.ArrowInvalid, SourceUnavailable) as exc:
                attempt += 1
                if attempt > self.api.tuning.max_retries:
                    raise SourceUnavailable(
                        f"Bulk result page of job {job_id} kept failing ({type(exc).__name__})."
                    ) from exc
                log.warning(
                    "bulk page failed (%s); retry %d from locator %s", type(exc).__name__, attempt, locator
                )
                self.api.sleep_backoff(attempt)

    @staticmethod
    def _parse(response: httpx.Response, names: list[str]) -> Iterator[pa.RecordBatch]:
        read, parse, convert = csv_options(names)
        stream = IterStream(response.iter_bytes(1 << 20))
        reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        yield from reader

    def _delete(self, job_id: str) -> None:
        try:
            self.api.call("DELETE", f"jobs/query/{job_id}")
        except Exception:  # cleanup is best effort: Salesforce drops finished jobs after 7 days anyway
            log.debug("could not delete bulk job %s", job_id)
