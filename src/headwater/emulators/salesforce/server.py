"""Running the emulator: uvicorn in a background thread (tests, benchmarks) or in the foreground (CLI)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from .app import build_app
from .org import Org
from .service import Emulator
from .state import DEFAULT_MEMORY_LIMIT, Credentials, RuntimeState
from .tls import TlsFiles, ensure_certificates


@dataclass
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8443
    tls: bool = True
    seed: int = 42
    rows: dict[str, int] | None = None
    credentials: Credentials = field(default_factory=Credentials)
    memory_limit: str = DEFAULT_MEMORY_LIMIT  # DuckDB's buffer pool while serving (bigger work spills)
    #: Extra DNS names for the server certificate (e.g. ``login.salesforce.com`` for clients whose
    #: login host is hard-coded and reach the emulator through a local CONNECT proxy).
    tls_names: tuple[str, ...] = ()


class EmulatorServer:
    """One emulator process-local server. ``start()`` returns once it accepts connections."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.tls: TlsFiles | None = (
            ensure_certificates(config.data_dir / "tls", config.tls_names) if config.tls else None
        )
        for leftover in ("jobs", "cursors"):  # jobs and cursors live in memory; their files die with them
            shutil.rmtree(config.data_dir / leftover, ignore_errors=True)
        org = Org(
            config.data_dir / "org.duckdb",
            seed=config.seed,
            rows=config.rows,
            memory_limit=config.memory_limit,
        )
        self.emulator = Emulator(org, config.data_dir, RuntimeState(credentials=config.credentials))
        self._socket = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((config.host, config.port))
        self._socket.listen(2048)  # connections queue from now on, before uvicorn starts accepting
        self.port = self._socket.getsockname()[1]
        uv_config = uvicorn.Config(
            build_app(self.emulator),
            log_level="warning",
            access_log=False,
            ssl_certfile=str(self.tls.cert_file) if self.tls else None,
            ssl_keyfile=str(self.tls.key_file) if self.tls else None,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,  # tests stop the server with client connections still open
            # h11 writes header names as the app spells them (uvicorn's httptools protocol lower-cases
            # them); the app adds Salesforce's own Date header
            http="h11",
            server_header=False,
            date_header=False,
        )
        self._server = uvicorn.Server(uv_config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.run(sockets=[self._socket])
        self.emulator.org.close()

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Salesforce emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        self.emulator.org.close()
