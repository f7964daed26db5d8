"""``/connections/{id}/test`` and ``/connections/{id}/explore``: a connector per base connection.

Connectors are kept in a small in-process pool keyed by connection id *and etag*, for a short TTL,
so consecutive explore calls reuse the login and the cached describes, and an edited connection
(new etag) is never served with old credentials. Connector errors become ``SourceFailed`` here; the
messages are the connector's, which never carry a secret.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from headwater.connections.base import Connections
from headwater.connectors.base import Connector, ExploreItem, TableSchema
from headwater.connectors.registry import open_connector
from headwater.core.errors import (
    DomainError,
    Invalid,
    SkippableError,
    SourceAuthError,
    SourceConfigError,
    SourceFailed,
    TransientError,
)
from headwater.core.scope import Scope
from headwater.core.settings import Settings
from headwater.domain.collection import Db

POOL_TTL_SECONDS = 300.0


class ConnectorPool:
    def __init__(self, ttl: float = POOL_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[str, tuple[str, float, Connector]] = {}

    def get(self, key: str, etag: str, build: Any) -> Connector:
        now = time.monotonic()
        with self._lock:
            held = self._items.get(key)
            if held and held[0] == etag and now - held[1] < self.ttl:
                return held[2]
        connector: Connector = build()
        with self._lock:
            old = self._items.get(key)
            self._items[key] = (etag, now, connector)
        if old:
            old[2].close()
        return connector

    def drop(self, key: str) -> None:
        with self._lock:
            held = self._items.pop(key, None)
        if held:
            held[2].close()


POOL = ConnectorPool()


@dataclass(frozen=True)
class ConnectionRef:
    """What a connector needs from a stored connection (loaded in a short transaction)."""

    key: str
    etag: str
    spec_id: str
    spec_name: str
    params: dict[str, Any] = field(repr=False)


class Explorer:
    """Two steps so no transaction is held while the source is called: ``load`` (DB), then ``test`` /
    ``explore`` (network, in a worker thread)."""

    def __init__(self, connections: Connections, settings: Settings, pool: ConnectorPool = POOL) -> None:
        self.connections = connections
        self.settings = settings
        self.pool = pool

    def load(self, db: Db, scope: Scope, connection_id: str) -> ConnectionRef:
        row, body = self.connections.open(db, scope, connection_id)
        auth = body.get("auth") or {}
        return ConnectionRef(
            key=f"{scope.org_id}/{scope.sandbox_name}/{connection_id}",
            etag=row.etag,
            spec_id=row.connection_spec_id,
            spec_name=str(auth.get("specName", "")),
            params=dict(auth.get("params", {})),
        )

    def _connector(self, ref: ConnectionRef) -> Connector:
        def build() -> Connector:
            return open_connector(ref.spec_id, ref.spec_name, ref.params, self.settings)

        try:
            return self.pool.get(ref.key, ref.etag, build)
        except (SourceConfigError, SourceAuthError) as exc:
            raise _failed(exc) from exc

    def test(self, ref: ConnectionRef) -> dict[str, Any]:
        result = self._connector(ref).check()
        if result.ok:
            return {"result": True}
        self.pool.drop(ref.key)  # the next test logs in afresh
        return {"result": False, "reason": result.reason}

    def test_unsaved(self, spec_id: str, spec_name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Test auth params before they are saved (the UI's "Test connection" on a new account).

        The params are validated as ``POST /connections`` validates them; the connector is opened
        afresh and closed again, never pooled. The answer has the shape of ``test``'s.
        """
        checked = self.connections.check_auth(spec_id, spec_name, params)
        try:
            connector = open_connector(spec_id, spec_name, checked, self.settings)
        except (SourceConfigError, SourceAuthError) as exc:
            return {"result": False, "reason": exc.message or type(exc).__name__}
        try:
            result = connector.check()
        finally:
            connector.close()
        return {"result": True} if result.ok else {"result": False, "reason": result.reason}

    @staticmethod
    def check_params(params: dict[str, str]) -> tuple[str, str | None, bool]:
        object_type = params.get("objectType", "")
        if object_type.lower() not in ("root", "table"):
            raise Invalid("explore.object_type_invalid", "The provided param 'objectType' is invalid.")
        return object_type, params.get("object") or None, _boolean(params.get("preview", "false"), "preview")

    def explore(self, ref: ConnectionRef, params: dict[str, str]) -> Any:
        object_type, name, preview = self.check_params(params)
        connector = self._connector(ref)
        try:
            found = connector.explore(object_type, name, preview=preview)
        except DomainError:
            raise
        except (SourceAuthError, SourceConfigError, TransientError, SkippableError) as exc:
            raise _failed(exc) from exc
        if isinstance(found, TableSchema):
            return found.to_json()
        return [item.to_json() for item in found if isinstance(item, ExploreItem)]


def _boolean(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise Invalid("invalid", f"The param '{name}' must be true or false.")


def _failed(exc: Exception) -> SourceFailed:
    """Connector failures: the source refused or could not be reached (never a 500)."""
    message = getattr(exc, "message", "") or type(exc).__name__
    if isinstance(exc, TransientError):
        return SourceFailed("source.timeout", f"The source did not answer: {message}")
    return SourceFailed("source.refused", message)
