"""Base connections (``/connections``): create, read, list, patch, delete.

Secret auth params (``"format": "password"`` in the auth spec) are split off before storing and
sealed with the secret box; the stored document never holds them. Reads mask them.
"""

from __future__ import annotations

import builtins
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from headwater.api import patch
from headwater.api.services import usage
from headwater.api.services.collection import Collection
from headwater.api.services.resources import render
from headwater.connectors.registry import check_auth_params
from headwater.core.errors import FlowError, ValidationFailed
from headwater.specs import SpecRegistry, secret_fields
from headwater.store import resources
from headwater.store.crypto import SecretBox
from headwater.store.models import Resource
from headwater.store.resources import Scope

KIND = "connections"
MASK = "*****"
_PATCHABLE_ROOTS = frozenset({"name", "description", "auth"})


class AuthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    specName: str
    params: dict[str, Any] = Field(default_factory=dict)


class SpecRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    version: str = "1.0"


class CreateConnection(BaseModel):
    """``POST /connections`` body. Unknown fields are rejected, as Adobe's validator does."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str | None = None
    auth: AuthIn | None = None
    connectionSpec: SpecRef


class Connections(Collection):
    """The generic collection, plus what base connections add: secrets sealed apart and masked."""

    kind = KIND
    patchable = _PATCHABLE_ROOTS
    frozen = frozenset({"connectionSpec"})

    def __init__(self, specs: SpecRegistry, box: SecretBox) -> None:
        self.specs = specs
        self.box = box

    def create(self, session: Session, scope: Scope, document: CreateConnection | dict[str, Any]) -> Resource:
        if isinstance(document, CreateConnection):
            document = document.model_dump(exclude_none=True)
        stored, sealed = self._split_and_validate(document)
        return resources.create(session, scope, KIND, stored, secrets=sealed)

    def get(self, db: Session | Connection, scope: Scope, resource_id: str) -> dict[str, Any]:
        """By id; ``db`` may be a bare Core connection (the API's hot read path)."""
        return {"items": [self.render_row(resources.read(db, scope, KIND, resource_id))]}

    def check_ops(self, ops: builtins.list[dict[str, Any]]) -> None:
        for op in ops:
            if patch.pointer(op["path"])[:1] == ["connectionSpec"]:
                raise FlowError(
                    "1414-400", "Invalid request", "The connection spec of a connection cannot be updated."
                )
        super().check_ops(ops)

    def patch(
        self, session: Session, scope: Scope, resource_id: str, body: Any, if_match: str | None
    ) -> Resource:
        ops = patch.normalise_ops(body)
        row = resources.get(session, scope, KIND, resource_id, for_update=True)
        resources.check_etag(row, if_match)
        self.check_ops(ops)
        current = self._with_secrets(row)
        patched = patch.apply(current, ops)
        self._keep_masked_secrets(patched, current)
        stored, sealed = self._split_and_validate(patched)
        return resources.update(session, scope, row, stored, secrets=sealed)

    def check_unused(self, session: Session, scope: Scope, resource_id: str) -> None:
        usage.check_base_connection_unused(session, scope, resource_id)

    def check_auth(self, spec_id: str, spec_name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Validate auth params as ``create`` would (same errors), without storing anything."""
        document = {"auth": {"specName": spec_name, "params": params}, "connectionSpec": {"id": spec_id}}
        self._split_and_validate(document)
        return dict(params)

    def render(self, session: Session, scope: Scope, row: Resource) -> dict[str, Any]:
        return self.render_row(row)

    def render_row(self, row: Resource) -> dict[str, Any]:
        """The API document, secrets masked (the names of the sealed params come without decrypting)."""
        body = dict(row.document)
        if row.secrets and "auth" in body:
            params = dict(body["auth"].get("params", {}))
            params.update({name: MASK for name in self.box.names(row.secrets)})
            body["auth"] = {**body["auth"], "params": params}
        return render(row, body)

    # --- internals ------------------------------------------------------------------------------

    def _with_secrets(self, row: Resource) -> dict[str, Any]:
        document: dict[str, Any] = dict(row.document)
        if "auth" in document:
            params = {**document["auth"].get("params", {}), **self.box.open(row.secrets)}
            document["auth"] = {**document["auth"], "params": params}
        return document

    def _keep_masked_secrets(self, patched: dict[str, Any], current: dict[str, Any]) -> None:
        """A client that PUTs back what it read sends the mask; keep the real value then."""
        new_params = patched.get("auth", {}).get("params")
        old_params = current.get("auth", {}).get("params", {})
        if isinstance(new_params, dict):
            for name, value in new_params.items():
                if value == MASK and name in old_params:
                    new_params[name] = old_params[name]

    def _split_and_validate(self, document: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        spec_ref = document.get("connectionSpec") or {}
        spec = self.specs.connection_specs.by_id.get(spec_ref.get("id", ""))
        if spec is None:
            raise FlowError(
                "1413-400",
                "Invalid request",
                "The spec ID provided is invalid. Please provide a valid spec ID and try again.",
            )
        auth = document.get("auth")
        if auth is None:
            if spec.get("authSpec"):
                raise ValidationFailed(
                    "The mandatory field auth is not provided.", code="1304-400", title="Invalid request"
                )
            return document, None
        if not isinstance(auth, dict) or not isinstance(auth.get("params", {}), dict):
            raise ValidationFailed("The field auth must be an object with specName and params.")
        auth_spec = self.specs.auth_spec(spec["id"], str(auth.get("specName")))
        if auth_spec is None:
            raise FlowError(
                "1415-400",
                "Invalid request",
                f"The auth spec '{auth.get('specName')}' could not be found for the connection spec ID {spec['id']}.",
            )
        params = dict(auth.get("params", {}))
        _validate_params(params, auth_spec)
        check_auth_params(spec["id"], str(auth.get("specName")), params)  # e.g. no file: environmentUrl
        secret_names = secret_fields(auth_spec)
        secrets = {k: v for k, v in params.items() if k in secret_names}
        clear = {k: v for k, v in params.items() if k not in secret_names}
        stored = {**document, "auth": {**auth, "params": clear}}
        return stored, self.box.seal(secrets)


def _validate_params(params: dict[str, Any], auth_spec: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(auth_spec["spec"])
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    if error.validator == "required":
        field = str(error.message).split("'")[1] if "'" in error.message else "?"
        message = f"The mandatory field auth.params.{field} is not provided."
    else:
        field = ".".join(str(p) for p in error.absolute_path) or "params"
        # Never echo the offending value: it may be a secret.
        message = (
            f"The field auth.params.{field} is invalid: expected {error.validator} {error.validator_value!r}."
        )
    raise ValidationFailed(message, code="1304-400", title="Invalid request", field=f"auth.params.{field}")
