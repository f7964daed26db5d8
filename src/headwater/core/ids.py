"""Ids and etags in Adobe's shapes."""

from __future__ import annotations

import secrets
import time
import uuid


def new_id() -> str:
    """A new resource id: a random UUID4 string, as Flow Service uses."""
    return str(uuid.uuid4())


def new_etag() -> str:
    """A new etag in Cosmos style, quotes included: ``"xxxxxxxx-0000-0200-0000-xxxxxxxx0000"``.

    The first group is random and the last carries the time, so two writes never share an etag.
    """
    head = secrets.token_hex(4)
    tail = f"{int(time.time()) & 0xFFFFFFFF:08x}0000"
    return f'"{head}-0000-0200-0000-{tail}"'


def unquote_etag(value: str) -> str:
    """The etag without surrounding quotes or a weak prefix, for comparing ``If-Match`` values."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.replace('\\"', "")
