"""A tiny HTTPS CONNECT proxy that sends Salesforce's login hosts to the local emulator.

Airbyte's source-salesforce and Singer's tap-salesforce hard-code ``https://login.salesforce.com``
(or ``test.salesforce.com``). Run unmodified, they honour ``HTTPS_PROXY`` (requests' standard
environment), so pointing that at this proxy points only the login URL at the emulator: the TLS
session inside the tunnel is with the emulator, whose certificate names the login hosts
(``--tls-name``) and whose CA the clients trust through ``REQUESTS_CA_BUNDLE``. The emulator then
answers with itself as the instance URL. Any other host is refused (403): nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})


class ConnectProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target_port = target_port
        self.host = host
        self.port = 0
        self.tunnels = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="connect-proxy", daemon=True)

    def start(self) -> ConnectProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, self.host, 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        method, _, rest = head.decode("latin-1").partition(" ")
        target = rest.split(" ", 1)[0]
        name, _, port = target.rpartition(":")
        if method != "CONNECT" or name.lower() not in LOGIN_HOSTS or port != "443":
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.tunnels += 1
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
