"""Response header names spelled as Salesforce spells them (``Sforce-Locator``, ``Content-Type``).

HTTP header names are case-insensitive, but some clients look them up in a plain dict: airbyte-cdk
reads ``Sforce-Locator`` case-sensitively, and with Starlette's lower-case names it stopped after the
first Bulk page. This ASGI middleware rewrites the names of every response start message and adds
``Date``; the server runs uvicorn's h11 protocol, which writes names as given.
"""

from __future__ import annotations

from email.utils import formatdate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SPELLING = {
    name.lower().encode("latin-1"): name.encode("latin-1")
    for name in (
        "Sforce-Locator",
        "Sforce-NumberOfRecords",
        "Sforce-Limit-Info",
        "Content-Type",
        "Content-Length",
        "Content-Encoding",
        "Transfer-Encoding",
        "Last-Modified",
        "ETag",
        "WWW-Authenticate",
    )
}


def salesforce_spelling(name: bytes) -> bytes:
    known = SPELLING.get(name.lower())
    if known is not None:
        return known
    return b"-".join(part[:1].upper() + part[1:] for part in name.split(b"-"))


class SalesforceHeaderCase:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_spelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(salesforce_spelling(k), v) for k, v in message.get("headers", [])]
                headers.insert(0, (b"Date", formatdate(usegmt=True).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_spelled)
