"""Running ``headwater`` as a user does, in a subprocess: a free port, the CLI, and waiting for /health.

Importable from every test folder (``tests/`` is on ``sys.path`` through the root conftest).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the developer's own HEADWATER_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(extra)
    return env


def start_headwater(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "headwater", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env or clean_env(),
    )


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 240) -> None:
    """Wait for ``url``/health to answer 200; fail with the server's output if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
            output = process.communicate(timeout=10)[0].decode(errors="replace")
            raise AssertionError(f"headwater did not start at {url}:\n{output}")
        time.sleep(0.2)


def credentials(data_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``headwater credentials --json`` of a data dir: imsOrgId, sandboxName, clientId, clientSecret, accessToken."""
    result = subprocess.run(
        [sys.executable, "-m", "headwater", "credentials", "--data-dir", str(data_dir), "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    found: dict[str, str] = json.loads(result.stdout)
    return found
