"""Orgs, sandboxes and API clients. Functions take a session; the caller owns the transaction."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.core.errors import Conflict, Invalid, NotFound
from headwater.core.ids import new_id
from headwater.core.timeutil import utcnow
from headwater.store.models import ApiClient, Org, Sandbox
from headwater.store.passwords import hash_secret, verify_secret


@dataclass(frozen=True)
class IssuedClient:
    """A new API client; the only moment its secret exists in clear."""

    client_id: str
    client_secret: str
    org_id: str


def create_org(session: Session, name: str, *, is_default: bool = False, sandbox: str = "prod") -> Org:
    org = Org(
        id=f"{secrets.token_hex(12).upper()}@AdobeOrg", name=name, is_default=is_default, created_at=utcnow()
    )
    session.add(org)
    session.flush()
    create_sandbox(session, org.id, sandbox)
    return org


def list_orgs(session: Session) -> list[Org]:
    return list(session.scalars(select(Org).order_by(Org.created_at)))


def get_org(session: Session, org_id: str) -> Org:
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound("orgs", org_id)
    return org


def default_org(session: Session) -> Org | None:
    return session.scalars(select(Org).where(Org.is_default.is_(True))).first()


def create_sandbox(session: Session, org_id: str, name: str) -> Sandbox:
    get_org(session, org_id)
    if not name or name != name.lower() or not name.replace("-", "").isalnum():
        raise Invalid(
            "sandbox.name_invalid", f"Sandbox name '{name}' must be lowercase letters, digits and hyphens."
        )
    if find_sandbox(session, org_id, name) is not None:
        raise Conflict("sandbox.exists", f"Sandbox '{name}' already exists in org {org_id}.")
    sandbox = Sandbox(id=new_id(), org_id=org_id, name=name, created_at=utcnow())
    session.add(sandbox)
    session.flush()
    return sandbox


def find_sandbox(session: Session, org_id: str, name: str) -> Sandbox | None:
    query = select(Sandbox).where(Sandbox.org_id == org_id, Sandbox.name == name)
    return session.scalars(query).first()


def list_sandboxes(session: Session, org_id: str) -> list[Sandbox]:
    return list(session.scalars(select(Sandbox).where(Sandbox.org_id == org_id).order_by(Sandbox.created_at)))


def create_client(
    session: Session,
    org_id: str,
    name: str = "API client",
    *,
    is_default: bool = False,
    seal: Callable[[str], bytes] | None = None,
) -> IssuedClient:
    get_org(session, org_id)
    client_id = secrets.token_hex(16)
    secret = "p8e-" + secrets.token_urlsafe(24)
    session.add(
        ApiClient(
            client_id=client_id,
            org_id=org_id,
            name=name,
            secret_hash=hash_secret(secret),
            is_default=is_default,
            secret_sealed=seal(secret) if seal else None,
            created_at=utcnow(),
        )
    )
    session.flush()
    return IssuedClient(client_id=client_id, client_secret=secret, org_id=org_id)


def list_clients(session: Session, org_id: str) -> list[ApiClient]:
    return list(
        session.scalars(select(ApiClient).where(ApiClient.org_id == org_id).order_by(ApiClient.created_at))
    )


def authenticate_client(session: Session, client_id: str, client_secret: str) -> ApiClient | None:
    client = session.get(ApiClient, client_id)
    if client is None or not verify_secret(client_secret, client.secret_hash):
        return None
    return client


def default_client(session: Session, org_id: str) -> ApiClient | None:
    query = select(ApiClient).where(ApiClient.org_id == org_id, ApiClient.is_default.is_(True))
    return session.scalars(query).first()
