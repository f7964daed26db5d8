"""Shared fixtures. Real services only: SQLite files, PostgreSQL, the lake on disk, HTTPS emulators.

PostgreSQL tests use ``HEADWATER_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Where it is unreachable they skip and say why — unless ``HEADWATER_TEST_REQUIRE_SERVICES=1`` (set by CI),
where they fail.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVICES = os.environ.get("HEADWATER_TEST_REQUIRE_SERVICES") == "1"


def _reachable(url: str) -> bool:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL server; skip (or fail in CI) when there is none."""
    if not _reachable(POSTGRES_URL):
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (HEADWATER_TEST_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def salesforce_emulator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A fresh Salesforce emulator over HTTPS (small default org); see headwater/emulators/salesforce/README.md."""
    from headwater.emulators.salesforce.testing import running_emulator

    with running_emulator(tmp_path_factory.mktemp("salesforce")) as emulator:
        yield emulator


@pytest.fixture
def make_connector(salesforce_emulator):  # type: ignore[no-untyped-def]
    """``make(spec="basic"|"oauth", ca=True, tuning={...}, **auth_params)`` -> a SalesforceConnector
    on the emulator over HTTPS with short back-offs (helpers in tests/connectors/connector_helpers.py)."""
    from connector_helpers import connector_factory

    yield from connector_factory(salesforce_emulator)
