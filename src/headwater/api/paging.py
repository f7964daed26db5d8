"""List requests and answers: query parameters -> ``ListQuery``, a page -> Adobe's list body.

Continuation tokens carry the query and the keyset position of the next page, signed (HMAC-SHA256 with
a key derived from the deployment's secret key) and bound to the collection's path. A token that was
altered, truncated, forged or minted for another collection is refused with 1453-400; it can never
make a page start anywhere a real page did not end, so no client can loop a page chain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from headwater.core.errors import Invalid
from headwater.domain.collection import Listing
from headwater.store.listing import ListQuery, build_query, parse_list_params

_TAG_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Paging:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def token(self, query: ListQuery, after: tuple[Any, str], path: str) -> str:
        state = {
            "c": path,
            "p": list(query.raw_properties),
            "o": query.raw_orderby,
            "l": query.limit,
            "a": [after[0], after[1]],
        }
        payload = orjson.dumps(state)
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def parse(self, params: Sequence[tuple[str, str]], path: str) -> ListQuery:
        """The list query of a request; a ``continuationToken`` stands for the query it was minted with."""
        query = parse_list_params(params)
        tokens = [value for key, value in params if key == "continuationToken"]
        if not tokens:
            return query
        state = self._open(tokens[-1], path)
        resumed = build_query(state["p"], state["o"], state["l"])
        return ListQuery(
            resumed.conditions,
            resumed.order,
            resumed.descending,
            resumed.limit,
            False,
            (state["a"][0], str(state["a"][1])),
            resumed.raw_properties,
            resumed.raw_orderby,
        )

    def _open(self, token: str, path: str) -> dict[str, Any]:
        refused = Invalid(
            "query.token_invalid",
            f"Invalid query value continuationToken={token[:200]} provided in query param.",
        )
        body, _, tag = token.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(tag)
        except (binascii.Error, ValueError):
            raise refused from None
        if not hmac.compare_digest(signature, self._tag(payload)):
            raise refused
        state: dict[str, Any] = orjson.loads(payload)
        if state.get("c") != path:
            raise refused
        return state

    def body(self, listing: Listing, query: ListQuery, path: str) -> dict[str, Any]:
        """Adobe's list body: ``{"count": n}`` when counting, else items and ``_links.next``."""
        if listing.count is not None:
            return {"count": listing.count}
        links: dict[str, Any] = {}
        if listing.after is not None:
            links["next"] = {"href": f"{path}?continuationToken={self.token(query, listing.after, path)}"}
        return {"items": listing.items, "_links": links}


__all__ = ["Paging"]
