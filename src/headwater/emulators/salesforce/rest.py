"""REST resources: versions, describe, limits, query/queryAll with cursors, getDeleted/getUpdated, records."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.responses import Response

from .catalog import find_object
from .describe import describe_global, describe_sobject, sobject_summary
from .schema import SObject
from .service import Call
from .soql import SoqlError
from .sqlgen import Column, Plan, plan_query
from .state import API_VERSIONS
from .wire import SalesforceWireError, json_response, not_found, parse_iso_datetime, rest_datetime, rest_value

DEFAULT_BATCH = 2000
MAX_OPEN_CURSORS = 1000
LABELS = {
    "52.0": "Summer '21",
    "55.0": "Summer '22",
    "58.0": "Summer '23",
    "59.0": "Winter '24",
    "60.0": "Spring '24",
    "61.0": "Summer '24",
    "62.0": "Winter '25",
    "63.0": "Spring '25",
    "64.0": "Summer '25",
    "65.0": "Winter '26",
    "66.0": "Spring '26",
}


@dataclass
class QueryCursor:
    """A query's frozen result (like Salesforce's server-side cursor): later changes do not shift pages."""

    plan: Plan
    snapshot: Path
    sizes: list[int]
    total: int
    batch: int

    def close(self) -> None:
        self.snapshot.unlink(missing_ok=True)


def versions() -> Response:
    return json_response(
        [{"label": LABELS[v], "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
    )


def resources(call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    names = ("sobjects", "query", "queryAll", "limits", "jobs")
    return json_response({n: f"{base}/{n}" for n in names})


def sobjects(call: Call) -> Response:
    return json_response(describe_global(call.version))


def sobject_of(call: Call) -> SObject:
    sobject = find_object(call.path_param("sobject"))
    if sobject is None:
        raise not_found()
    return sobject


def describe(call: Call) -> Response:
    return json_response(describe_sobject(sobject_of(call), call.version))


def sobject_basic(call: Call) -> Response:
    sobject = sobject_of(call)
    return json_response({"objectDescribe": sobject_summary(sobject, call.version), "recentItems": []})


def limits(call: Call) -> Response:
    state = call.emulator.state
    limit = state.faults.request_limit if state.faults.request_limit is not None else state.daily_limit

    def pair(maximum: int, used: int = 0) -> dict[str, int]:
        return {"Max": maximum, "Remaining": max(maximum - used, 0)}

    jobs = len(call.emulator.jobs)
    return json_response(
        {
            "DailyApiRequests": pair(limit, state.api_usage),
            "DailyBulkApiBatches": pair(15000),
            "DailyBulkV2QueryFileStorageMB": pair(976562),
            "DailyBulkV2QueryJobs": pair(10000, jobs),
            "DataStorageMB": pair(5),
            "FileStorageMB": pair(20),
        }
    )


def soql_error(error: SoqlError, soql: str) -> SalesforceWireError:
    status = 400
    return SalesforceWireError(status, error.code, error.render(soql))


def query(call: Call, include_deleted: bool) -> Response:
    soql = call.params.get("q")
    if not soql:
        raise SalesforceWireError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        plan = plan_query(soql)
    except SoqlError as error:
        raise soql_error(error, soql) from error
    if call.emulator.state.take("query_timeouts"):
        raise SalesforceWireError(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
    if plan.aggregate is not None:
        return aggregate_answer(call, plan, include_deleted)
    extra = ['t0."Id"'] + [f'{alias}."Id"' for alias, _ in plan.joins.values()]
    plan.order_sql = [*(plan.order_sql or []), 't0."Id" ASC']  # a stable order for paging
    sql = plan.select_sql(include_deleted, extra, order=True)
    cursor_id = "01g" + secrets.token_hex(8).upper()[:15]
    directory = call.emulator.data_dir / "cursors"
    directory.mkdir(parents=True, exist_ok=True)
    snapshot = directory / f"{cursor_id}.arrow"
    sizes = call.emulator.org.snapshot(snapshot, sql, plan.params)
    cursor = QueryCursor(plan, snapshot, sizes, sum(sizes), _batch_size(call))
    return _page(call, cursor, cursor_id, 0)


def aggregate_answer(call: Call, plan: Plan, include_deleted: bool) -> Response:
    """``COUNT()`` answers ``totalSize`` alone; other aggregates one ``AggregateResult`` record per group."""
    spec = plan.aggregate
    assert spec is not None
    rows = call.emulator.org.fetch(plan.aggregate_sql(include_deleted), plan.params)
    if spec.count_only:
        return json_response({"totalSize": int(rows[0][0]), "done": True, "records": []})
    if len(rows) > DEFAULT_BATCH:
        raise SalesforceWireError(
            400,
            "MALFORMED_QUERY",
            "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
        )
    records = []
    for row in rows:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for output, value in zip(spec.outputs, row, strict=True):
            record[output.name] = _aggregate_value(output.function, output.field, value)
        records.append(record)
    return json_response({"totalSize": len(records), "done": True, "records": records})


def _aggregate_value(function: str | None, f: Any, value: Any) -> Any:
    if value is None:
        return None
    if function in ("COUNT", "COUNT_DISTINCT"):
        return int(value)
    if function == "AVG":
        return float(value)
    if function == "SUM":
        return int(value) if f.type == "int" else float(value)
    return rest_value(f.type, value)


def query_more(call: Call) -> Response:
    locator = call.path_param("locator")
    cursor_id, _, offset = locator.rpartition("-")
    cursor = call.emulator.cursors.get(cursor_id)
    if cursor is None or not offset.isdigit():
        raise SalesforceWireError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(call, cursor, cursor_id, int(offset))


def _batch_size(call: Call) -> int:
    options = call.request.headers.get("sforce-query-options", "")
    for option in options.split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), 200), 2000)
    return DEFAULT_BATCH


def _page(call: Call, cursor: QueryCursor, cursor_id: str, offset: int) -> Response:
    size = max(min(cursor.batch, cursor.total - offset), 0)
    rows = call.emulator.org.read_rows(cursor.snapshot, cursor.sizes, offset, size) if size else []
    records = [build_record(cursor.plan, row, call.version) for row in rows]
    body: dict[str, Any] = {"totalSize": cursor.total, "done": True}
    next_offset = offset + len(rows)
    if next_offset < cursor.total and rows:
        cursors = call.emulator.cursors
        if cursor_id not in cursors and len(cursors) >= MAX_OPEN_CURSORS:
            cursors.pop(next(iter(cursors))).close()  # like Salesforce, the oldest open cursor expires first
        cursors[cursor_id] = cursor
        body["done"] = False
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/query/{cursor_id}-{next_offset}"
    else:
        call.emulator.cursors.pop(cursor_id, None)
        cursor.close()
    body["records"] = records
    return json_response(body)


def build_record(plan: Plan, row: tuple[Any, ...], version: str) -> dict[str, Any]:
    """Turn one flat SQL row into Salesforce's nested record JSON (attributes, relationships, compounds)."""
    width = sum(len(c.exprs) for c in plan.columns)
    hidden = row[width:]
    parent_ids = {path: hidden[1 + n] for n, path in enumerate(plan.joins)}
    record = _node(plan.sobject.name, hidden[0], version)
    position = 0
    for column in plan.columns:
        values = row[position : position + len(column.exprs)]
        position += len(column.exprs)
        _place(record, plan, column, values, parent_ids, version)
    return record


def _node(type_name: str, record_id: Any, version: str) -> dict[str, Any]:
    return {
        "attributes": {
            "type": type_name,
            "url": f"/services/data/v{version}/sobjects/{type_name}/{record_id}",
        }
    }


def _place(
    record: dict[str, Any],
    plan: Plan,
    column: Column,
    values: tuple[Any, ...],
    parent_ids: dict[tuple[str, ...], Any],
    version: str,
) -> None:
    target: dict[str, Any] | None = record
    for depth in range(1, len(column.path)):
        key = column.path[:depth]
        name = column.path[depth - 1]
        assert target is not None
        if parent_ids[key] is None:
            target[name] = None
            return
        if not isinstance(target.get(name), dict):
            target[name] = _node(plan.joins[key][1].name, parent_ids[key], version)
        target = target[name]
    assert target is not None
    target[column.path[-1]] = _value(column, values, record, version)


def _value(column: Column, values: tuple[Any, ...], record: dict[str, Any], version: str) -> Any:
    f = column.field
    if column.parts:
        if all(v is None for v in values):
            return None
        return {
            part: rest_value("double" if part in ("latitude", "longitude") else "string", v)
            for part, v in zip(column.parts, values, strict=True)
        }
    if f.type == "base64" and values[0] is not None:
        return record["attributes"]["url"] + "/" + f.name
    return rest_value(f.type, values[0])


def _window(call: Call) -> tuple[datetime, datetime]:
    try:
        start = parse_iso_datetime(call.params["start"])
        end = parse_iso_datetime(call.params["end"])
    except KeyError as exc:
        raise SalesforceWireError(400, "MISSING_ARGUMENT", f"{exc.args[0]} date must be specified") from exc
    except ValueError as exc:
        raise SalesforceWireError(
            400, "INVALID_PARAMETER_VALUE", "start and end must be ISO-8601 datetimes with an offset"
        ) from exc
    if end <= start:
        raise SalesforceWireError(
            400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"
        )
    return start, end


def deleted(call: Call) -> Response:
    sobject = sobject_of(call)
    start, end = _window(call)
    items = call.emulator.org.deleted_between(sobject.name, start, end)
    latest = min(end, call.emulator.org.now())
    return json_response(
        {
            "deletedRecords": [{"id": i, "deletedDate": rest_datetime(d)} for i, d in items],
            "earliestDateAvailable": rest_datetime(items[0][1] if items else start),
            "latestDateCovered": rest_datetime(latest),
        }
    )


def updated(call: Call) -> Response:
    sobject = sobject_of(call)
    start, end = _window(call)
    ids = call.emulator.org.updated_between(sobject.name, start, end)
    return json_response({"ids": ids, "latestDateCovered": rest_datetime(min(end, call.emulator.org.now()))})


def record(call: Call) -> Response:
    sobject = sobject_of(call)
    fields = call.params.get("fields")
    names = [n.strip() for n in fields.split(",")] if fields else [f.name for f in sobject.fields]
    soql = (
        f"SELECT {', '.join(names)} FROM {sobject.name} WHERE Id = '{_quote(call.path_param('record_id'))}'"
    )
    try:
        plan = plan_query(soql)
    except SoqlError as error:
        raise soql_error(error, soql) from error
    extra = ['t0."Id"'] + [f'{alias}."Id"' for alias, _ in plan.joins.values()]
    rows = call.emulator.org.fetch(plan.select_sql(False, extra, order=False), plan.params)
    if not rows:
        raise not_found()
    return json_response(build_record(plan, rows[0], call.version))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
