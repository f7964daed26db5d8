"""Bulk API 2.0 query jobs.

A job's result is frozen once into an Arrow IPC file by a background thread; each result page
(offset, maxRecords) is rendered once to a CSV file with its own header and then streamed from disk,
so memory does not grow with the row count. Locators are opaque (base64 of the next offset) and the
last page answers ``Sforce-Locator: null``.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.responses import FileResponse, Response, StreamingResponse

from .org import DELIMITERS
from .service import Call, Emulator
from .soql import SoqlError
from .sqlgen import Plan, plan_query
from .state import USER_ID
from .wire import SalesforceWireError, json_response, not_found, rest_datetime

DEFAULT_MAX_RECORDS = 50_000
TERMINAL = ("JobComplete", "Aborted", "Failed")
CHUNK = 1 << 20


class PageResponse(FileResponse):
    """A result page streamed from disk in 1 MiB reads (Starlette's default 64 KiB costs throughput)."""

    chunk_size = CHUNK


@dataclass
class QueryJob:
    id: str
    operation: str
    object: str
    query: str
    plan: Plan
    api_version: str
    column_delimiter: str
    line_ending: str
    created: datetime
    state: str = "UploadComplete"
    modified: datetime | None = None
    records: int = 0
    error_message: str | None = None
    started: float = field(default_factory=time.monotonic)
    processing_ms: int = 0
    batch_rows: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def info(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": USER_ID,
            "createdDate": rest_datetime(self.created),
            "systemModstamp": rest_datetime(self.modified or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.state in TERMINAL:
            body.update(
                {
                    "numberRecordsProcessed": self.records,
                    "retries": 0,
                    "totalProcessingTime": self.processing_ms,
                }
            )
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


def _job_dir(emulator: Emulator, job: QueryJob) -> Path:
    return emulator.data_dir / "jobs" / job.id


def create(call: Call) -> Response:
    try:
        spec = orjson.loads(call.body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SalesforceWireError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from exc
    if not isinstance(spec, dict):
        raise SalesforceWireError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    operation = spec.get("operation", "query")
    if operation not in ("query", "queryAll"):
        raise SalesforceWireError(400, "INVALIDJOB", f"Invalid operation: {operation}")
    delimiter = spec.get("columnDelimiter", "COMMA")
    line_ending = spec.get("lineEnding", "LF")
    if (
        delimiter not in DELIMITERS
        or line_ending not in ("LF", "CRLF")
        or spec.get("contentType", "CSV") != "CSV"
    ):
        raise SalesforceWireError(400, "INVALIDJOB", "Invalid contentType, columnDelimiter or lineEnding")
    soql = spec.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise SalesforceWireError(400, "INVALIDJOB", "The query field is required")
    try:
        plan = plan_query(soql, bulk=True)
    except SoqlError as error:
        raise SalesforceWireError(
            400, error.code, error.render(soql) if error.pos is not None else error.message
        ) from error
    emulator = call.emulator
    now = emulator.org.now()
    job = QueryJob(
        "750" + secrets.token_hex(8).upper()[:15],
        operation,
        plan.sobject.name,
        soql,
        plan,
        call.version,
        delimiter,
        line_ending,
        now,
    )
    emulator.jobs[job.id] = job
    threading.Thread(target=_run, args=(emulator, job), name=f"bulk-{job.id}", daemon=True).start()
    return json_response({k: v for k, v in job.info().items() if k != "jobType"})


def _run(emulator: Emulator, job: QueryJob) -> None:
    time.sleep(0.02)
    with job.lock:
        if job.state != "UploadComplete":
            return
        job.state = "InProgress"
    hold = emulator.state.faults.bulk_job_seconds
    if hold > 0:
        time.sleep(hold)
    if emulator.state.take("query_timeouts"):
        _finish(emulator, job, "Failed", error="QUERY_TIMEOUT: Your query request was running for too long.")
        return
    sql = csv_select_sql(job.plan, job.operation == "queryAll")
    directory = _job_dir(emulator, job)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        job.batch_rows = emulator.org.snapshot(directory / "result.arrow", sql, job.plan.params)
    except Exception as exc:  # a failed job reports its error; the emulator keeps serving
        _finish(emulator, job, "Failed", error=f"InvalidBatch : {exc}")
        return
    _finish(emulator, job, "JobComplete", records=sum(job.batch_rows))


def csv_select_sql(plan: Plan, include_deleted: bool) -> str:
    """The SQL of a Bulk CSV result: every column as text named by its path, datetimes ``...sssZ``."""
    header = [f'CAST({e} AS VARCHAR) AS "{c.header}"' for c in plan.columns for e in _csv_exprs(c)]
    sql = f"SELECT {', '.join(header)} FROM {plan.from_sql()}{plan.where(include_deleted)}"
    if plan.order_sql:
        sql += " ORDER BY " + ", ".join(plan.order_sql)
    if plan.limit is not None:
        sql += f" LIMIT {int(plan.limit)}"
    return sql


def _csv_exprs(column: Any) -> list[str]:
    expr = column.exprs[0]
    if column.field.type == "datetime":
        return [f"strftime({expr}, '%Y-%m-%dT%H:%M:%S.%gZ')"]
    return [expr]


def _finish(
    emulator: Emulator, job: QueryJob, state: str, *, records: int = 0, error: str | None = None
) -> None:
    with job.lock:
        if job.state == "Aborted":
            shutil.rmtree(_job_dir(emulator, job), ignore_errors=True)
            return
        job.state = state
        job.records = records
        job.error_message = error
        job.modified = emulator.org.now()
        job.processing_ms = int((time.monotonic() - job.started) * 1000)


def _job(call: Call) -> QueryJob:
    job = call.emulator.jobs.get(call.path_param("job_id"))
    if job is None:
        raise not_found("The requested resource does not exist")
    return job


def info(call: Call) -> Response:
    return json_response(_job(call).info())


def list_jobs(call: Call) -> Response:
    return json_response(
        {"done": True, "records": [j.info() for j in call.emulator.jobs.values()], "nextRecordsUrl": None}
    )


def abort(call: Call) -> Response:
    job = _job(call)
    try:
        spec = orjson.loads(call.body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SalesforceWireError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from exc
    if not isinstance(spec, dict) or spec.get("state") != "Aborted":
        raise SalesforceWireError(400, "INVALIDJOBSTATE", "A query job can only be set to Aborted")
    with job.lock:
        if job.state in TERMINAL:
            raise SalesforceWireError(
                400, "INVALIDJOBSTATE", f"Job is already in a terminal state: {job.state}"
            )
        job.state = "Aborted"
        job.modified = call.emulator.org.now()
    return json_response(job.info())


def delete(call: Call) -> Response:
    job = _job(call)
    if job.state not in TERMINAL:
        raise SalesforceWireError(
            400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
        )
    call.emulator.jobs.pop(job.id, None)
    shutil.rmtree(_job_dir(call.emulator, job), ignore_errors=True)
    return Response(status_code=204)


def results(call: Call) -> Response:
    job = _job(call)
    if job.state != "JobComplete":
        status = (
            job.state.upper()
            .replace("UPLOADCOMPLETE", "UPLOAD_COMPLETE")
            .replace("INPROGRESS", "IN_PROGRESS")
        )
        raise SalesforceWireError(
            412,
            "JOB_NOT_COMPLETE",
            f"can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: {status}",
        )
    if call.version != job.api_version:
        raise SalesforceWireError(
            409,
            "API_VERSION_MISMATCH",
            f"Query results must be fetched with the job's API version {job.api_version}",
        )
    offset = _decode_locator(call.params.get("locator"))
    max_records = call.params.get("maxRecords", "")
    limit = int(max_records) if max_records.isdigit() and int(max_records) > 0 else DEFAULT_MAX_RECORDS
    page = _job_dir(call.emulator, job) / f"{offset}-{limit}.csv"
    with job.lock:
        if not page.exists():
            page.parent.mkdir(parents=True, exist_ok=True)
            snapshot = _job_dir(call.emulator, job) / "result.arrow"
            call.emulator.org.render_page(
                snapshot, job.batch_rows, offset, limit, page, job.column_delimiter, job.line_ending
            )
    count = max(min(limit, job.records - offset), 0)
    following = offset + count
    headers = {
        "Sforce-NumberOfRecords": str(count),
        "Sforce-Locator": _encode_locator(following) if following < job.records else "null",
    }
    if call.emulator.state.take("dropped_pages"):
        return _truncated(page, headers)
    return PageResponse(page, media_type="text/csv", headers=headers, stat_result=os.stat(page))


def _truncated(page: Path, headers: dict[str, str]) -> Response:
    """Promise the whole page (Content-Length), send half, then fail: the client sees a cut connection."""
    size = page.stat().st_size

    async def body() -> AsyncIterator[bytes]:
        with page.open("rb") as handle:
            yield handle.read(max(size // 2, 1))
        raise ConnectionAbortedError("emulator fault: connection dropped in the middle of a result page")

    response = StreamingResponse(
        body(), media_type="text/csv", headers={**headers, "Content-Length": str(size)}
    )
    return response


def _encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str | None) -> int:
    if not locator or locator == "null":
        return 0
    try:
        value = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        return int(value)
    except ValueError as exc:
        raise SalesforceWireError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from exc
