"""Upgrading a store written by Headwater on schema 0002 (one generic ``resources`` table) keeps everything.

``legacy/store-0002.json`` was captured from main@6ad86a1 by ``legacy/capture.py``, through that version's
own CLI and HTTP API: connections (one patched, with sealed secrets), source and target connections,
datasets (one patched), mapping sets with two versions, enabled/disabled/once flows, a successful and a
failed run, in two sandboxes, plus that version's answer to every GET it made. The test loads those rows
into a database at revision 0002, upgrades to head, and asks today's API the same questions: every field
the old answer had is there with the same value (new fields may be added; a continuation token's text
changed format, so of ``_links.next`` only its presence is compared). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from legacy.loader import capture, load
from starlette.testclient import TestClient

from headwater.api.app import create_app
from headwater.core.settings import load_settings
from headwater.store import db
from headwater.store.bootstrap import ensure_defaults
from headwater.store.models import Connection, Flow

CAPTURED = capture()


@pytest.fixture(params=["sqlite", "postgres"])
def legacy_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"hw_legacy_{secrets.token_hex(4)}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(url, schema=schema)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def contains(old: Any, new: Any, where: str = "") -> list[str]:
    """Where ``new`` lacks or changes what ``old`` had (dict keys recursively, lists element by element)."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{where}: {type(new).__name__} instead of an object"]
        problems = []
        for key, value in old.items():
            if key == "_links":
                if set(value) != set(new.get("_links") or {}):
                    problems.append(
                        f"{where}._links: {sorted(value)} became {sorted(new.get('_links') or {})}"
                    )
                continue
            if key not in new:
                problems.append(f"{where}.{key}: missing")
                continue
            problems += contains(value, new[key], f"{where}.{key}")
        return problems
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [f"{where}: {len(old)} items became {new!r:.200}"]
        return [
            p for i, (a, b) in enumerate(zip(old, new, strict=True)) for p in contains(a, b, f"{where}[{i}]")
        ]
    return [] if old == new else [f"{where}: {old!r} became {new!r}"]


def test_every_resource_reads_back_after_the_upgrade(legacy_engine: sa.Engine, tmp_path: Path) -> None:
    load(legacy_engine, CAPTURED)
    db.upgrade(legacy_engine)
    settings = load_settings(data_dir=tmp_path, secret_key=CAPTURED["secret_key"])
    app = create_app(settings, engine=legacy_engine)
    state = app.state.headwater
    with state.sessions() as session, session.begin():
        credentials = ensure_defaults(session, state.secret_box, "Default Org", "prod")  # the captured org
        stored = session.scalars(sa.select(Connection)).all()
        secrets_kept = [sorted(state.secret_box.open(row.secrets)) for row in stored]
        pinned = {row.name: row.mapping_version for row in session.scalars(sa.select(Flow))}
    assert not credentials.created and credentials.org_id == CAPTURED["tables"]["orgs"][0]["id"]
    assert secrets_kept == [["password", "securityToken"]] * len(stored)  # sealed secrets still open
    assert pinned == {"Accounts hourly": 0, "Contacts once": 1, "Accounts (paused)": 1}

    with TestClient(app, raise_server_exceptions=False) as http:
        token = http.post(
            "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            },
        ).json()["access_token"]
        problems = []
        for key, old in CAPTURED["responses"].items():
            sandbox, path = key.split(" ", 1)
            headers = {
                "Authorization": f"Bearer {token}",
                "x-api-key": credentials.client_id,
                "x-gw-ims-org-id": credentials.org_id,
                "x-sandbox-name": sandbox,
            }
            answer = http.get(path, headers=headers)
            if answer.status_code != 200:
                problems.append(f"{key}: {answer.status_code} {answer.text[:300]}")
                continue
            problems += [f"{key} {p}" for p in contains(old, answer.json())]
    assert problems == []
    assert len(CAPTURED["responses"]) == 60  # every kind, by id and listed, in both sandboxes
