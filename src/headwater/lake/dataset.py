"""The lake: datasets as Delta tables at ``<root>/<org>/<sandbox>/<datasetId>/``.

The root is a local folder or an object-store URI (``s3://bucket/prefix``, with ``storage_options``
passed to ``deltalake``). Run staging is always on local disk: under ``<root>/_staging`` for a local
root, else under ``staging_root`` (default: the system temp folder).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from headwater.core.errors import TerminalError
from headwater.core.ids import new_id
from headwater.core.settings import Settings
from headwater.lake.evolution import delta_schema
from headwater.lake.nesting import flatten_schema
from headwater.lake.staging import owner_is_gone
from headwater.lake.writer import RUN_ID_KEY, TARGET_FILE_SIZE, RunWriter

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
STAGING_DIR = "_staging"
#: Commits read back for a mark: a mark older than this counts as absent (the step is due again).
MARK_LOOKBACK = 1000


def _check_segment(kind: str, value: str) -> str:
    # org ids look like "ABC123@AdobeOrg"; no segment may climb out of the lake root
    if not _SEGMENT.match(value) or value in {".", ".."} or ".." in value:
        raise TerminalError(f"invalid {kind} {value!r} for a lake path")
    return value


def _is_remote(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


@dataclass(frozen=True)
class Column:
    """A catalog column: dotted path of a leaf and its Arrow type."""

    path: str
    type: str


class Lake:
    def __init__(
        self,
        root: str | Path,
        storage_options: dict[str, str] | None = None,
        staging_root: str | Path | None = None,
    ) -> None:
        self.root = str(root).rstrip("/")
        self.storage_options = storage_options
        if staging_root is not None:
            self.staging_root = Path(staging_root)
        elif _is_remote(self.root):
            self.staging_root = Path(tempfile.gettempdir()) / "headwater-staging"
        else:
            self.staging_root = Path(self.root) / STAGING_DIR

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        """The deployment's lake (``HEADWATER_LAKE_ROOT``): where runs write and every reader looks."""
        return cls(settings.resolved_lake_root)

    def dataset(self, org: str, sandbox: str, dataset_id: str) -> Dataset:
        parts = (_check_segment("org", org), _check_segment("sandbox", sandbox))
        return Dataset(self, *parts, _check_segment("dataset id", dataset_id))

    def datasets(self) -> list[Dataset]:
        """Every Delta table found at ``<org>/<sandbox>/<id>`` under a local root."""
        if _is_remote(self.root):
            raise TerminalError("listing datasets needs a local lake root; pass their ids instead")
        found = []
        for log in sorted(Path(self.root).glob("*/*/*/_delta_log")):
            dataset_dir = log.parent
            org, sandbox = dataset_dir.parent.parent.name, dataset_dir.parent.name
            if not org.startswith("_"):
                found.append(Dataset(self, org, sandbox, dataset_dir.name))
        return found

    def clean_staging(self, max_age_s: float = 24 * 3600) -> list[Path]:
        """Remove staging folders of runs that died (process gone) or are older than ``max_age_s``.

        Committed data is never under the staging root, so this cannot touch it.
        """
        removed = []
        for run_dir in sorted(self.staging_root.glob("*/*/*/*")):
            if run_dir.is_dir() and owner_is_gone(run_dir, max_age_s):
                shutil.rmtree(run_dir, ignore_errors=True)
                removed.append(run_dir)
        return removed


class Dataset:
    def __init__(self, lake: Lake, org: str, sandbox: str, dataset_id: str) -> None:
        self.lake = lake
        self.org = org
        self.sandbox = sandbox
        self.id = dataset_id
        self.uri = f"{lake.root}/{org}/{sandbox}/{dataset_id}"

    @property
    def storage_options(self) -> dict[str, str] | None:
        return self.lake.storage_options

    def local_path(self) -> Path | None:
        """The table's folder on local disk, or None for an object-store root."""
        if _is_remote(self.uri):
            return None
        return Path(self.uri.removeprefix("file://"))

    def table(self) -> DeltaTable | None:
        """The Delta table, or None before the first commit."""
        if not DeltaTable.is_deltatable(self.uri, storage_options=self.storage_options):
            return None
        return DeltaTable(self.uri, storage_options=self.storage_options)

    def open_writer(
        self,
        run_id: str | None = None,
        primary_key: str = "Id",
        target_file_size: int = TARGET_FILE_SIZE,
        history: bool = False,
    ) -> RunWriter:
        """A writer for one run; ``history=True`` keeps every version (type 2, ``lake/history.py``)."""
        run_id = run_id or new_id()
        stage_dir = self.lake.staging_root / self.org / self.sandbox / self.id / f"{run_id}-{new_id()}"
        return RunWriter(self, stage_dir, run_id, primary_key, target_file_size, history)

    # --- metadata for the catalog -------------------------------------------------------------------

    @staticmethod
    def file_sizes(table: DeltaTable | None) -> dict[str, int]:
        if table is None:
            return {}
        actions = pa.table(table.get_add_actions(flatten=True))
        return dict(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist(), strict=True))

    def stats(self) -> dict[str, Any]:
        """Row count, size in bytes, file count and version (all zero/None before the first commit)."""
        table = self.table()
        if table is None:
            return {"rows": 0, "bytes": 0, "files": 0, "version": None}
        actions = pa.table(table.get_add_actions(flatten=True))
        rows = actions["num_records"].to_pylist() if "num_records" in actions.column_names else []
        return {
            "rows": sum(r or 0 for r in rows),
            "bytes": sum(actions["size_bytes"].to_pylist()),
            "files": actions.num_rows,
            "version": table.version(),
        }

    def arrow_schema(self) -> pa.Schema | None:
        table = self.table()
        return delta_schema(table) if table is not None else None

    def columns(self) -> list[Column]:
        schema = self.arrow_schema()
        if schema is None:
            return []
        return [Column(path, str(type_)) for path, type_ in flatten_schema(schema)]

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits, newest first: version, timestamp (ms), operation, metrics and the run id."""
        table = self.table()
        if table is None:
            return []
        out = []
        for entry in table.history(limit):
            out.append(
                {
                    "version": entry.get("version"),
                    "timestamp": entry.get("timestamp"),
                    "operation": entry.get("operation"),
                    "metrics": entry.get("operationMetrics", {}),
                    "runId": entry.get(RUN_ID_KEY),
                }
            )
        return out

    def last_mark(self, key: str) -> tuple[str | None, int]:
        """The newest value of a commit mark (``RunWriter.mark``) and how many commits came after it;
        ``(None, commits read)`` when none of the last ``MARK_LOOKBACK`` commits carries it."""
        table = self.table()
        if table is None:
            return None, 0
        since = 0
        for entry in table.history(MARK_LOOKBACK):
            value = entry.get(key)
            if value is not None:
                return str(value), since
            since += 1
        return None, since

    def committed_version_of(self, run_id: str) -> int | None:
        """The version a run committed, if it did (lets a resumed run know it already landed)."""
        for entry in self.history():
            if entry["runId"] == run_id:
                return int(entry["version"])
        return None

    # --- reading back --------------------------------------------------------------------------------

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        table = self.table()
        if table is None:
            raise TerminalError(f"dataset {self.id} has no data yet")
        return table.to_pyarrow_dataset().to_table(columns=columns)

    def preview(self, n: int = 10) -> pa.Table:
        table = self.table()
        if table is None:
            raise TerminalError(f"dataset {self.id} has no data yet")
        return table.to_pyarrow_dataset().head(n)

    def vacuum(self, retention_hours: int = 168, dry_run: bool = False) -> list[str]:
        """Delete files no commit newer than ``retention_hours`` references (old versions, orphans of a
        commit that died after writing files); committed current data is never removed."""
        table = self.table()
        if table is None:
            return []
        return table.vacuum(
            retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False
        )
