"""Base connections (``/connections``): create, read, list, patch, delete.

Secret auth params (``"format": "password"`` in the auth spec) are split off before storing and
sealed with the secret box; the ``auth_params`` column never holds them. Reads mask them as ``*****``
(the names of the sealed params come without decrypting); a PATCH that sends the mask back keeps the
stored value.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from headwater.connections import usage
from headwater.connectors.registry import check_auth_params
from headwater.core import jsonpatch
from headwater.core.errors import Invalid
from headwater.core.scope import Scope
from headwater.domain.collection import Collection, Db
from headwater.domain.fields import metadata_fields
from headwater.domain.wire import ResourceDoc, SpecRef, base_fields
from headwater.specs import SpecRegistry, secret_fields
from headwater.store import repository
from headwater.store.crypto import SecretBox
from headwater.store.listing import Column, FieldMap, Json
from headwater.store.models import Connection

KIND = "connections"
MASK = "*****"

FIELDS = FieldMap(
    {
        **metadata_fields(Connection),
        "connectionSpec.id": Column(Connection.connection_spec_id),
        "connectionSpec.version": Column(Connection.connection_spec_version),
        "auth.specName": Column(Connection.auth_spec_name, nullable=True),
        "auth.params": Json(Connection.auth_params),
    },
    id_column=Connection.id,
    default_order="createdAt",
)


class AuthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    specName: str
    params: dict[str, Any] = Field(default_factory=dict)


class CreateConnection(BaseModel):
    """``POST /connections`` body. Unknown fields are rejected, as Adobe's validator does."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str | None = None
    auth: AuthIn | None = None
    connectionSpec: SpecRef


class AuthDoc(BaseModel):
    specName: str | None = None
    params: dict[str, Any]


class ConnectionDoc(ResourceDoc):
    name: str
    description: str | None = None
    auth: AuthDoc | None = None
    connectionSpec: SpecRef


def invalid_spec() -> Invalid:
    return Invalid(
        "spec.unknown", "The spec ID provided is invalid. Please provide a valid spec ID and try again."
    )


class Connections(Collection[Connection]):
    """The generic collection, plus what base connections add: secrets sealed apart and masked."""

    model = Connection
    fields = FIELDS
    patchable = frozenset({"name", "description", "auth"})
    frozen = frozenset({"connectionSpec"})

    def __init__(self, specs: SpecRegistry, box: SecretBox) -> None:
        self.specs = specs
        self.box = box

    # --- rows <-> bodies --------------------------------------------------------------------------

    def body(self, row: Connection) -> dict[str, Any]:
        """The stored body with secrets opened (a PATCH edits the real values)."""
        body: dict[str, Any] = {"name": row.name}
        if row.description is not None:
            body["description"] = row.description
        if row.auth_params is not None:
            body["auth"] = {
                "specName": row.auth_spec_name,
                "params": {**row.auth_params, **self.box.open(row.secrets)},
            }
        body["connectionSpec"] = {"id": row.connection_spec_id, "version": row.connection_spec_version}
        return body

    def assign(self, row: Connection, body: dict[str, Any]) -> None:
        stored, sealed = self._split(body)
        row.name = stored["name"]
        row.description = stored.get("description")
        auth = stored.get("auth")
        row.auth_spec_name = auth.get("specName") if auth is not None else None
        row.auth_params = dict(auth.get("params") or {}) if auth is not None else None
        row.secrets = sealed
        spec = stored.get("connectionSpec") or {}
        row.connection_spec_id = str(spec.get("id", ""))
        row.connection_spec_version = str(spec.get("version") or "1.0")

    def document(self, row: Connection, related: Any) -> ConnectionDoc:
        auth = None
        if row.auth_params is not None:
            params = dict(row.auth_params)
            if row.secrets:
                params.update({name: MASK for name in self.box.names(row.secrets)})
            auth = AuthDoc(specName=row.auth_spec_name, params=params)
        return ConnectionDoc(
            **base_fields(row),
            name=row.name,
            description=row.description,
            auth=auth,
            connectionSpec=SpecRef(id=row.connection_spec_id, version=row.connection_spec_version),
        )

    # --- operations -------------------------------------------------------------------------------

    def create(self, session: Session, scope: Scope, body: CreateConnection | dict[str, Any]) -> Connection:  # type: ignore[override]
        if isinstance(body, CreateConnection):
            body = body.model_dump(exclude_none=True)
        return super().create(session, scope, body)

    def validate(self, session: Session, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Invalid(
                "connection.name_missing", "The mandatory field name is not provided.", field="name"
            )
        self._split(body)
        return body

    def check_ops(self, ops: list[dict[str, Any]]) -> None:
        for op in ops:
            if jsonpatch.pointer(op["path"])[:1] == ["connectionSpec"]:
                raise Invalid("patch.field_frozen", "The connection spec of a connection cannot be updated.")
        super().check_ops(ops)

    def validate_update(
        self,
        session: Session,
        scope: Scope,
        old: dict[str, Any],
        new: dict[str, Any],
        ops: list[dict[str, Any]],
    ) -> dict[str, Any]:
        self._keep_masked_secrets(new, old)
        return self.validate(session, scope, new)

    def check_unused(self, session: Session, scope: Scope, row: Connection) -> None:
        usage.check_base_connection_unused(session, scope, row.id)

    def check_auth(self, spec_id: str, spec_name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Validate auth params as ``create`` would (same errors), without storing anything."""
        self._split({"auth": {"specName": spec_name, "params": params}, "connectionSpec": {"id": spec_id}})
        return dict(params)

    def open(self, db: Db, scope: Scope, connection_id: str) -> tuple[Connection, dict[str, Any]]:
        """The row and its body with secrets opened (for the connector; never for an answer)."""
        row = repository.read(db, Connection, scope, connection_id)
        return row, self.body(row)

    def find_by_name(self, db: Db, scope: Scope, name: str) -> Connection | None:
        query = sa.select(Connection).where(
            Connection.org_id == scope.org_id,
            Connection.sandbox_name == scope.sandbox_name,
            Connection.name == name,
        )
        if isinstance(db, Session):
            return db.scalars(query.order_by(Connection.created_at)).first()
        return db.execute(query).first()  # type: ignore[return-value]

    # --- internals ------------------------------------------------------------------------------

    def _keep_masked_secrets(self, patched: dict[str, Any], current: dict[str, Any]) -> None:
        """A client that PUTs back what it read sends the mask; keep the real value then."""
        new_params = (patched.get("auth") or {}).get("params")
        old_params = (current.get("auth") or {}).get("params", {})
        if isinstance(new_params, dict):
            for name, value in new_params.items():
                if value == MASK and name in old_params:
                    new_params[name] = old_params[name]

    def _split(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        """The body without secrets and the sealed secrets; validates the spec and the auth params."""
        spec_ref = body.get("connectionSpec") or {}
        spec = (
            self.specs.connection_specs.by_id.get(spec_ref.get("id", ""))
            if isinstance(spec_ref, dict)
            else None
        )
        if spec is None:
            raise invalid_spec()
        auth = body.get("auth")
        if auth is None:
            if spec.get("authSpec"):
                raise Invalid("connection.auth_missing", "The mandatory field auth is not provided.")
            return body, None
        if not isinstance(auth, dict) or not isinstance(auth.get("params", {}), dict):
            raise Invalid(
                "invalid", "The field auth must be an object with specName and params.", field="auth"
            )
        auth_spec = self.specs.auth_spec(spec["id"], str(auth.get("specName")))
        if auth_spec is None:
            raise Invalid(
                "connection.auth_spec_unknown",
                f"The auth spec '{auth.get('specName')}' could not be found for the connection spec ID {spec['id']}.",
            )
        params = dict(auth.get("params", {}))
        _validate_params(params, auth_spec)
        check_auth_params(spec["id"], str(auth.get("specName")), params)  # e.g. no file: environmentUrl
        secret_names = secret_fields(auth_spec)
        secrets = {k: v for k, v in params.items() if k in secret_names}
        clear = {k: v for k, v in params.items() if k not in secret_names}
        stored = {**body, "auth": {**auth, "params": clear}}
        return stored, self.box.seal(secrets)


def _validate_params(params: dict[str, Any], auth_spec: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(auth_spec["spec"])
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        field = missing[0] if missing else "params"
        message = f"The mandatory field auth.params.{field} is not provided."
    else:
        field = ".".join(str(p) for p in error.absolute_path) or "params"
        # Never echo the offending value: it may be a secret.
        message = (
            f"The field auth.params.{field} is invalid: expected {error.validator} {error.validator_value!r}."
        )
    raise Invalid("connection.auth_param_invalid", message, field=f"auth.params.{field}")


__all__ = ["KIND", "MASK", "AuthIn", "ConnectionDoc", "Connections", "CreateConnection", "SpecRef"]
