"""First start: the default org, its sandbox and its default API client, created once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from headwater.core.errors import ConfigurationError
from headwater.store import tenants
from headwater.store.crypto import SecretBox


@dataclass(frozen=True)
class DefaultCredentials:
    org_id: str
    sandbox_name: str
    client_id: str
    client_secret: str
    created: bool


def ensure_defaults(session: Session, box: SecretBox, org_name: str, sandbox: str) -> DefaultCredentials:
    """The default org and client, creating them on first start (idempotent afterwards)."""
    org = tenants.default_org(session)
    created = org is None
    if org is None:
        org = tenants.create_org(session, org_name, is_default=True, sandbox=sandbox)
    elif tenants.find_sandbox(session, org.id, sandbox) is None:
        tenants.create_sandbox(session, org.id, sandbox)
    client = tenants.default_client(session, org.id)
    if client is None:
        issued = tenants.create_client(session, org.id, "default", is_default=True, seal=_sealer(box))
        return DefaultCredentials(org.id, sandbox, issued.client_id, issued.client_secret, True)
    secret = box.open(client.secret_sealed).get("secret")
    if not isinstance(secret, str):
        raise ConfigurationError("the default client's secret is not recoverable with this secret key")
    return DefaultCredentials(org.id, sandbox, client.client_id, secret, created)


def _sealer(box: SecretBox):  # type: ignore[no-untyped-def]
    def seal(secret: str) -> bytes:
        sealed = box.seal({"secret": secret})
        assert sealed is not None
        return sealed

    return seal
