"""Data Prep mapping sets (``/data/foundation/conversion/mappingSets``, contract §7.10).

Both request forms are accepted (COL-CRM's ``xdmSchema`` + ``sourceAttribute``/``destinationXdmPath``,
and the current ``outputSchema`` + ``sourceType``/``source``/``destination``). A POST checks the
structure with the mapping engine (``runtime.mapping.normalise_rules``: 1419-400 naming the entry);
the check against real source columns happens when a flow puts the mapping next to a source
connection (``check_against_columns``). A PUT stores a new version; every version stays readable.
The stored document is the latest version's body plus ``versions`` (all of them, oldest first).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from headwater.core.errors import FlowError, ValidationFailed
from headwater.core.timeutil import datetime_to_ms
from headwater.runtime.mapping import MappingError, compile_mapping_set, normalise_rules
from headwater.store import resources
from headwater.store.models import Resource
from headwater.store.resources import Scope

KIND = "mappingSets"
# Explore column types (connector ``Column.type``) as the Arrow types the mapping engine checks against.
_ARROW = {
    "string": pa.string(),
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "long": pa.int64(),
    "int": pa.int64(),
    "double": pa.float64(),
    "number": pa.float64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "date-time": pa.timestamp("ms", tz="UTC"),
    "datetime": pa.timestamp("ms", tz="UTC"),
}


class MappingSetIn(BaseModel):
    """Either form; fields Data Prep knows and Headwater does not use are kept as given."""

    model_config = ConfigDict(extra="allow")
    mappings: list[Any]
    xdmSchema: str | None = None
    xdmVersion: str | None = None
    outputSchema: dict[str, Any] | None = None


def _version_body(request: MappingSetIn) -> dict[str, Any]:
    if request.xdmSchema is None and not (request.outputSchema or {}).get("schemaRef"):
        raise ValidationFailed(
            "A mapping set needs its target schema: xdmSchema or outputSchema.schemaRef.",
            field="outputSchema",
        )
    normalise_rules(request.mappings)
    body = request.model_dump(exclude_none=True)
    body.pop("id", None)
    body.pop("version", None)
    return body


def create(session: Session, scope: Scope, request: MappingSetIn) -> dict[str, Any]:
    document = _document([_version_body(request)])
    row = resources.create(session, scope, KIND, document, resource_id=uuid.uuid4().hex)
    return _summary(row, 0)


def put(session: Session, scope: Scope, mapping_id: str, request: MappingSetIn) -> dict[str, Any]:
    row = resources.get(session, scope, KIND, mapping_id, for_update=True)
    versions = [*row.document["versions"], _version_body(request)]
    row = resources.update(session, scope, row, _document(versions), secrets=None)
    return _summary(row, len(versions) - 1)


def get(session: Session, scope: Scope, mapping_id: str, version: str | None = None) -> dict[str, Any]:
    row = resources.read(session, scope, KIND, mapping_id)
    number = _version_number(row, version)
    return {**_summary(row, number), **row.document["versions"][number]}


def delete(session: Session, scope: Scope, mapping_id: str) -> None:
    resources.delete(session, resources.get(session, scope, KIND, mapping_id, for_update=True))


def check_against_columns(
    session: Session, scope: Scope, mapping_id: Any, version: Any, columns: Sequence[Mapping[str, Any]]
) -> None:
    """A flow's Mapping transformation: the set and version exist (1412-400) and every source field it
    reads is one of the source connection's columns (1419-400 from the mapping engine)."""
    try:
        row = resources.read(session, scope, KIND, str(mapping_id))
    except FlowError:
        raise FlowError(
            "1370-400",
            "Bad Request",
            f"The mapping {mapping_id} does not exist in this sandbox. Please provide a valid mappingId and try again.",
        ) from None
    try:
        number = _version_number(row, None if version is None else str(version))
    except FlowError:
        raise FlowError(
            "1412-400",
            "Invalid request",
            "Invalid Mapping Version in request. Please provide correct mapping version.",
        ) from None
    compile_mapping_set(row.document["versions"][number]["mappings"], column_types(columns))


def column_types(columns: Sequence[Mapping[str, Any]]) -> dict[str, pa.DataType]:
    """Source columns (explore's ``{name, type}``) as the Arrow types the mapping engine checks against."""
    return {
        str(c.get("name")): _ARROW.get(str(c.get("type", "string")).lower(), pa.string()) for c in columns
    }


@dataclass(frozen=True)
class EntryProblem:
    """Why one mapping entry would be refused: its position, the engine's reason and a readable message."""

    index: int | None
    reason: str
    message: str


def check_entries(
    mappings: Sequence[Mapping[str, Any]], columns: Sequence[Mapping[str, Any]]
) -> list[EntryProblem]:
    """Every problem of a mapping set against source columns, not only the first (for editors that
    validate as the user types). The same engine checks as ``create`` + ``check_against_columns``:
    the destinations together (paths, duplicates, overlaps), then each entry alone (syntax, fields,
    functions, types). An empty list means a flow would accept the set."""
    if not mappings:
        try:
            normalise_rules(mappings)
        except MappingError as exc:
            return [EntryProblem(None, str(exc.report.get("reason")), exc.message)]
    types = column_types(columns)
    problems: list[EntryProblem] = []
    destinations: list[Mapping[str, Any]] = []  # the valid destinations so far, as bare entries
    for index, entry in enumerate(mappings):
        target = (
            entry.get("destination", entry.get("destinationXdmPath")) if isinstance(entry, Mapping) else None
        )
        try:
            bare = {"sourceType": "CONSTANT", "source": "", "destination": target}
            normalise_rules([*destinations, bare])
            destinations.append(bare)
            compile_mapping_set([entry], types)
        except MappingError as exc:
            prefix = f"mapping #{exc.report.get('mappingIndex')} ({exc.report.get('destination')!r}): "
            reason = str(exc.report.get("reason"))
            problems.append(EntryProblem(index, reason, exc.message.removeprefix(prefix)))
    return problems


def _document(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest version at the top (what the runtime's plan builder reads), every version kept."""
    return {**versions[-1], "versions": versions}


def _version_number(row: Resource, version: str | None) -> int:
    count = len(row.document["versions"])
    if version is None:
        return count - 1
    try:
        number = int(version)
    except ValueError:
        number = -1
    if not 0 <= number < count:
        raise FlowError(
            "1412-400",
            "Invalid request",
            "Invalid Mapping Version in request. Please provide correct mapping version.",
        )
    return number


def _summary(row: Resource, version: int) -> dict[str, Any]:
    """Data Prep's ``SimpleRepresentation``."""
    return {
        "id": row.id,
        "version": version,
        "createdDate": datetime_to_ms(row.created_at),
        "modifiedDate": datetime_to_ms(row.updated_at),
        "createdBy": row.created_by,
        "modifiedBy": row.updated_by,
    }
