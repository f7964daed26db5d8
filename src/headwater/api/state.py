"""Everything a running app holds: settings, the store, specs, crypto and the auth caches."""

from __future__ import annotations

from dataclasses import dataclass, field

from anyio import CapacityLimiter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from headwater.api.auth import HeaderPolicy, SandboxCache
from headwater.api.paging import Paging
from headwater.api.tokens import TokenService
from headwater.connections.base import Connections
from headwater.connections.explore import Explorer
from headwater.connections.sources import SourceConnections
from headwater.connections.targets import TargetConnections
from headwater.core.settings import Settings
from headwater.flows.flows import Flows
from headwater.specs import SpecRegistry, load_registry
from headwater.store import db
from headwater.store.crypto import SecretBox, derive_key, load_secret_key

DB_THREADS = 4


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    specs: SpecRegistry
    secret_box: SecretBox
    tokens: TokenService
    sandboxes: SandboxCache
    policy: HeaderPolicy
    # Few DB threads beat many: beyond the pool size, extra threads only fight over the GIL and the pool.
    inline_reads: bool = False
    reader: db.ThreadReader | None = (
        None  # set with inline_reads: the by-id read path (routes.common.in_read)
    )
    db_limiter: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(DB_THREADS))
    ui_session_key: str = ""  # signs the web UI's session cookie (a sub-key: never the encryption key)
    paging: Paging = field(default_factory=lambda: Paging(b""))  # signs continuation tokens

    def connections(self) -> Connections:
        """The base-connection service (secrets sealed with this app's key)."""
        return Connections(self.specs, self.secret_box)

    def explorer(self) -> Explorer:
        """Test and explore base connections through their connectors."""
        return Explorer(self.connections(), self.settings)

    def source_connections(self) -> SourceConnections:
        return SourceConnections(self.specs, self.explorer())

    def target_connections(self) -> TargetConnections:
        return TargetConnections()

    def flows(self) -> Flows:
        return Flows(self.specs)


def build_state(settings: Settings, engine: Engine | None = None, *, migrate: bool = True) -> AppState:
    engine = engine or db.make_engine(settings.resolved_database_url)
    if migrate:
        db.upgrade(engine)
    sessions = db.session_factory(engine)
    key = load_secret_key(settings)
    return AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        specs=load_registry(),
        secret_box=SecretBox(key),
        tokens=TokenService(derive_key(key, "headwater/token-signing/v1"), settings.token_ttl_seconds),
        sandboxes=SandboxCache(sessions),
        ui_session_key=derive_key(key, "headwater/ui-session/v1").hex(),
        paging=Paging(derive_key(key, "headwater/paging/v1")),
        inline_reads=engine.dialect.name == "sqlite",
        reader=db.ThreadReader(engine) if engine.dialect.name == "sqlite" else None,
        policy=HeaderPolicy(
            missing_sandbox=settings.missing_sandbox, default_sandbox=settings.default_sandbox
        ),
    )
