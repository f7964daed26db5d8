"""Real local listeners for the outbound-policy tests (importable from every test folder).

* ``TcpListener``: a port on 127.0.0.1 that accepts and hangs up at once, counting connections (what a
  port scanner probes: something listens, and it is not HTTP).
* ``closed_port()``: a port on 127.0.0.1 where nothing listens.
* ``ScriptedServer``: a plain-HTTP server on 127.0.0.1 that answers each request by a script and
  records what it was sent (method, path, headers, body) -- a fake Salesforce, an echo server, a
  redirector.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


class TcpListener:
    """``with TcpListener() as port: ...``; ``port.connections`` counts accepted connections."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port: int = self._socket.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            self.connections += 1
            conn.close()

    def __enter__(self) -> TcpListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


Answer = tuple[int, dict[str, str], bytes]
Script = Callable[[Received], Answer]


@dataclass
class ScriptedServer:
    """``with ScriptedServer(script) as server``: ``server.url``, ``server.received`` (every request)."""

    script: Script
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                owner.received.append(request)
                status, headers, body = owner.script(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- scripts --------------------------------------------------------------------------------------


def soap_login_answer(server_url: str, session_id: str = "00Dfake!session") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><loginResponse><result>"
        f"<serverUrl>{server_url}</serverUrl><sessionId>{session_id}</sessionId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def fake_salesforce(instance_url: Callable[[], str]) -> Script:
    """A login that succeeds (SOAP and OAuth) and names ``instance_url()`` for later requests; API
    versions listed; anything else 404."""

    def script(request: Received) -> Answer:
        if request.path.startswith("/services/Soap/u/"):
            url = f"{instance_url()}/services/Soap/u/60.0/00Dfake"
            return 200, {"Content-Type": "text/xml"}, soap_login_answer(url)
        if request.path == "/services/oauth2/token":
            body = f'{{"access_token": "00Dfake!token", "instance_url": "{instance_url()}"}}'
            return 200, {"Content-Type": "application/json"}, body.encode()
        if request.path == "/services/data/":
            return 200, {"Content-Type": "application/json"}, b'[{"version": "60.0"}]'
        return 404, {}, b"not here"

    return script


def hostile_echo(request: Received) -> Answer:
    """A server that sends back what it was sent, in every field a Salesforce client might show: the
    SOAP fault's code (the password), string and message; the OAuth error (the client secret) and
    description; a REST error's code and message; an HTML page."""
    sent = request.text + " " + request.headers.get("Authorization", "")
    if request.path == "/services/oauth2/token":
        secret = re.search(r"client_secret=([^&]*)", request.text)
        answer = {"error": secret.group(1) if secret else "x", "error_description": sent}
        return 400, {"Content-Type": "application/json"}, json.dumps(answer).encode()
    if request.path.startswith("/services/Soap/"):
        password = re.search(r"<n1:password>(.*)</n1:password>", request.text)
        code = escape(password.group(1) if password else "x")
        fault = (
            "<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>"
            f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(sent)}</faultstring><detail>"
            f"<exceptionCode>{code}</exceptionCode><exceptionMessage>{escape(sent)}</exceptionMessage>"
            "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return 500, {"Content-Type": "text/xml"}, fault.encode()
    if request.path.startswith("/services/data/"):
        answer = [{"errorCode": sent, "message": sent}]
        return 400, {"Content-Type": "application/json"}, json.dumps(answer).encode()
    return 404, {}, f"<html>{escape(sent)}</html>".encode()
