"""API fixtures and helpers: the same app on SQLite and on PostgreSQL (a fresh schema per test session).

Every test gets its own org, client and sandboxes, so tests never see each other's resources.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from headwater.api.app import create_app
from headwater.core.settings import Settings, load_settings
from headwater.store import db, tenants

BASE = "/data/foundation/flowservice"
SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"


@pytest.fixture(scope="session")
def secret_key() -> str:
    return Fernet.generate_key().decode()


def _pg_engine(url: str) -> Iterator[Engine]:
    schema = f"hw_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = db.make_engine(url, schema=schema)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "headwater.db"
        engine = db.make_engine(f"sqlite:///{path}")
        yield "sqlite", engine
        engine.dispose()
    else:
        url = request.getfixturevalue("postgres_url")
        for engine in _pg_engine(url):
            yield "postgres", engine


def make_settings(data_dir: Path, secret_key: str, **overrides: Any) -> Settings:
    return load_settings(data_dir=data_dir, secret_key=secret_key, **overrides)


@pytest.fixture(scope="session")
def app(backend: tuple[str, Engine], tmp_path_factory: pytest.TempPathFactory, secret_key: str) -> FastAPI:
    return create_app(make_settings(tmp_path_factory.mktemp("data"), secret_key), engine=backend[1])


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Caller:
    """An org's API client with a token; ``request`` adds the four Adobe headers."""

    http: TestClient
    org_id: str
    client_id: str
    client_secret: str
    token: str
    sandbox: str = "prod"
    extra: dict[str, str] = field(default_factory=dict)

    def headers(self, **override: str | None) -> dict[str, str]:
        base: dict[str, str | None] = {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
            "x-sandbox-name": self.sandbox,
        }
        base.update(override)
        return {k: v for k, v in base.items() if v is not None}

    def request(
        self, method: str, path: str, *, headers: dict[str, str | None] | None = None, **kwargs: Any
    ) -> Any:
        url = path if path.startswith("/data/") else BASE + path  # other services pass full paths
        return self.http.request(method, url, headers=self.headers(**(headers or {})), **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def in_sandbox(self, sandbox: str) -> Caller:
        return Caller(self.http, self.org_id, self.client_id, self.client_secret, self.token, sandbox)


def new_caller(app: FastAPI, http: TestClient, sandboxes: tuple[str, ...] = ("dev",)) -> Caller:
    state = app.state.headwater
    with state.sessions() as session, session.begin():
        org = tenants.create_org(session, f"org-{secrets.token_hex(3)}")
        for name in sandboxes:
            tenants.create_sandbox(session, org.id, name)
        issued = tenants.create_client(session, org.id)
    response = http.post(
        "/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": issued.client_id,
            "client_secret": issued.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    return Caller(http, org.id, issued.client_id, issued.client_secret, response.json()["access_token"])


@pytest.fixture
def caller(app: FastAPI, client: TestClient) -> Caller:
    return new_caller(app, client)


@pytest.fixture
def other_org(app: FastAPI, client: TestClient) -> Caller:
    return new_caller(app, client)


def basic_connection(name: str = "Salesforce Connection", **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Connection for Salesforce account",
        "auth": {
            "specName": "Basic Authentication",
            "params": {
                "username": "sf-user",
                "password": "pw-Very-Secret-1",
                "securityToken": "tok-Secret-2",
                **params,
            },
        },
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }


def create_connection(caller: Caller, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = caller.post("/connections", json=body or basic_connection())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_flow_error(response: Any, code: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    status = int(code.rsplit("-", 1)[1])
    assert response.status_code == status, response.text
    assert body["type"] == f"https://ns.adobe.com/aep/errors/FLOW-{code}"
    assert body["status"] == status
    assert body["title"]
    assert body["errorMessage"] == body["errorDetails"] == body["report"]["detailed-message"]
    assert body["report"]["request-id"]
    return body


# --- the app wired to the Salesforce emulator (dataflow resources explore the real source) ----------


@pytest.fixture(scope="session")
def sf_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One emulator for the session: the dataflow tests only read its objects' schemas and rows."""
    from headwater.emulators.salesforce.testing import running_emulator

    with running_emulator(tmp_path_factory.mktemp("salesforce-shared")) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def sf_app(
    backend: tuple[str, Engine],
    sf_emulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
    secret_key: str,
) -> FastAPI:
    settings = make_settings(
        tmp_path_factory.mktemp("sfdata"),
        secret_key,
        ca_bundle=sf_emulator.ca_file,
        outbound_allow=sf_emulator.host,
    )
    return create_app(settings, engine=backend[1])


@pytest.fixture(scope="session")
def sf_client(sf_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(sf_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def sf_caller(sf_app: FastAPI, sf_client: TestClient) -> Caller:
    return new_caller(sf_app, sf_client)


def salesforce_connection(caller: Caller, sf: Any) -> str:
    body = {
        "name": "ACME Salesforce account",
        "auth": {
            "specName": "Basic Authentication",
            "params": {
                "environmentUrl": sf.url,
                "username": sf.username,
                "password": sf.password,
                "securityToken": sf.security_token,
            },
        },
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }
    return str(create_connection(caller, body)["id"])


def source_connection_body(
    base_id: str, table: str = "Account", columns: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Adobe's COL-CRM request (§7.5) with the spec id typo fixed and real Account columns."""
    names = columns or ("Id", "Name", "Phone", "LastModifiedDate")
    return {
        "name": "Salesforce source connection",
        "baseConnectionId": base_id,
        "description": "Salesforce source connection",
        "data": {"format": "tabular"},
        "params": {
            "tableName": table,
            "columns": [{"name": n, "type": "string", "xdm": {"type": "String"}} for n in names],
        },
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }


CATALOG = "/data/foundation/catalog"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


def create_dataset(caller: Caller, name: str = "Salesforce accounts") -> str:
    body = {
        "name": name,
        "schemaRef": {
            "id": "https://ns.adobe.com/acme/schemas/417a33eg81a221bd10495920574gfa2d",
            "contentType": "application/vnd.adobe.xed-full-notext+json; version=1",
        },
    }
    response = caller.post(f"{CATALOG}/dataSets?requestDataSource=true", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()[0].rsplit("/", 1)[1])


def target_connection_body(dataset_id: str) -> dict[str, Any]:
    """COL-CRM's request (§5.4) with our dataset id."""
    return {
        "name": "Salesforce target connection",
        "description": "Salesforce target connection",
        "data": {
            "schema": {
                "id": "https://ns.adobe.com/acme/schemas/417a33eg81a221bd10495920574gfa2d",
                "version": "application/vnd.adobe.xed-full+json;version=1",
            }
        },
        "params": {"dataSetId": dataset_id},
        "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
    }


CONVERSION = "/data/foundation/conversion"


def tutorial_mapping_set(pairs: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """COL-CRM's mapping-set request (§7.10); ``pairs`` (source, destination) replace its three entries."""
    pairs = pairs or (
        ("first_name", "person.name.firstName"),
        ("last_name", "person.name.lastName"),
        ("email", "personalEmail.address"),
    )
    return {
        "version": 0,
        "xdmSchema": "https://ns.adobe.com/{TENANT_ID}/schemas/417a33eg81a221bd10495920574gfa2d",
        "xdmVersion": "1.0",
        "id": None,
        "mappings": [
            {
                "destinationXdmPath": destination,
                "sourceAttribute": source,
                "identity": False,
                "identityGroup": None,
                "namespaceCode": None,
                "version": 0,
            }
            for source, destination in pairs
        ],
    }


def create_mapping_set(caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    response = caller.post(f"{CONVERSION}/mappingSets", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
ACCOUNT_MAPPING = (("Id", "accountKey.sourceID"), ("Name", "accountName"), ("Phone", "accountPhone.number"))


@dataclass
class DataflowParts:
    base: str
    source: str
    target: str
    dataset: str
    mapping: str


def dataflow_parts(caller: Caller, sf: Any) -> DataflowParts:
    """Base connection -> source connection (Account) -> dataset -> target connection -> mapping set."""
    base = salesforce_connection(caller, sf)
    response = caller.post("/sourceConnections", json=source_connection_body(base))
    assert response.status_code == 201, response.text
    dataset = create_dataset(caller)
    target = caller.post("/targetConnections", json=target_connection_body(dataset))
    assert target.status_code == 201, target.text
    mapping = create_mapping_set(caller, tutorial_mapping_set(ACCOUNT_MAPPING))
    return DataflowParts(base, response.json()["id"], target.json()["id"], dataset, mapping["id"])


def flow_body(parts: DataflowParts, **schedule: Any) -> dict[str, Any]:
    """COL-CRM's dataflow request (§7.8) with the CRMToAEP spec id, our ids and a future start time."""
    import time

    return {
        "name": "Salesforce dataflow",
        "description": "Salesforce dataflow",
        "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
        "sourceConnectionIds": [parts.source],
        "targetConnectionIds": [parts.target],
        "transformations": [
            {
                "name": "Copy",
                "params": {
                    "deltaColumn": {"name": "LastModifiedDate", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
                },
            },
            {"name": "Mapping", "params": {"mappingId": parts.mapping, "mappingVersion": 0}},
        ],
        "scheduleParams": schedule
        or {"startTime": str(int(time.time()) + 60), "frequency": "minute", "interval": "30"},
    }
