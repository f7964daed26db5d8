"""One typed settings object. Each setting reads ``HEADWATER_<NAME>`` from the environment.

Secrets are ``SecretStr`` so they never print in reprs or logs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path(".headwater"), description="Where the embedded database, lake and keys live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store; default: SQLite file in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts stored credentials (Fernet, urlsafe base64 of 32 bytes). "
        "Default: the key file secret.key in the data dir, created with mode 0600.",
    )
    lake_root: str | None = Field(
        default=None, description="Root of the data lake; default: <data dir>/lake."
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="Extra trusted CA certificates (PEM) for outbound HTTPS, added to the system's.",
    )
    outbound_allow: str = Field(
        default="",
        description="Destinations connectors may reach besides public addresses (the outbound policy, "
        "docs/security.md): comma-separated host names, host:port pairs and CIDR ranges, e.g. "
        "'sf-proxy.corp:8443,10.20.0.0/16'. Loopback, private, link-local, multicast, reserved and "
        "cloud metadata addresses are refused unless listed here.",
    )
    outbound_allow_http: bool = Field(
        default=False,
        description="Let connectors use plain http (local development only); otherwise https only.",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        default=None, description="Base URL printed for users; default from host/port."
    )
    token_ttl_seconds: int = Field(default=86_400, ge=60, description="Lifetime of issued access tokens.")
    missing_sandbox: Literal["default", "error"] = Field(
        default="default",
        description="What a request without x-sandbox-name gets: the org's default sandbox 'prod' "
        "(Adobe's item schemas) or the FLOW-2105-400 error.",
    )
    default_org_name: str = "Default Org"
    default_sandbox: str = "prod"
    embedded_workers: int = Field(default=2, ge=0, description="Run executors inside `headwater serve`.")
    run_retention_days: int = Field(
        default=90, ge=1, le=36_500, description="Finished runs older than this many days are deleted ..."
    )
    run_retention_min_runs: int = Field(
        default=100, ge=0, le=1_000_000, description="... except each flow's newest runs, however old."
    )
    log_level: str = "INFO"
    ui_enabled: bool = Field(default=True, description="Serve the web UI at / (pages under /ui).")
    ui_secure_cookies: bool = Field(
        default=False, description="Mark the UI's session cookie Secure (set it when served over HTTPS)."
    )

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'headwater.db'}"

    @cached_property
    def resolved_lake_root(self) -> str:
        return self.lake_root or str(self.resolved_data_dir / "lake")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags, tests) winning."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
