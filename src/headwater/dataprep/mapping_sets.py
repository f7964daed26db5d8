"""Data Prep mapping sets (``/data/foundation/conversion/mappingSets``, contract §7.10).

Both request forms are accepted (COL-CRM's ``xdmSchema`` + ``sourceAttribute``/``destinationXdmPath``,
and the current ``outputSchema`` + ``sourceType``/``source``/``destination``). A POST checks the
structure with the mapping engine (``dataprep.engine.normalise_rules``: 1419-400 naming the entry);
the check against real source columns happens when a flow puts the mapping next to a source
connection (``check_against_columns``). A PUT stores a new version; every version stays readable
(``mapping_set_versions``), and a flow runs exactly the version it names (``version_body``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from headwater.core.errors import Invalid, NotFound
from headwater.core.scope import Scope
from headwater.core.timeutil import now_ms
from headwater.dataprep.engine import MappingError, compile_mapping_set, normalise_rules
from headwater.store import repository
from headwater.store.models import MappingSet, MappingSetVersion

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
        raise Invalid(
            "invalid",
            "A mapping set needs its target schema: xdmSchema or outputSchema.schemaRef.",
            field="outputSchema",
        )
    normalise_rules(request.mappings)
    body = request.model_dump(exclude_none=True)
    body.pop("id", None)
    body.pop("version", None)
    return body


def _add_version(session: Session, scope: Scope, row: MappingSet, number: int, body: dict[str, Any]) -> None:
    session.add(
        MappingSetVersion(
            mapping_set_id=row.id, version=number, body=body, created_at=now_ms(), created_by=scope.user
        )
    )
    row.latest_version = number


def create(session: Session, scope: Scope, request: MappingSetIn) -> dict[str, Any]:
    body = _version_body(request)
    row = repository.add(
        session, repository.new(MappingSet, scope, resource_id=uuid.uuid4().hex, latest_version=0)
    )
    _add_version(session, scope, row, 0, body)
    session.flush()
    return _summary(row, 0)


def put(session: Session, scope: Scope, mapping_id: str, request: MappingSetIn) -> dict[str, Any]:
    body = _version_body(request)
    row = repository.get(session, MappingSet, scope, mapping_id, for_update=True)
    _add_version(session, scope, row, row.latest_version + 1, body)
    repository.touch(row, scope)
    session.flush()
    return _summary(row, row.latest_version)


def get(session: Session, scope: Scope, mapping_id: str, version: str | None = None) -> dict[str, Any]:
    row = repository.read(session, MappingSet, scope, mapping_id)
    number = _version_number(row, version)
    return {**_summary(row, number), **_body(session, row.id, number)}


def delete(session: Session, scope: Scope, mapping_id: str) -> None:
    repository.delete(session, repository.get(session, MappingSet, scope, mapping_id, for_update=True))


def _body(db: Any, mapping_id: str, number: int) -> dict[str, Any]:
    query = sa.select(MappingSetVersion.body).where(
        MappingSetVersion.mapping_set_id == mapping_id, MappingSetVersion.version == number
    )
    body = db.execute(query).scalar_one()
    return dict(body)


def resolve_version(session: Session, scope: Scope, mapping_id: Any, version: Any) -> int:
    """The version a flow's Mapping transformation names (its ``mappingVersion``; the latest when it names
    none): 1370-400 when the set does not exist, 1412-400 when the version does not."""
    try:
        row = repository.read(session, MappingSet, scope, str(mapping_id))
    except NotFound:
        raise Invalid(
            "mapping.unknown",
            f"The mapping {mapping_id} does not exist in this sandbox. Please provide a valid mappingId and try again.",
        ) from None
    return _version_number(row, None if version is None else str(version))


def version_body(db: Any, scope: Scope, mapping_id: str, version: int) -> dict[str, Any]:
    """One version's body (``mappings``, schema) of a mapping set of the scope, for a run."""
    row = repository.read(db, MappingSet, scope, mapping_id)
    return _body(db, row.id, _version_number(row, str(version)))


def check_against_columns(
    session: Session, scope: Scope, mapping_id: Any, version: int, columns: Sequence[Mapping[str, Any]]
) -> None:
    """A flow's Mapping transformation: every source field the version reads is one of the source
    connection's columns (1419-400 from the mapping engine)."""
    body = _body(session, str(mapping_id), version)
    compile_mapping_set(body["mappings"], column_types(columns))


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
            return [EntryProblem(None, str(exc.details.get("reason")), exc.message)]
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
            prefix = f"mapping #{exc.details.get('mappingIndex')} ({exc.details.get('destination')!r}): "
            reason = str(exc.details.get("reason"))
            problems.append(EntryProblem(index, reason, exc.message.removeprefix(prefix)))
    return problems


def _version_number(row: MappingSet, version: str | None) -> int:
    if version is None:
        return row.latest_version
    try:
        number = int(version)
    except ValueError:
        number = -1
    if not 0 <= number <= row.latest_version:
        raise Invalid(
            "mapping.version_unknown",
            "Invalid Mapping Version in request. Please provide correct mapping version.",
        )
    return number


def _summary(row: MappingSet, version: int) -> dict[str, Any]:
    """Data Prep's ``SimpleRepresentation``."""
    return {
        "id": row.id,
        "version": version,
        "createdDate": row.created_at,
        "modifiedDate": row.updated_at,
        "createdBy": row.created_by,
        "modifiedBy": row.updated_by,
    }
