"""The store on its own: migrations, secrets at rest, key file, client secret hashing, aware timestamps."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from headwater.api.error_codes import code_of
from headwater.core.errors import ConfigurationError, Conflict, DomainError, Invalid, NotFound
from headwater.core.scope import Scope
from headwater.core.settings import load_settings
from headwater.store import db, repository, tenants
from headwater.store.crypto import SecretBox, load_secret_key
from headwater.store.models import Dataset
from headwater.store.passwords import hash_secret, verify_secret


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        db.upgrade(eng)
        yield eng
        eng.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"hw_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng = db.make_engine(url, schema=schema)
    try:
        db.upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_migrations_create_tables_and_are_idempotent(engine: Engine) -> None:
    db.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "orgs",
        "sandboxes",
        "api_clients",
        "connections",
        "flows",
        "hw_runs",
        "alembic_version",
    } <= tables
    assert "resources" not in tables  # the generic table is gone (0003)


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    eng = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    eng.dispose()


def test_typed_rows_roundtrip_scoped_with_etags(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    with sessions() as session, session.begin():
        org = tenants.create_org(session, "o")
        scope = Scope(org.id, "prod", "client")
        row = repository.add(
            session,
            repository.new(Dataset, scope, name="a", tags={"x": [1, 2]}, extra={"nested": {"y": None}}),
        )
        row_id, etag = row.id, row.etag
    with sessions() as session, session.begin():
        row = repository.get(session, Dataset, scope, row_id)
        assert (row.name, row.tags, row.extra) == ("a", {"x": [1, 2]}, {"nested": {"y": None}})
        assert row.created_by == "client@AdobeID" and row.created_at == row.updated_at > 0
        with pytest.raises(DomainError) as missing:
            repository.check_etag(row, None)
        assert code_of(missing.value)[0] == "1403-400"
        with pytest.raises(DomainError) as stale:
            repository.check_etag(row, '"other"')
        assert code_of(stale.value)[0] == "1404-412"
        repository.check_etag(row, etag.strip('"'))
        repository.touch(row, scope)
        assert row.etag != etag
        with pytest.raises(NotFound):
            repository.get(session, Dataset, Scope(org.id, "dev", "client"), row_id)
        repository.delete(session, row)
        assert repository.find(session, Dataset, scope, row_id) is None


def test_sandbox_rules(engine: Engine) -> None:
    with db.session_factory(engine)() as session, session.begin():
        org = tenants.create_org(session, "o")
        assert [s.name for s in tenants.list_sandboxes(session, org.id)] == ["prod"]
        tenants.create_sandbox(session, org.id, "dev")
        with pytest.raises(Conflict):
            tenants.create_sandbox(session, org.id, "dev")
        with pytest.raises(Invalid):
            tenants.create_sandbox(session, org.id, "Bad Name")
        with pytest.raises(NotFound):
            tenants.create_sandbox(session, "nope@AdobeOrg", "x")


def test_client_secret_is_hashed_and_checked(engine: Engine) -> None:
    with db.session_factory(engine)() as session, session.begin():
        org = tenants.create_org(session, "o")
        issued = tenants.create_client(session, org.id)
        [stored] = tenants.list_clients(session, org.id)
        assert issued.client_secret not in stored.secret_hash and stored.secret_hash.startswith("scrypt$")
        assert tenants.authenticate_client(session, issued.client_id, issued.client_secret) is not None
        assert tenants.authenticate_client(session, issued.client_id, issued.client_secret + "x") is None


def test_scrypt_hashes_are_salted() -> None:
    first, second = hash_secret("s"), hash_secret("s")
    assert first != second and verify_secret("s", first) and verify_secret("s", second)
    assert not verify_secret("s", "garbage") and not verify_secret("s", "md5$1$2$3$4$5")


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    key = load_secret_key(settings)
    path = tmp_path / "d" / "secret.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_secret_key(settings) == key


def test_key_from_environment_wins_and_bad_key_is_rejected(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_secret_key(load_settings(data_dir=tmp_path, secret_key=key.decode())) == key
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(ConfigurationError):
        load_secret_key(load_settings(data_dir=tmp_path, secret_key="short"))


def test_secret_box_roundtrip_and_wrong_key() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal({"password": "p"})
    assert sealed is not None and b'p"' not in sealed
    assert box.open(sealed) == {"password": "p"}
    assert box.seal({}) is None and box.open(None) == {}
    with pytest.raises(ConfigurationError):
        SecretBox(Fernet.generate_key()).open(sealed)


def test_secret_box_names_in_order_and_need_the_key() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal({"password": "p", "securityToken": "t"})
    assert box.names(sealed) == ("password", "securityToken")
    assert box.names(memoryview(sealed)) == ("password", "securityToken")  # as some drivers return it
    assert box.names(None) == () and box.names(b"") == ()
    # a box with another key never answers from the first box's memory
    with pytest.raises(ConfigurationError):
        SecretBox(Fernet.generate_key()).names(sealed)


def test_thread_reader_sees_every_commit_and_survives_a_failed_read(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    reader = db.ThreadReader(engine)
    with sessions() as session, session.begin():
        org = tenants.create_org(session, "o")
        scope = Scope(org.id, "prod", "client")
        row_id = repository.add(session, repository.new(Dataset, scope, name="a", tags={}, extra={})).id
    assert reader.run(lambda conn: repository.read(conn, Dataset, scope, row_id).name) == "a"
    with sessions() as session, session.begin():  # a write between two reads of the same connection
        repository.get(session, Dataset, scope, row_id).name = "b"
    assert reader.run(lambda conn: repository.read(conn, Dataset, scope, row_id).name) == "b"
    with pytest.raises(NotFound):
        reader.run(lambda conn: repository.read(conn, Dataset, scope, "missing"))

    def began(conn: Connection) -> bool:
        conn.execute(text("SELECT 1"))
        return conn.in_transaction()

    assert reader.run(began) is True  # the read ran in a transaction ...
    assert reader.run(lambda conn: conn).in_transaction() is False  # ... which ended with it
