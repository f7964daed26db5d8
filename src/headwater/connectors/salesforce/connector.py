"""``SalesforceConnector``: the connector contract over Salesforce's REST and Bulk 2.0 APIs."""

from __future__ import annotations

from typing import Any, ClassVar

from headwater.connectors.base import (
    CheckResult,
    Connector,
    Cursor,
    ExploreItem,
    KeyStream,
    ReadStream,
    TableSchema,
)
from headwater.connectors.outbound import OutboundPolicy
from headwater.core.errors import (
    Invalid,
    SourceAuthError,
    SourceConfigError,
    SourceLimitReached,
    SourceUnavailable,
)
from headwater.core.settings import Settings

from .auth import AuthStrategy, ClientCredentials, SoapLogin, check_version, normalise_environment_url
from .client import SalesforceApi, Tuning
from .describe import DescribeCache
from .reader import SalesforceTableReader
from .rest import SalesforceRestReader
from .soql import select
from .transport import make_client
from .types import column_for

SPEC_ID = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
BASIC = "Basic Authentication"
OAUTH = "OAuth2 Client Credential"
PREVIEW_ROWS = 100


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def auth_strategy(spec_name: str, params: dict[str, Any]) -> AuthStrategy:
    url = normalise_environment_url(params.get("environmentUrl"))
    if spec_name == BASIC:
        return SoapLogin(
            url,
            str(params.get("username", "")),
            str(params.get("password", "")),
            str(params.get("securityToken", "")),
        )
    if spec_name == OAUTH:
        if not params.get("environmentUrl"):
            raise SourceConfigError(
                "OAuth2 Client Credential needs environmentUrl (the org's My Domain URL)."
            )
        return ClientCredentials(url, str(params.get("clientId", "")), str(params.get("clientSecret", "")))
    raise Invalid(
        "connection.auth_spec_unknown",
        f"The auth spec '{spec_name}' is not supported by the Salesforce connector.",
    )


class SalesforceConnector(Connector):
    spec_id: ClassVar[str] = SPEC_ID

    def __init__(
        self,
        auth: AuthStrategy,
        *,
        api_version: str | None = None,
        include_deleted: bool = False,
        settings: Settings | None = None,
        tuning: Tuning | None = None,
        policy: OutboundPolicy | None = None,
    ) -> None:
        """``policy`` defaults to the settings' outbound policy (tests pass one with a fake resolver)."""
        settings = settings or Settings()
        self.tuning = tuning or Tuning()
        self.policy = policy or OutboundPolicy.from_settings(settings)
        self.client = make_client(settings.ca_bundle, self.policy)
        self.api = SalesforceApi(self.client, auth, check_version(api_version), self.tuning, self.policy)
        self.describes = DescribeCache(self.api, self.tuning.describe_ttl)
        self.reader = SalesforceTableReader(self.api, self.describes, include_deleted)

    @classmethod
    def from_auth(
        cls,
        spec_name: str,
        params: dict[str, Any],
        settings: Settings | None = None,
        tuning: Tuning | None = None,
        policy: OutboundPolicy | None = None,
    ) -> SalesforceConnector:
        """``includeDeletedObjects`` defaults to false for both auth specs, as Adobe documents."""
        return cls(
            auth_strategy(spec_name, params),
            api_version=params.get("apiVersion"),
            include_deleted=_flag(params.get("includeDeletedObjects", False)),
            settings=settings,
            tuning=tuning,
            policy=policy,
        )

    @classmethod
    def check_params(cls, spec_name: str, params: dict[str, Any]) -> None:
        """Write-time: the environment URL is an http(s) URL or a host (no network, no policy lookup)."""
        try:
            normalise_environment_url(params.get("environmentUrl"))
        except SourceConfigError as exc:
            raise Invalid(
                "connection.auth_param_invalid",
                f"The field auth.params.environmentUrl is invalid: {exc.message}",
                field="auth.params.environmentUrl",
            ) from exc

    def check(self) -> CheckResult:
        try:
            self.api.connect()
            self.describes.queryable()
        except (SourceAuthError, SourceConfigError, SourceUnavailable, SourceLimitReached) as exc:
            return CheckResult(False, exc.message)
        return CheckResult(True)

    def list_objects(self) -> list[ExploreItem]:
        objects = sorted(self.describes.queryable().values(), key=lambda o: o.name.lower())
        return [ExploreItem(name=o.label, path=o.name) for o in objects]

    def table_schema(self, table: str, preview: bool = False) -> TableSchema:
        described = self.describes.describe(table)
        names = described.columns
        schema = TableSchema([column_for(described.fields[n]) for n in names])
        if preview:
            schema.data = self._preview(described.name, names)
        return schema

    def _preview(self, sobject: str, names: list[str]) -> list[dict[str, Any]]:
        soql = select(sobject, names, limit=PREVIEW_ROWS)
        rows: list[dict[str, Any]] = []
        for records in SalesforceRestReader(self.api).pages(soql, include_deleted=False):
            rows.extend({n: r.get(n) for n in names} for r in records)
            if len(rows) >= PREVIEW_ROWS:
                break
        return rows[:PREVIEW_ROWS]

    def read(self, table: str, columns: list[str] | None, cursor: Cursor | None) -> ReadStream:
        return self.reader.read(table, columns, cursor)

    def source_keys(self, table: str) -> KeyStream:
        return self.reader.source_keys(table)

    def formula_columns(self, table: str, columns: list[str] | None) -> list[str]:
        """Formula (``calculated``) fields among ``columns``: their values can change without
        SystemModstamp moving (a parent's field, TODAY(), an edited formula)."""
        described = self.describes.describe(table)
        wanted = self.describes.resolve_fields(described, columns)
        return [name for name in wanted if described.fields[name].get("calculated")]

    def read_columns(self, table: str, columns: list[str]) -> ReadStream:
        return self.reader.read_columns(table, columns)

    def close(self) -> None:
        self.client.close()
