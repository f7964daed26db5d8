"""The demo's Salesforce: the emulator in a background thread, over HTTPS with its own CA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from headwater.core.settings import Settings, load_settings
from headwater.emulators.salesforce.server import EmulatorServer, ServerConfig
from headwater.emulators.salesforce.state import Credentials

DEFAULT_PORT = 8443
DEFAULT_ROWS = {"Account": 5_000, "Contact": 10_000}


@dataclass
class DemoEmulator:
    server: EmulatorServer
    ca_bundle: Path  # what outbound HTTPS must trust: the emulator's CA (plus any configured bundle)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def authority(self) -> str:
        """``host:port`` of the emulator (an entry of the outbound policy's allow list)."""
        return self.url.split("://", 1)[1]

    @property
    def credentials(self) -> Credentials:
        return self.server.emulator.state.credentials

    def count(self, sobject: str) -> int:
        """Live (not deleted) records of an object: what a full read lands."""
        with self.server.emulator.org.cursor() as cur:
            row = cur.execute(f'SELECT count(*) FROM "{sobject}" WHERE NOT "IsDeleted"').fetchone()
        return int(row[0]) if row else 0

    def stop(self) -> None:
        self.server.stop()


def settings_with_emulator(settings: Settings, emulator: DemoEmulator, **overrides: object) -> Settings:
    """``settings`` for the process that runs the demo: the emulator's CA trusted, and its ``host:port``
    (loopback) added to ``HEADWATER_OUTBOUND_ALLOW`` -- for this process only, nothing is stored."""
    allow = ",".join(part for part in (settings.outbound_allow, emulator.authority) if part)
    values = {**settings.model_dump(exclude_unset=True), **overrides}
    return load_settings(**{**values, "ca_bundle": emulator.ca_bundle, "outbound_allow": allow})


def start_demo_emulator(
    data_dir: Path,
    rows: dict[str, int] | None = None,
    *,
    port: int = DEFAULT_PORT,
    extra_ca: Path | None = None,
) -> DemoEmulator:
    """Start the emulator on ``port`` (another free port when that one is taken; 0 = any)."""
    folder = data_dir / "demo-salesforce"
    sizes = {**DEFAULT_ROWS, **(rows or {})}
    try:
        server = EmulatorServer(ServerConfig(folder, port=port, rows=sizes)).start()
    except OSError:
        server = EmulatorServer(ServerConfig(folder, port=0, rows=sizes)).start()
    assert server.tls is not None
    bundle = Path(server.tls.ca_file)
    if extra_ca is not None and extra_ca.resolve() != bundle.resolve():
        bundle = folder / "trusted-ca.pem"  # the configured bundle and the emulator's CA together
        bundle.write_bytes(
            extra_ca.read_bytes().rstrip(b"\n") + b"\n" + Path(server.tls.ca_file).read_bytes()
        )
    return DemoEmulator(server, bundle)
