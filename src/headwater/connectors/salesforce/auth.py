"""Auth strategies: SOAP ``login()`` (password + security token) and OAuth 2.0 client credentials.

Each strategy turns credentials into a ``SalesforceSession`` (instance URL + bearer token). Failures
are translated into core errors whose messages name the cause for a person (wrong credentials,
wrong environment URL) and never carry a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx

from headwater.core.errors import SourceAuthError, SourceConfigError

from .transport import send_once

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
SOAP_LOGIN_MAX_VERSION = 64.0  # login() stays available up to API 64.0 (salesforce-wire §1.1)
_VERSION = re.compile(r"^\d{2,3}\.\d$")


@dataclass(frozen=True)
class SalesforceSession:
    instance_url: str
    access_token: str


class AuthStrategy(Protocol):
    @property
    def login_url(self) -> str: ...

    def login(self, client: httpx.Client, version: str) -> SalesforceSession: ...


def normalise_environment_url(value: str | None) -> str:
    """``acme.my.salesforce.com`` / ``https://host:port/anything`` -> ``https://host[:port]``."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_LOGIN_URL
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SourceConfigError(f"The environment URL '{value}' is not a valid URL.")
    return f"{parts.scheme}://{parts.netloc}"


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
            code = _find_text(root, "exceptionCode") or _find_text(root, "faultcode")
            if not code:
                raise SourceConfigError(
                    f"{self.login_url} did not answer the Salesforce login call (HTTP {response.status_code}); "
                    "check the environment URL."
                )
            text = _find_text(root, "exceptionMessage") or ""
            if "INVALID_LOGIN" in code or "LOGIN" in code:
                raise SourceAuthError(
                    f"Salesforce rejected the login ({code}): wrong username, password or security token, "
                    "or the user is locked out."
                )
            raise SourceAuthError(f"Salesforce refused the login ({code}): {text}")
        session_id, server_url = _find_text(root, "sessionId"), _find_text(root, "serverUrl")
        if not session_id or not server_url:
            raise SourceConfigError(
                f"The login answer from {self.login_url} has no session; is it Salesforce?"
            )
        parts = urlsplit(server_url)
        return SalesforceSession(f"{parts.scheme}://{parts.netloc}", session_id)


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
            error = str(body.get("error", "unknown_error"))
            description = str(body.get("error_description", ""))
            raise SourceAuthError(
                f"Salesforce rejected the client credentials ({error}: {description}); "
                "check the client id and secret of the connected app."
            )
        instance = str(body.get("instance_url") or self.login_url).rstrip("/")
        return SalesforceSession(instance, str(body["access_token"]))
