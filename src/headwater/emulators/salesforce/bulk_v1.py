"""Bulk API 1.0 query jobs, JSON or CSV content (simple-salesforce's ``sf.bulk`` and dlt use JSON,
Singer's tap-salesforce uses CSV).

Flow: ``POST job`` -> ``POST job/{id}/batch`` (raw SOQL body) -> ``POST job/{id}`` ``{"state": "Closed"}``
-> poll ``GET job/{id}/batch/{bid}`` until ``Completed``/``Failed`` -> ``GET .../result`` (the result ids,
one per ``RESULT_ROWS`` rows) -> ``GET .../result/{rid}``.

Formats, as Salesforce answers them: job resources answer in the format of the request body
(``Content-Type: application/json`` -> JSON, else XML). Batch resources and the result list answer in
the job's content type: JSON for a JSON job, XML (``batchInfo``, ``result-list``) for a CSV job. A
JSON result is an array of REST-shaped records whose datetimes are epoch milliseconds; a CSV result
has its own header row, every value quoted, null as an empty cell and datetimes ``...sssZ`` (as Bulk
2.0). Results are frozen in an Arrow snapshot like Bulk 2.0 jobs. Only ``query``/``queryAll``.

A batch always ends: any failure while it runs (bad SOQL, a timeout knob, an error of the database)
makes it ``Failed`` with Salesforce's ``stateMessage`` layout, so clients that poll stop polling.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import orjson
from starlette.responses import Response

from .bulk import PageResponse, csv_select_sql
from .catalog import find_object
from .org import Org
from .rest import build_record
from .service import Call, Emulator
from .soql import SoqlError
from .sqlgen import Plan, plan_query
from .state import USER_ID
from .wire import json_response, rest_datetime

log = logging.getLogger(__name__)
RESULT_ROWS = 10_000
_RENDERING = threading.Lock()  # one CSV result file is rendered once, then streamed from disk
XMLNS = "http://www.force.com/2009/06/asyncapi/dataload"
CONTENT_TYPES = ("JSON", "CSV")


def _xml_datetime(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _xml(root: str, body: dict[str, Any]) -> str:
    parts = "".join(
        f"<{key}>{escape(_xml_text(value))}</{key}>" for key, value in body.items() if value is not None
    )
    return f'<{root} xmlns="{XMLNS}">{parts}</{root}>'


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def xml_response(text: str, status: int = 200) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + text, status, media_type="application/xml")


@dataclass
class BulkBatch:
    id: str
    job_id: str
    created: datetime
    state: str = "Queued"
    message: str = ""
    plan: Plan | None = None
    sizes: list[int] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "createdDate": rest_datetime(self.created),
            "id": self.id,
            "jobId": self.job_id,
            "numberRecordsFailed": 0,
            "numberRecordsProcessed": sum(self.sizes),
            "state": self.state,
            "stateMessage": self.message or None,
            "systemModstamp": rest_datetime(self.created),
            "totalProcessingTime": 0,
        }

    def xml(self) -> str:
        """The ``batchInfo`` element (Salesforce's element order)."""
        body = {
            "id": self.id,
            "jobId": self.job_id,
            "state": self.state,
            "stateMessage": self.message or None,
            "createdDate": _xml_datetime(self.created),
            "systemModstamp": _xml_datetime(self.created),
            "numberRecordsProcessed": sum(self.sizes),
            "numberRecordsFailed": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        return _xml("batchInfo", body)


@dataclass
class BulkJob:
    id: str
    operation: str
    object: str
    api_version: str
    created: datetime
    content_type: str = "JSON"
    state: str = "Open"
    batches: dict[str, BulkBatch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        done = [b for b in self.batches.values() if b.state == "Completed"]
        return {
            "apiVersion": float(self.api_version),
            "concurrencyMode": "Parallel",
            "contentType": self.content_type,
            "createdById": USER_ID,
            "createdDate": rest_datetime(self.created),
            "id": self.id,
            "numberBatchesCompleted": len(done),
            "numberBatchesFailed": sum(1 for b in self.batches.values() if b.state == "Failed"),
            "numberBatchesQueued": sum(
                1 for b in self.batches.values() if b.state in ("Queued", "InProgress")
            ),
            "numberBatchesTotal": len(self.batches),
            "numberRecordsProcessed": sum(sum(b.sizes) for b in done),
            "object": self.object,
            "operation": self.operation,
            "state": self.state,
        }

    def xml(self) -> str:
        info = self.info()
        order = [
            "id",
            "operation",
            "object",
            "createdById",
            "createdDate",
            "systemModstamp",
            "state",
            "concurrencyMode",
            "contentType",
            "numberBatchesQueued",
            "numberBatchesInProgress",
            "numberBatchesCompleted",
            "numberBatchesFailed",
            "numberBatchesTotal",
            "numberRecordsProcessed",
            "apiVersion",
        ]
        info["systemModstamp"] = info["createdDate"] = _xml_datetime(self.created)
        info["numberBatchesInProgress"] = sum(1 for b in self.batches.values() if b.state == "InProgress")
        return _xml("jobInfo", {key: info.get(key) for key in order})

    @property
    def speaks_json(self) -> bool:
        return self.content_type == "JSON"


def _wants_json(call: Call) -> bool:
    return "json" in call.request.headers.get("content-type", "application/xml").lower()


def _fail(code: str, message: str, *, as_json: bool = True, status: int = 400) -> Response:
    if as_json:
        return json_response({"exceptionCode": code, "exceptionMessage": message}, status)
    return xml_response(_xml("error", {"exceptionCode": code, "exceptionMessage": message}), status)


def _job_response(call: Call, job: BulkJob, status: int = 200) -> Response:
    if _wants_json(call):
        return json_response(job.info(), status)
    return xml_response(job.xml(), status)


def _jobs(emulator: Emulator) -> dict[str, BulkJob]:
    return emulator.bulk_v1_jobs


def _job_spec(call: Call) -> dict[str, Any] | None:
    """The job request body: JSON, or XML ``jobInfo`` with one value per element."""
    if _wants_json(call):
        try:
            spec = orjson.loads(call.body or b"{}")
        except orjson.JSONDecodeError:
            return None
        return spec if isinstance(spec, dict) else None
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(call.body or b"<jobInfo/>")
    except ET.ParseError:
        return None
    return {element.tag.rsplit("}", 1)[-1]: (element.text or "").strip() for element in root}


def create_job(call: Call) -> Response:
    as_json = _wants_json(call)
    spec = _job_spec(call)
    if spec is None:
        return _fail("InvalidJob", "Unable to parse the job", as_json=as_json)
    if spec.get("operation") not in ("query", "queryAll"):
        return _fail(
            "FeatureNotEnabled", "Only query and queryAll Bulk API 1.0 jobs are emulated", as_json=as_json
        )
    content_type = str(spec.get("contentType") or ("JSON" if as_json else "XML"))
    if content_type not in CONTENT_TYPES:
        return _fail("InvalidJob", f"contentType {content_type} is not emulated (JSON, CSV)", as_json=as_json)
    sobject = find_object(str(spec.get("object", "")))
    if sobject is None:
        return _fail(
            "InvalidEntity",
            f"Entity '{spec.get('object')}' is not supported by the Bulk API.",
            as_json=as_json,
        )
    job = BulkJob(
        "750" + secrets.token_hex(8).upper()[:15],
        str(spec["operation"]),
        sobject.name,
        call.version,
        call.emulator.org.now(),
        content_type,
    )
    _jobs(call.emulator)[job.id] = job
    return _job_response(call, job, 201)


def _job(call: Call) -> BulkJob | None:
    return _jobs(call.emulator).get(call.path_param("job_id"))


def job(call: Call) -> Response:
    found = _job(call)
    if found is None:
        return _fail("InvalidJob", "Unable to find job", as_json=_wants_json(call))
    if call.request.method == "POST":
        spec = _job_spec(call)
        state = spec.get("state") if spec else None
        if state not in ("Closed", "Aborted"):
            return _fail("InvalidJobState", f"Invalid state: {state}", as_json=_wants_json(call))
        found.state = str(state)
    return _job_response(call, found)


def add_batch(call: Call) -> Response:
    found = _job(call)
    if found is None:
        return _fail("InvalidJob", "Unable to find job", as_json=_wants_json(call))
    if found.state != "Open":
        return _fail("InvalidJobState", "Job is not open", as_json=found.speaks_json)
    batch = BulkBatch("751" + secrets.token_hex(8).upper()[:15], found.id, call.emulator.org.now())
    found.batches[batch.id] = batch
    soql = call.body.decode("utf-8", "replace")
    threading.Thread(target=_run, args=(call.emulator, found, batch, soql), daemon=True).start()
    return _batch_response(found, batch, 201)


def _batch_response(job: BulkJob, batch: BulkBatch, status: int = 200) -> Response:
    if job.speaks_json:
        return json_response(batch.info(), status)
    return xml_response(batch.xml(), status)


def _run(emulator: Emulator, job: BulkJob, batch: BulkBatch, soql: str) -> None:
    batch.state = "InProgress"
    try:
        batch.message = _execute(emulator, job, batch, soql)
    except Exception as exc:  # whatever happens, the batch ends (clients poll until it does)
        log.warning("bulk 1.0 batch %s failed: %s", batch.id, exc)
        batch.message = (
            f"InvalidBatch : Failed to process query: UNKNOWN_EXCEPTION: {type(exc).__name__}: {exc}"
        )
    batch.state = "Failed" if batch.message else "Completed"


def _execute(emulator: Emulator, job: BulkJob, batch: BulkBatch, soql: str) -> str:
    """Freeze the batch's result; return Salesforce's failure message, or "" on success."""
    try:
        plan = plan_query(soql, bulk=True)
    except SoqlError as error:
        return f"InvalidBatch : Failed to process query: {error.code}: {error.render(soql)}"
    if plan.sobject.name != job.object:
        return (
            "InvalidBatch : Failed to process query: INVALID_TYPE_FOR_OPERATION: The root entity of the requested "
            f"query ({plan.sobject.name}) does not match the entity of the requested Bulk API Job ({job.object})."
        )
    if emulator.state.take("query_timeouts"):
        return "InvalidBatch : QUERY_TIMEOUT: Your query request was running for too long."
    include_deleted = job.operation == "queryAll"
    if job.speaks_json:
        extra = ['t0."Id"'] + [f'{alias}."Id"' for alias, _ in plan.joins.values()]
        sql = plan.select_sql(include_deleted, extra, order=True)
    else:
        sql = csv_select_sql(plan, include_deleted)
    directory = emulator.data_dir / "jobs" / batch.id
    directory.mkdir(parents=True, exist_ok=True)
    batch.sizes = emulator.org.snapshot(directory / "result.arrow", sql, plan.params)
    batch.plan = plan
    return ""


def _batch(call: Call) -> tuple[BulkJob | None, BulkBatch | None]:
    found = _job(call)
    return found, (found.batches.get(call.path_param("batch_id")) if found else None)


def batch_list(call: Call) -> Response:
    found = _job(call)
    if found is None:
        return _fail("InvalidJob", "Unable to find job", as_json=_wants_json(call))
    if found.speaks_json:
        return json_response({"batchInfo": [b.info() for b in found.batches.values()]})
    items = "".join(b.xml().replace(f' xmlns="{XMLNS}"', "") for b in found.batches.values())
    return xml_response(f'<batchInfoList xmlns="{XMLNS}">{items}</batchInfoList>')


def batch_or_list(call: Call) -> Response:
    return add_batch(call) if call.request.method == "POST" else batch_list(call)


def batch_info(call: Call) -> Response:
    found, batch = _batch(call)
    if found is None or batch is None:
        return _fail("InvalidBatch", "Unable to find batch", as_json=_wants_json(call))
    return _batch_response(found, batch)


def _result_ids(batch: BulkBatch) -> list[str]:
    chunks = max((sum(batch.sizes) + RESULT_ROWS - 1) // RESULT_ROWS, 1)
    return [f"752{batch.id[3:]}-{n}" for n in range(chunks)]


def result_list(call: Call) -> Response:
    found, batch = _batch(call)
    if found is None or batch is None or batch.state != "Completed":
        as_json = found.speaks_json if found else _wants_json(call)
        return _fail("InvalidBatch", "Batch not completed", as_json=as_json)
    if found.speaks_json:
        return json_response(_result_ids(batch))
    items = "".join(f"<result>{rid}</result>" for rid in _result_ids(batch))
    return xml_response(f'<result-list xmlns="{XMLNS}">{items}</result-list>')


def result(call: Call) -> Response:
    found, batch = _batch(call)
    result_id = call.path_param("result_id")
    if found is None or batch is None or batch.plan is None or result_id not in _result_ids(batch):
        as_json = found.speaks_json if found else True
        return _fail("InvalidBatch", "Unable to find result", as_json=as_json)
    chunk = int(result_id.rpartition("-")[2])
    directory = call.emulator.data_dir / "jobs" / batch.id
    snapshot = directory / "result.arrow"
    if not found.speaks_json:
        page = directory / f"{chunk}.csv"
        with _RENDERING:
            if not page.exists():
                Org.render_page(snapshot, batch.sizes, chunk * RESULT_ROWS, RESULT_ROWS, page, "COMMA", "LF")
        return PageResponse(page, media_type="text/csv", stat_result=os.stat(page))
    rows = call.emulator.org.read_rows(snapshot, batch.sizes, chunk * RESULT_ROWS, RESULT_ROWS)
    records = [_epoch_datetimes(build_record(batch.plan, row, call.version)) for row in rows]
    return json_response(records)


def _epoch_datetimes(record: dict[str, Any]) -> dict[str, Any]:
    """Bulk 1.0 JSON gives datetimes as epoch milliseconds (REST's ``...+0000`` strings converted)."""
    for key, value in record.items():
        if isinstance(value, dict) and key != "attributes":
            _epoch_datetimes(value)
        elif isinstance(value, str) and len(value) == 28 and value.endswith("+0000") and value[10] == "T":
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
            record[key] = int(moment.timestamp() * 1000)
    return record
