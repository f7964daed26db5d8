"""Render a run row as Adobe's run object (contract §7.9, MON): metrics, activities, errors.

The executor keeps its counters in the row's ``progress`` JSON while it runs, so a GET during a run
shows the records read so far. Keys of ``progress``: ``inputRecordCount``, ``outputRecordCount``,
``failedRecordCount``, ``deletedRecordCount``, ``inputBytes``, ``outputBytes``, ``lakeVersion`` and per
activity (``copy``, ``promotion``) ``{startedAtUTC, completedAtUTC, updatedAtUTC, status}``; from the
periodic steps (``runtime/maintenance.py``) ``reconciledDeleteCount``, ``reconcileApiCalls``,
``formulaRefreshedCount``, ``formulaRefreshReadCount``, ``formulaRefreshApiCalls`` -- shown as
Headwater's extensions of ``recordSummary`` (Adobe's run object has no field for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FLOW_SPEC = {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"}
EXTENSION_COUNTS = (
    "deletedRecordCount",
    "reconciledDeleteCount",
    "reconcileApiCalls",
    "formulaRefreshedCount",
    "formulaRefreshReadCount",
    "formulaRefreshApiCalls",
)
#: shown even when zero: "reconciled, nothing to delete" differs from "not reconciled"
ALWAYS_SHOWN = frozenset({"reconciledDeleteCount", "reconcileApiCalls", "formulaRefreshApiCalls"})


def _duration(started: Any, completed: Any, **extensions: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if started is not None:
        summary["startedAtUTC"] = started
    if completed is not None:
        summary["completedAtUTC"] = completed
    if extensions:
        summary["extensions"] = extensions
    return summary


def _record_summary(progress: Mapping[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "inputRecordCount": int(progress.get("inputRecordCount", 0)),
        "outputRecordCount": int(progress.get("outputRecordCount", 0)),
        "failedRecordCount": int(progress.get("failedRecordCount", 0)),
    }
    extensions = {
        key: int(progress[key])
        for key in EXTENSION_COUNTS
        if progress.get(key) is not None and (progress.get(key) or key in ALWAYS_SHOWN)
    }
    if extensions:
        summary["extensions"] = extensions
    return summary


def _copy_extensions(row: Mapping[str, Any], progress: Mapping[str, Any]) -> dict[str, Any]:
    extensions: dict[str, Any] = {"type": row["trigger"]}
    if progress.get("stoppedReason"):
        # The source ended the read early (e.g. its API budget): the cursor saved is where it stopped.
        extensions["stoppedReason"] = progress["stoppedReason"]
    return extensions


def _activities(
    row: Mapping[str, Any], progress: Mapping[str, Any], errors: list[Any]
) -> list[dict[str, Any]]:
    copy = dict(progress.get("copy") or {})
    promotion = dict(progress.get("promotion") or {})
    activities: list[dict[str, Any]] = []
    if copy:
        activities.append(
            {
                "id": "copyActivity",
                "name": "Copy Activity",
                "updatedAtUTC": copy.get("updatedAtUTC", row["updated_at"]),
                "durationSummary": _duration(
                    copy.get("startedAtUTC"),
                    copy.get("completedAtUTC"),
                    windowStart=row["window_start"],
                    windowEnd=row["window_end"],
                ),
                "sizeSummary": {
                    "inputBytes": int(progress.get("inputBytes", 0)),
                    "outputBytes": int(progress.get("inputBytes", 0)),
                },
                "recordSummary": {"inputRecordCount": int(progress.get("inputRecordCount", 0))},
                "statusSummary": {
                    "status": copy.get("status", row["status"]),
                    "extensions": _copy_extensions(row, progress),
                },
                "sourceInfo": [{"id": row["flow_id"], "type": "Flow"}],
            }
        )
    if promotion:
        status_summary: dict[str, Any] = {"status": promotion.get("status", row["status"])}
        if errors and promotion.get("status") == "failed":
            status_summary["errors"] = errors
        activities.append(
            {
                "id": "promotionActivity",
                "name": "Promotion Activity",
                "updatedAtUTC": promotion.get("updatedAtUTC", row["updated_at"]),
                "durationSummary": _duration(promotion.get("startedAtUTC"), promotion.get("completedAtUTC")),
                "sizeSummary": {
                    "inputBytes": int(progress.get("inputBytes", 0)),
                    "outputBytes": int(progress.get("outputBytes", 0)),
                },
                "recordSummary": _record_summary(progress),
                "statusSummary": status_summary,
                "targetInfo": [
                    {
                        "type": "Dataset",
                        "reference": {"type": "DeltaVersion", "ids": [str(progress.get("lakeVersion", ""))]},
                    }
                ]
                if progress.get("lakeVersion") is not None
                else [],
            }
        )
    return activities


def run_document(row: Mapping[str, Any]) -> dict[str, Any]:
    progress = dict(row.get("progress") or {})
    errors = list(row.get("errors") or [])
    status_summary: dict[str, Any] = {"status": row["status"], "errors": errors}
    activities = _activities(row, progress, errors)
    if activities:
        status_summary["activityRefs"] = [activity["id"] for activity in activities]
    return {
        "id": row["id"],
        "flowId": row["flow_id"],
        "flowSpec": {"id": row.get("flow_spec_id") or FLOW_SPEC["id"], "version": FLOW_SPEC["version"]},
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "createdBy": row["created_by"],
        "updatedBy": row["created_by"],
        "createdClient": row["created_client"],
        "updatedClient": row["created_client"],
        "sandboxName": row["sandbox_name"],
        "imsOrgId": row["org_id"],
        "etag": row["etag"],
        "state": row["status"],
        "providerRefId": f"{row['flow_id']}:{row['slot_key']}:{row['attempt']}",
        "metrics": {
            "durationSummary": _duration(row["started_at"], row["completed_at"]),
            "sizeSummary": {
                "inputBytes": int(progress.get("inputBytes", 0)),
                "outputBytes": int(progress.get("outputBytes", 0)),
            },
            "recordSummary": _record_summary(progress),
            "statusSummary": status_summary,
        },
        "activities": activities,
        "windowStartTime": row["window_start"],
        "windowEndTime": row["window_end"],
    }


__all__ = ["run_document"]
