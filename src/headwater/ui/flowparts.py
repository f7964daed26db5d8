"""What the dataflow pages compute that is not service logic: the builder's form as a draft, the
run rows and the inline SVG chart. Every check and write goes through the same services as the API."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData

from headwater.flows.runs import RunRow

FREQUENCIES = ("once", "minute", "hour", "day", "week")
SOURCE_TYPES = (("ATTRIBUTE", "Field"), ("EXPRESSION", "Expression"), ("CONSTANT", "Constant"))
DATE_TYPES = frozenset({"date-time", "datetime", "date"})


def utc_text(value: Any, *, seconds: bool = False) -> str:
    """Epoch ms (or seconds with ``seconds=True``) as ``YYYY-MM-DD HH:MM:SS UTC``; ``—`` for none."""
    if value in (None, ""):
        return "—"
    number = float(value) if seconds else float(value) / 1000
    return datetime.fromtimestamp(number, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min {ms % 60_000 // 1000} s"


@dataclass
class MappingRow:
    source_type: str = "ATTRIBUTE"
    source: str = ""
    destination: str = ""

    @property
    def blank(self) -> bool:
        return not self.source.strip() and not self.destination.strip()

    def entry(self) -> dict[str, Any]:
        """The row as a Data Prep mapping entry (the current request form)."""
        return {
            "sourceType": self.source_type,
            "source": self.source.strip(),
            "destination": self.destination.strip(),
        }


@dataclass
class Draft:
    """The dataflow builder's form, parsed (nothing here is trusted: the services check it all)."""

    account: str = ""
    object: str = ""
    name: str = ""
    columns: list[str] = field(default_factory=list)
    column_types: dict[str, str] = field(default_factory=dict)
    dataset_choice: str = "new"
    dataset_id: str = ""
    dataset_name: str = ""
    rows: list[MappingRow] = field(default_factory=list)
    frequency: str = "once"
    interval: str = ""
    start_time: str = ""
    backfill: bool = True
    delta_column: str = ""

    @classmethod
    def from_form(cls, form: FormData) -> Draft:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        def many(name: str) -> list[str]:
            return [v if isinstance(v, str) else "" for v in form.getlist(name)]

        types: dict[str, str] = {}
        for item in many("column_types"):
            name, _, kind = item.rpartition(":")
            if name:
                types[name] = kind
        kinds, sources, destinations = many("source_type"), many("source"), many("destination")
        rows = [
            MappingRow(kind if kind in dict(SOURCE_TYPES) else "ATTRIBUTE", source, destination)
            for kind, source, destination in zip(kinds, sources, destinations, strict=False)
        ]
        return cls(
            account=text("account"),
            object=text("object"),
            name=text("name"),
            columns=[c for c in many("columns") if c],
            column_types=types,
            dataset_choice="existing" if text("dataset_choice") == "existing" else "new",
            dataset_id=text("dataset_id"),
            dataset_name=text("dataset_name"),
            rows=rows,
            frequency=text("frequency") or "once",
            interval=text("interval"),
            start_time=text("start_time"),
            backfill=text("backfill") in ("on", "true", "1"),
            delta_column=text("delta_column"),
        )

    def selected_columns(self) -> list[dict[str, str]]:
        """The chosen columns with their explore types (what the source connection will list)."""
        return [{"name": c, "type": self.column_types.get(c, "string")} for c in self.columns]

    def filled_rows(self) -> list[tuple[int, MappingRow]]:
        return [(i, row) for i, row in enumerate(self.rows) if not row.blank]

    def start_epoch(self) -> int | None:
        """``start_time`` (``YYYY-MM-DDTHH:MM`` in UTC, as a datetime-local input sends it) in seconds."""
        if not self.start_time:
            return None
        for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
            try:
                return int(datetime.strptime(self.start_time, pattern).replace(tzinfo=UTC).timestamp())
            except ValueError:
                continue
        return None

    def schedule_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"frequency": self.frequency}
        start = self.start_epoch()
        params["startTime"] = str(start) if start is not None else self.start_time
        if self.frequency != "once":
            params["interval"] = self.interval
            params["backfill"] = self.backfill
        return params

    def transformations(self, mapping_id: str | None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.frequency != "once":
            delta = {"name": self.delta_column, "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
            items.append({"name": "Copy", "params": {"deltaColumn": delta}})
        if mapping_id is not None:
            items.append({"name": "Mapping", "params": {"mappingId": mapping_id, "mappingVersion": 0}})
        return items


def default_start() -> str:
    """Five minutes from now, to the minute (UTC), as a datetime-local value."""
    return datetime.fromtimestamp(time.time() + 300, UTC).strftime("%Y-%m-%dT%H:%M")


def date_columns(columns: Sequence[Mapping[str, Any]]) -> list[str]:
    """Columns that can be a delta column: date-times first (``LastModifiedDate`` first of all)."""
    dated = [
        str(c["name"])
        for c in columns
        if str((c.get("xdm") or {}).get("format", "")).lower() in DATE_TYPES
        or str(c.get("type", "")).lower() in DATE_TYPES
        or str(c.get("meta:xdmType", "")).lower() in DATE_TYPES
    ]
    preferred = [n for n in ("LastModifiedDate", "SystemModstamp") if n in dated]
    return preferred + [n for n in dated if n not in preferred]


# --- runs ------------------------------------------------------------------------------------------


# --- the chart ------------------------------------------------------------------------------------

CHART_WIDTH, PANEL_HEIGHT, LEFT, GAP = 640, 110, 96, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    css: str


@dataclass(frozen=True)
class Panel:
    label: str
    top: float
    max_label: str
    bars: list[Bar]

    @property
    def bottom(self) -> float:
        return self.top + PANEL_HEIGHT


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    panels: list[Panel]
    summary: str
    runs: list[RunRow]


def run_chart(rows: Sequence[RunRow], limit: int = 30) -> Chart | None:
    """Records out and duration per finished run (oldest left), as bar geometry for an inline SVG."""
    finished = [r for r in rows if r.state in ("success", "failed")][:limit][::-1]
    if not finished:
        return None
    plot = CHART_WIDTH - LEFT - 8
    slot = plot / max(len(finished), 1)
    width = max(2.0, min(40.0, slot * 0.7))
    panels = []
    series = (
        ("Records out", [float(r.records_out) for r in finished], lambda v: f"{int(v)}"),
        ("Duration", [float(r.duration_ms or 0) / 1000 for r in finished], lambda v: f"{v:.1f} s"),
    )
    for number, (label, values, fmt) in enumerate(series):
        top = 8 + number * (PANEL_HEIGHT + GAP)
        peak = max(values) or 1.0
        bars = []
        for i, (run, value) in enumerate(zip(finished, values, strict=True)):
            height = max(1.0, (PANEL_HEIGHT - 16) * value / peak) if value else 1.0
            started = utc_text(run.started)
            title = (
                f"Run {run.id} ({run.state}), started {started}: {run.records_out} records out, "
                f"{run.records_failed} failed, {duration_text(run.duration_ms)}"
            )
            bars.append(
                Bar(
                    x=LEFT + i * slot + (slot - width) / 2,
                    y=top + PANEL_HEIGHT - height,
                    width=width,
                    height=height,
                    title=title,
                    css=run.state,
                )
            )
        panels.append(Panel(label, top, fmt(peak), bars))
    records = [r.records_out for r in finished]
    seconds = [(r.duration_ms or 0) / 1000 for r in finished]
    summary = (
        f"{len(finished)} finished run{'s' if len(finished) != 1 else ''}, oldest first: records out from "
        f"{min(records)} to {max(records)} (latest {records[-1]}); duration from {min(seconds):.1f} s to "
        f"{max(seconds):.1f} s (latest {seconds[-1]:.1f} s)."
    )
    height = 8 + 2 * PANEL_HEIGHT + GAP + 8
    return Chart(CHART_WIDTH, int(height), panels, summary, finished)
