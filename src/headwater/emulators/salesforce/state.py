"""Runtime state of a running emulator: credentials, sessions, API usage and fault knobs.

All of it is guarded by one lock; request handlers run in a thread pool.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

ORG_ID = "00D000000000001EAA"
USER_ID = "005000000000000AAA"
API_VERSIONS = ("52.0", "55.0", "58.0", "59.0", "60.0", "61.0", "62.0", "63.0", "64.0", "65.0", "66.0")
SESSION_SECONDS = 7200
#: DuckDB's buffer pool while serving. 512 MB sorts every query shape of a 1M-row Account (all fields,
#: ORDER BY any field) in memory; bigger results spill to disk rather than fail (64 MB did not sort
#: 200k Accounts: Salesforce answers those queries, so the emulator must too).
DEFAULT_MEMORY_LIMIT = "512MB"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\s*$", re.IGNORECASE)


def check_memory_limit(value: str) -> str:
    """A DuckDB memory size such as ``512MB`` or ``2GiB``; anything else is a ValueError."""
    if not _MEMORY.match(value):
        raise ValueError(f"memory limit {value!r} is not a size such as 512MB or 2GB")
    return value.strip()


@dataclass(frozen=True)
class Credentials:
    """The org's one integration user and one connected app (documented demo defaults)."""

    username: str = "demo@headwater.example"
    password: str = "headwater-demo"
    security_token: str = "HWTOKEN123"
    client_id: str = "headwater-demo-client"
    client_secret: str = "headwater-demo-secret"
    refresh_token: str = "headwater-demo-refresh-token"


@dataclass
class Faults:
    """Fault knobs. Counters count authenticated API calls (those that carry a session)."""

    request_limit: int | None = None  # 403 REQUEST_LIMIT_EXCEEDED once this many calls were made
    session_expiry_calls: int | None = None  # each session dies after this many calls
    unavailable_calls: int = 0  # the next N calls answer 503
    query_timeouts: int = 0  # the next N queries (REST query or Bulk job) time out
    dropped_pages: int = 0  # the next N Bulk result pages are cut in the middle
    delay_seconds: float = 0.0  # every API call waits this long first
    bulk_job_seconds: float = 0.0  # Bulk jobs stay InProgress at least this long

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Session:
    token: str
    expires_at: float
    calls: int = 0


@dataclass
class RuntimeState:
    credentials: Credentials = field(default_factory=Credentials)
    faults: Faults = field(default_factory=Faults)
    api_usage: int = 0
    daily_limit: int = 100_000
    sessions: dict[str, Session] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_session(self) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self.lock:
            self.sessions[token] = Session(token, time.monotonic() + SESSION_SECONDS)
        return token

    def new_refresh_token(self) -> str:
        token = "5Aep" + secrets.token_urlsafe(40)
        with self.lock:
            self.refresh_tokens.add(token)
        return token

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def set_faults(self, **changes: Any) -> Faults:
        with self.lock:
            for name, value in changes.items():
                if not hasattr(self.faults, name):
                    raise ValueError(f"unknown fault knob {name!r}")
                setattr(self.faults, name, value)
            return Faults(**asdict(self.faults))

    def reset_faults(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.api_usage = 0

    def limit_info(self) -> str:
        limit = self.faults.request_limit if self.faults.request_limit is not None else self.daily_limit
        return f"api-usage={self.api_usage}/{limit}"

    def take(self, counter: str) -> bool:
        """Consume one unit of a countdown knob; True when the fault fires."""
        with self.lock:
            remaining = getattr(self.faults, counter)
            if remaining > 0:
                setattr(self.faults, counter, remaining - 1)
                return True
            return False
