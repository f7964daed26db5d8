"""Signed, expiring access tokens (HS256 JWT) naming org and client, with a verify cache.

The signing key is derived from the secret key, so every process sharing HEADWATER_SECRET_KEY
verifies every other process's tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from headwater.api.errors import GatewayError
from headwater.core.ids import new_id

ISSUER = "headwater-ims"
_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class TokenClaims:
    org_id: str
    client_id: str
    expires_at: float


def invalid_token() -> GatewayError:
    return GatewayError(401, "401013", "Oauth token is not valid")


class TokenService:
    def __init__(self, signing_key: bytes, ttl_seconds: int) -> None:
        self._key = signing_key
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, org_id: str, client_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": client_id,
            "client_id": client_id,
            "org": org_id,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": new_id(),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> TokenClaims:
        """Claims of a valid unexpired token; the signature is checked once per token, then cached."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at <= time.time():
                self._verified.pop(token, None)
                raise invalid_token()
            return cached
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "org", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise invalid_token() from exc
        result = TokenClaims(
            org_id=str(claims["org"]), client_id=str(claims["sub"]), expires_at=float(claims["exp"])
        )
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = result
        return result
