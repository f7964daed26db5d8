"""Auth strategies: SOAP ``login()`` (password + security token) and OAuth 2.0 client credentials.

Each strategy turns credentials into a ``SalesforceSession`` (the instance URL the answer names + a
bearer token). ``SalesforceApi.connect`` checks that instance URL against the outbound policy's
hand-off rule (``SALESFORCE_DOMAINS``) before any request goes there. Failures are translated into core
errors whose messages name the cause for a person (wrong credentials, wrong environment URL); they
carry Salesforce's error *code* at most, never a secret and never text from the answer's body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from xml.etree import ElementTree

import httpx

from headwater.connectors.outbound import DomainFamily, parse_url, remote_code
from headwater.core.errors import SourceAuthError, SourceConfigError

from .transport import send_once

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
SOAP_LOGIN_MAX_VERSION = 64.0  # login() stays available up to API 64.0 (salesforce-wire §1.1)
_VERSION = re.compile(r"^\d{2,3}\.\d$")
_SCHEME_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d+(?:/|$))")

SALESFORCE_DOMAINS = DomainFamily(
    "Salesforce",
    (
        "salesforce.com",  # login, test, My Domain (*.my.salesforce.com), instances (na1, cs18)
        "force.com",  # older instance and My Domain hosts
        "cloudforce.com",
        "database.com",
        "salesforce.mil",  # Government Cloud Plus (Defense)
        "sfcrmproducts.cn",  # Salesforce on Alibaba Cloud
    ),
)
"""Where a login at a Salesforce host may hand later requests (the outbound policy's hand-off rule)."""


@dataclass(frozen=True)
class SalesforceSession:
    instance_url: str
    access_token: str


class AuthStrategy(Protocol):
    @property
    def login_url(self) -> str: ...

    def login(self, client: httpx.Client, version: str) -> SalesforceSession: ...


def normalise_environment_url(value: str | None) -> str:
    """``acme.my.salesforce.com`` / ``https://host:port/anything`` -> ``https://host[:port]``.

    Only http(s) URLs and bare hosts pass (``file:``, ``ftp:``, ``javascript:`` ... raise
    ``OutboundRefused``); whether the destination may be reached is the outbound policy's call when
    a request is made."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_LOGIN_URL
    if "://" not in text:  # a bare host, or a scheme without // ("file:/etc/passwd", not "host:8443")
        text = text.split(":", 1)[0] + "://" if _SCHEME_PREFIX.match(text) else "https://" + text
    return parse_url(text).origin


def check_version(value: str | None) -> str | None:
    text = (value or "").strip().lstrip("vV")
    if not text:
        return None
    if not _VERSION.match(text):
        raise SourceConfigError(f"The API version '{value}' must be a number with a decimal, e.g. 60.0.")
    return text


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_text(root: ElementTree.Element, name: str) -> str | None:
    for element in root.iter():
        if _local(element.tag) == name:
            return element.text
    return None


_SOAP_BODY = """<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
 <env:Body>
  <n1:login xmlns:n1="urn:partner.soap.sforce.com">
   <n1:username>{username}</n1:username>
   <n1:password>{password}</n1:password>
  </n1:login>
 </env:Body>
</env:Envelope>"""


@dataclass(frozen=True, repr=False)
class SoapLogin:
    """``Basic Authentication``: SOAP ``login()`` with password + security token concatenated."""

    login_url: str
    username: str
    password: str
    security_token: str

    def __repr__(self) -> str:  # never show secrets
        return f"SoapLogin(login_url={self.login_url!r}, username={self.username!r})"

    def login(self, client: httpx.Client, version: str) -> SalesforceSession:
        soap_version = min(float(version), SOAP_LOGIN_MAX_VERSION)
        body = _SOAP_BODY.format(
            username=_xml_escape(self.username), password=_xml_escape(self.password + self.security_token)
        )
        url = f"{self.login_url}/services/Soap/u/{soap_version:.1f}"
        headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"}
        response = send_once(client, "POST", url, content=body.encode(), headers=headers)
        root = _parse_xml(response, self.login_url)
        if response.status_code != 200:
            secrets = (self.password, self.security_token)
            code = remote_code(_find_text(root, "exceptionCode"), secrets=secrets) or remote_code(
                _find_text(root, "faultcode"), secrets=secrets
            )
            if not code:
                raise SourceConfigError(
                    f"{self.login_url} did not answer the Salesforce login call (HTTP {response.status_code}); "
                    "check the environment URL."
                )
            if "LOGIN" in code:
                raise SourceAuthError(
                    f"Salesforce rejected the login ({code}): wrong username, password or security token, "
                    "or the user is locked out."
                )
            raise SourceAuthError(f"Salesforce refused the login ({code}).")
        session_id, server_url = _find_text(root, "sessionId"), _find_text(root, "serverUrl")
        if not session_id or not server_url:
            raise SourceConfigError(
                f"The login answer from {self.login_url} has no session; is it Salesforce?"
            )
        return SalesforceSession(server_url.strip(), session_id)


def _parse_xml(response: httpx.Response, login_url: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        raise SourceConfigError(
            f"{login_url} did not answer the Salesforce login call (HTTP {response.status_code}); "
            "check the environment URL."
        ) from None


@dataclass(frozen=True, repr=False)
class ClientCredentials:
    """``OAuth2 Client Credential``: token from ``{environmentUrl}/services/oauth2/token``."""

    login_url: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"ClientCredentials(login_url={self.login_url!r})"

    def login(self, client: httpx.Client, version: str) -> SalesforceSession:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        url = f"{self.login_url}/services/oauth2/token"
        response = send_once(client, "POST", url, data=form)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceConfigError(
                f"{self.login_url} did not answer the OAuth token call (HTTP {response.status_code}); "
                "check the environment URL (it must be the org's My Domain)."
            )
        if response.status_code != 200 or "access_token" not in body:
            error = remote_code(body.get("error"), secrets=(self.client_secret,)) or "unknown_error"
            raise SourceAuthError(
                f"Salesforce rejected the client credentials ({error}{_oauth_hint(body)}); "
                "check the client id and secret of the connected app."
            )
        instance = str(body.get("instance_url") or self.login_url).strip()
        return SalesforceSession(instance, str(body["access_token"]))


_OAUTH_HINTS = {
    # error_description texts Salesforce sends (salesforce-wire §1.3), shown as our own words
    "not supported on this domain": "the environment URL must be the org's My Domain",
    "no client credentials user enabled": "the connected app has no Run As user for client credentials",
    "invalid client credentials": "the client secret is wrong",
    "client identifier invalid": "the client id is unknown",
}


def _oauth_hint(body: dict[str, object]) -> str:
    """A known ``error_description`` in our own words; an unknown one is not repeated (it is remote text)."""
    description = str(body.get("error_description") or "").lower()
    hint = next((text for known, text in _OAUTH_HINTS.items() if known in description), "")
    return f": {hint}" if hint else ""
