"""Who acts where: the org and sandbox of a request, and the caller recorded as createdBy/createdClient."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    org_id: str
    sandbox_name: str
    client_id: str

    @property
    def user(self) -> str:
        # Service tokens have no user; Adobe then reports the client as createdBy.
        return f"{self.client_id}@AdobeID"
