"""The one table from domain errors to Adobe's catalogue: a ``reason`` -> ``(code, title)``.

The layers below the API raise ``core.errors`` classes with a stable ``reason``; only this table knows
that ``flow.delta_missing`` is Flow Service's ``1367-400``. The code's last three digits are the HTTP
status. A test keeps the table complete: every reason raised anywhere in the product has a row.
"""

from __future__ import annotations

from headwater.core.errors import Conflict, DomainError, NotFound, PreconditionFailed, SourceFailed

BAD_REQUEST, INVALID, NOT_FOUND = "Bad Request", "Invalid request", "Resource not found"

CODES: dict[str, tuple[str, str]] = {
    # generic
    "invalid": ("1000-400", "Bad request"),
    "not_found": ("1439-404", NOT_FOUND),
    "conflict": ("1000-409", "Conflict"),
    "internal": ("1400-500", "Internal Error"),
    "busy": ("1103-503", "Service Unavailable"),
    "http.not_found": ("1101-404", NOT_FOUND),
    "http.method_not_allowed": ("1100-405", "Method not allowed"),
    # request bodies, headers, versions
    "body.empty": ("1405-400", INVALID),
    "body.malformed": ("1000-400", "Bad request"),
    "header.sandbox_unknown": ("2100-404", "Sandbox not found"),
    "header.sandbox_missing": ("2105-400", "Header is missing"),
    "etag.missing": ("1403-400", "Header is missing"),
    "etag.mismatch": ("1404-412", "Version not matching"),
    # JSON Patch
    "patch.empty": ("1405-400", INVALID),
    "patch.malformed": ("1455-400", INVALID),
    "patch.op_unsupported": ("1434-400", INVALID),
    "patch.path_invalid": ("1365-400", INVALID),
    "patch.field_frozen": ("1414-400", INVALID),
    # lists
    "query.param_unknown": ("1451-400", INVALID),
    "query.limit_with_count": ("1401-400", INVALID),
    "query.value_invalid": ("1453-400", INVALID),
    "query.token_invalid": ("1453-400", INVALID),
    "filter.operator_unimplemented": ("1440-400", INVALID),
    "filter.operator_invalid": ("1450-400", INVALID),
    "filter.operator_multiple_values": ("1443-400", INVALID),
    "filter.field_invalid": ("1449-400", INVALID),
    "filter.value_invalid": ("1452-400", INVALID),
    "orderby.direction_invalid": ("1432-400", INVALID),
    "orderby.field_invalid": ("1433-400", INVALID),
    # specs, connections, explore
    "spec.unknown": ("1413-400", INVALID),
    "reference.missing": ("1411-400", INVALID),
    "connection.name_missing": ("1304-400", INVALID),
    "connection.auth_missing": ("1304-400", INVALID),
    "connection.auth_param_invalid": ("1304-400", INVALID),
    "connection.auth_spec_unknown": ("1415-400", INVALID),
    "connection.in_use": ("1418-400", INVALID),
    "connection.used_by_flows": ("1447-400", INVALID),
    "source.base_connection_missing": ("1304-400", INVALID),
    "source.table_missing": ("1304-400", INVALID),
    "source.format_unsupported": ("1327-400", "Bad request"),
    "source.columns_malformed": ("1391-400", "Bad request"),
    "source.column_unknown": ("1330-400", INVALID),
    "source.refused": ("1390-400", "Source connection failed"),
    "source.timeout": ("1104-504", "Gateway timeout"),
    "source.object_not_found": ("1003-404", NOT_FOUND),
    "explore.object_type_invalid": ("1358-400", "Bad request"),
    "explore.object_missing": ("1337-400", "Bad request"),
    "explore.spec_unsupported": ("1336-400", "Bad request"),
    "target.spec_unsupported": ("1307-400", BAD_REQUEST),
    "target.dataset_missing": ("1324-400", BAD_REQUEST),
    "target.dataset_unknown": ("1325-400", BAD_REQUEST),
    # Data Prep
    "mapping.unknown": ("1370-400", BAD_REQUEST),
    "mapping.version_unknown": ("1412-400", INVALID),
    "mapping.invalid": ("1419-400", INVALID),
    # schedules and flows (ERR-FS and ERR-SRC 13xx/14xx)
    "schedule.params_empty": ("1317-400", BAD_REQUEST),
    "schedule.param_missing": ("1359-400", BAD_REQUEST),
    "schedule.time_format": ("1340-400", BAD_REQUEST),
    "schedule.frequency_invalid": ("1397-400", BAD_REQUEST),
    "schedule.interval_not_allowed": ("1363-400", BAD_REQUEST),
    "schedule.interval_too_small": ("1362-400", BAD_REQUEST),
    "schedule.backfill_invalid": ("1312-400", BAD_REQUEST),
    "schedule.start_time_past": ("1360-400", BAD_REQUEST),
    "schedule.interval_with_once": ("1361-400", BAD_REQUEST),
    "schedule.backfill_with_once": ("1364-400", BAD_REQUEST),
    "schedule.start_time_frozen": ("1366-400", BAD_REQUEST),
    "schedule.once_frozen": ("1403-400", BAD_REQUEST),
    "schedule.backfill_frozen": ("1404-400", BAD_REQUEST),
    "flow.connection_ids_empty": ("1320-400", BAD_REQUEST),
    "flow.connection_ids_not_one": ("1321-400", BAD_REQUEST),
    "flow.copy_mode": ("1368-400", BAD_REQUEST),
    "flow.delta_with_once": ("1369-400", BAD_REQUEST),
    "flow.delta_missing": ("1367-400", BAD_REQUEST),
    "flow.state_not_allowed": ("1410-400", INVALID),
    "flow.transformation_unsupported": ("1000-400", "Bad request"),
    "flow.name_missing": ("1304-400", INVALID),
    "flow.options_invalid": ("1000-400", "Bad request"),
    "action.unsupported": ("1435-400", INVALID),
    # runs
    "run.flow_id_missing": ("1446-400", INVALID),
    "run.flow_unknown": ("1430-400", INVALID),
    "run.frequency_not_once": ("1386-400", BAD_REQUEST),
    "run.window_end_before_start": ("1381-400", BAD_REQUEST),
    "run.flow_not_enabled": ("1388-400", BAD_REQUEST),
    "run.not_failed": ("1387-400", BAD_REQUEST),
    # tenants (admin commands)
    "sandbox.name_invalid": ("1000-400", "Bad request"),
    "sandbox.exists": ("1000-400", "Bad request"),
}

_DEFAULTS: list[tuple[type[DomainError], str]] = [
    (NotFound, "not_found"),
    (PreconditionFailed, "etag.mismatch"),
    (SourceFailed, "source.refused"),
    (Conflict, "conflict"),
]


def code_of(error: DomainError) -> tuple[str, str]:
    """Adobe's ``(code, title)`` for a domain error: its reason's row, else its class's default row."""
    found = CODES.get(error.reason)
    if found is not None:
        return found
    for cls, reason in _DEFAULTS:
        if isinstance(error, cls):
            return CODES[reason]
    return CODES["invalid"]


def status_of(error: DomainError) -> int:
    return int(code_of(error)[0].rsplit("-", 1)[1])


__all__ = ["CODES", "code_of", "status_of"]
