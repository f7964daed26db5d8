"""In-process emulator for tests: ``with running_emulator(tmp_path) as sf: ...``.

``sf`` carries the URL, the credentials and the CA file, plus Python calls that change the org
(insert/update/delete/purge) and set fault knobs, all on the same objects the HTTP API uses.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .server import EmulatorServer, ServerConfig
from .state import DEFAULT_MEMORY_LIMIT, Credentials, Faults


class RunningEmulator:
    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        creds = server.emulator.state.credentials
        self.url = server.url
        self.username = creds.username
        self.password = creds.password
        self.security_token = creds.security_token
        self.client_id = creds.client_id
        self.client_secret = creds.client_secret
        self.refresh_token = creds.refresh_token
        self.ca_file: str | None = str(server.tls.ca_file) if server.tls else None

    @property
    def host(self) -> str:
        """``host:port`` without the scheme (what simple-salesforce calls the instance)."""
        return self.url.split("://", 1)[1]

    # --- TLS helpers
    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def requests_session(self) -> Any:
        import requests  # a dev dependency: only tests call this

        session = requests.Session()
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment would override session.verify.
        session.trust_env = False
        session.verify = self.ca_file if self.ca_file else True
        return session

    # --- the org
    def insert(self, sobject: str, **values: Any) -> str:
        return self.server.emulator.org.insert(sobject, values)

    def update(self, sobject: str, record_id: str, **values: Any) -> None:
        self.server.emulator.org.update(sobject, record_id, values)

    def delete(self, sobject: str, record_id: str) -> None:
        self.server.emulator.org.delete(sobject, record_id)

    def purge(self, sobject: str | None = None) -> int:
        return self.server.emulator.org.purge(sobject)

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        return self.server.emulator.org.get(sobject, record_id)

    def sql(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Read the org directly (DuckDB SQL over tables named after the objects)."""
        return self.server.emulator.org.fetch(sql, params)

    # --- faults and sessions
    def set_faults(self, **knobs: Any) -> Faults:
        return self.server.emulator.state.set_faults(**knobs)

    def reset_faults(self) -> None:
        self.server.emulator.state.reset_faults()

    def expire_sessions(self) -> None:
        self.server.emulator.state.expire_sessions()

    @property
    def api_usage(self) -> int:
        return self.server.emulator.state.api_usage


@contextmanager
def running_emulator(
    data_dir: Path,
    *,
    rows: dict[str, int] | None = None,
    seed: int = 42,
    tls: bool = True,
    credentials: Credentials | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> Iterator[RunningEmulator]:
    config = ServerConfig(
        Path(data_dir),
        port=0,
        tls=tls,
        seed=seed,
        rows=rows,
        credentials=credentials or Credentials(),
        memory_limit=memory_limit,
    )
    server = EmulatorServer(config).start()
    try:
        yield RunningEmulator(server)
    finally:
        server.stop()
