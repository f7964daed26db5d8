"""Bulk API 1.0 query jobs with JSON content (what simple-salesforce's ``sf.bulk`` and dlt use).

Flow: ``POST job`` -> ``POST job/{id}/batch`` (raw SOQL body) -> ``POST job/{id}`` ``{"state": "Closed"}``
-> poll ``GET job/{id}/batch/{bid}`` until ``Completed``/``Failed`` -> ``GET .../result`` (a JSON list of
result ids, one per 10,000 rows) -> ``GET .../result/{rid}`` (a JSON array of records). Records are
REST-shaped but datetimes are epoch milliseconds, as Bulk 1.0 JSON returns them. Results are frozen
in an Arrow snapshot like Bulk 2.0 jobs. Only ``query``/``queryAll`` are emulated.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from .rest import build_record
from .service import Call, Emulator
from .soql import SoqlError
from .sqlgen import Plan, plan_query
from .state import USER_ID
from .wire import json_response, rest_datetime

RESULT_ROWS = 10_000


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


@dataclass
class BulkJob:
    id: str
    operation: str
    object: str
    api_version: str
    created: datetime
    state: str = "Open"
    batches: dict[str, BulkBatch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        done = [b for b in self.batches.values() if b.state == "Completed"]
        return {
            "apiVersion": float(self.api_version),
            "concurrencyMode": "Parallel",
            "contentType": "JSON",
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


def _fail(code: str, message: str, status: int = 400) -> Response:
    return json_response({"exceptionCode": code, "exceptionMessage": message}, status)


def _jobs(emulator: Emulator) -> dict[str, BulkJob]:
    return emulator.bulk_v1_jobs


def create_job(call: Call) -> Response:
    try:
        spec = orjson.loads(call.body or b"{}")
    except orjson.JSONDecodeError:
        return _fail("InvalidJob", "Unable to parse the job")
    if not isinstance(spec, dict) or spec.get("operation") not in ("query", "queryAll"):
        return _fail("FeatureNotEnabled", "Only query and queryAll Bulk API 1.0 jobs are emulated")
    if spec.get("contentType", "JSON") != "JSON":
        return _fail("InvalidJob", "Only contentType JSON is emulated")
    from .catalog import find_object

    sobject = find_object(str(spec.get("object", "")))
    if sobject is None:
        return _fail("InvalidEntity", f"Entity '{spec.get('object')}' is not supported by the Bulk API.")
    job = BulkJob(
        "750" + secrets.token_hex(8).upper()[:15],
        spec["operation"],
        sobject.name,
        call.version,
        call.emulator.org.now(),
    )
    _jobs(call.emulator)[job.id] = job
    return json_response(job.info(), 201)


def _job(call: Call) -> BulkJob | None:
    return _jobs(call.emulator).get(call.path_param("job_id"))


def job(call: Call) -> Response:
    found = _job(call)
    if found is None:
        return _fail("InvalidJob", "Unable to find job", 400)
    if call.request.method == "POST":
        try:
            state = orjson.loads(call.body or b"{}").get("state")
        except (orjson.JSONDecodeError, AttributeError):
            return _fail("InvalidJob", "Unable to parse the job state")
        if state not in ("Closed", "Aborted"):
            return _fail("InvalidJobState", f"Invalid state: {state}")
        found.state = state
    return json_response(found.info())


def add_batch(call: Call) -> Response:
    found = _job(call)
    if found is None:
        return _fail("InvalidJob", "Unable to find job")
    if found.state != "Open":
        return _fail("InvalidJobState", "Job is not open")
    batch = BulkBatch("751" + secrets.token_hex(8).upper()[:15], found.id, call.emulator.org.now())
    found.batches[batch.id] = batch
    soql = call.body.decode("utf-8", "replace")
    threading.Thread(target=_run, args=(call.emulator, found, batch, soql), daemon=True).start()
    return json_response(batch.info(), 201)


def _run(emulator: Emulator, job: BulkJob, batch: BulkBatch, soql: str) -> None:
    batch.state = "InProgress"
    try:
        plan = plan_query(soql, bulk=True)
    except SoqlError as error:
        batch.state, batch.message = (
            "Failed",
            f"InvalidBatch : Failed to process query: {error.code}: {error.render(soql)}",
        )
        return
    if plan.sobject.name != job.object:
        batch.state = "Failed"
        batch.message = (
            "InvalidBatch : Failed to process query: INVALID_TYPE_FOR_OPERATION: The root entity of the requested "
            f"query ({plan.sobject.name}) does not match the entity of the requested Bulk API Job ({job.object})."
        )
        return
    if emulator.state.take("query_timeouts"):
        batch.state, batch.message = (
            "Failed",
            "InvalidBatch : QUERY_TIMEOUT: Your query request was running for too long.",
        )
        return
    extra = ['t0."Id"'] + [f'{alias}."Id"' for alias, _ in plan.joins.values()]
    sql = plan.select_sql(job.operation == "queryAll", extra, order=True)
    directory = emulator.data_dir / "jobs" / batch.id
    directory.mkdir(parents=True, exist_ok=True)
    batch.plan = plan
    batch.sizes = emulator.org.snapshot(directory / "result.arrow", sql, plan.params)
    batch.state = "Completed"


def _batch(call: Call) -> BulkBatch | None:
    found = _job(call)
    return found.batches.get(call.path_param("batch_id")) if found else None


def batch_info(call: Call) -> Response:
    found = _batch(call)
    return json_response(found.info()) if found else _fail("InvalidBatch", "Unable to find batch")


def result_list(call: Call) -> Response:
    found = _batch(call)
    if found is None or found.state != "Completed":
        return _fail("InvalidBatch", "Batch not completed")
    chunks = max((sum(found.sizes) + RESULT_ROWS - 1) // RESULT_ROWS, 1)
    return json_response([f"752{found.id[3:]}-{n}" for n in range(chunks)])


def result(call: Call) -> Response:
    found = _batch(call)
    result_id = call.path_param("result_id")
    if found is None or found.plan is None or not result_id.rpartition("-")[2].isdigit():
        return _fail("InvalidBatch", "Unable to find result")
    chunk = int(result_id.rpartition("-")[2])
    snapshot = call.emulator.data_dir / "jobs" / found.id / "result.arrow"
    rows = call.emulator.org.read_rows(snapshot, found.sizes, chunk * RESULT_ROWS, RESULT_ROWS)
    records = [_epoch_datetimes(build_record(found.plan, row, call.version)) for row in rows]
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
