"""The secret key: encrypts stored credentials (Fernet) and derives the token-signing key.

Key source: ``HEADWATER_SECRET_KEY``, else ``<data dir>/secret.key`` (created once, mode 0600).
Processes that share the key decrypt each other's secrets and verify each other's tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from headwater.core import jsonutil
from headwater.core.errors import ConfigurationError
from headwater.core.settings import Settings

KEY_FILE = "secret.key"
_NAMES_CACHE_LIMIT = 10_000


def load_secret_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode()
    else:
        key = _key_from_file(settings.resolved_data_dir / KEY_FILE)
    try:
        Fernet(key)
    except ValueError as exc:
        raise ConfigurationError(
            "HEADWATER_SECRET_KEY is not a Fernet key (urlsafe base64 of 32 bytes)"
        ) from exc
    return key


def _key_from_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting together never overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose, so the encryption key itself never signs anything."""
    return hmac.new(secret_key, purpose.encode(), hashlib.sha256).digest()


class SecretBox:
    """Encrypts a dict of secret values into one opaque blob, and back."""

    def __init__(self, secret_key: bytes) -> None:
        self._fernet = Fernet(secret_key)
        # sealed blob -> the names it holds (never the values): masking on every GET needs only the
        # names, and decrypting per read was a fifth of the hot GET's cost. Blobs are unique per seal.
        self._names: dict[bytes, tuple[str, ...]] = {}

    def seal(self, values: dict[str, Any]) -> bytes | None:
        if not values:
            return None
        return self._fernet.encrypt(jsonutil.dumps(values))

    def open(self, blob: bytes | None) -> dict[str, Any]:
        if not blob:
            return {}
        try:
            result: dict[str, Any] = jsonutil.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise ConfigurationError(
                "stored secrets cannot be decrypted with the configured secret key"
            ) from exc
        return result

    def names(self, blob: bytes | None) -> tuple[str, ...]:
        """The secret names sealed in ``blob``, in order; decrypted once per blob, then remembered."""
        if not blob:
            return ()
        key = bytes(blob)  # a driver may hand back a memoryview
        cached = self._names.get(key)
        if cached is None:
            cached = tuple(self.open(key))
            if len(self._names) >= _NAMES_CACHE_LIMIT:
                self._names.clear()
            self._names[key] = cached
        return cached
