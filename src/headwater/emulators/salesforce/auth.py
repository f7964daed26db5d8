"""SOAP ``login`` and the OAuth 2.0 token endpoint (password, client_credentials, refresh_token, JWT bearer)."""

from __future__ import annotations

import base64
import hmac
import time
import xml.etree.ElementTree as ET
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from .service import Emulator
from .state import ORG_ID, USER_ID
from .wire import json_response

LOGIN_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
    "<soapenv:Fault><faultcode>INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security "
    'token; or user locked out.</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN'
    "</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token; or user locked out."
    "</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)


def instance_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


async def soap_login(emulator: Emulator, request: Request) -> Response:
    version = request.path_params["version"]
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return Response(LOGIN_FAULT, 500, media_type="text/xml; charset=utf-8")
    values = {_local(el.tag): (el.text or "") for el in root.iter()}
    creds = emulator.state.credentials
    if not (
        _same(values.get("username", ""), creds.username)
        and _same(values.get("password", ""), creds.password + creds.security_token)
    ):
        return Response(LOGIN_FAULT, 500, media_type="text/xml; charset=utf-8")
    session = emulator.state.new_session()
    base = instance_url(request)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f"<loginResponse><result><metadataServerUrl>{base}/services/Soap/m/{version}/{ORG_ID[:15]}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{ORG_ID[:15]}</serverUrl><sessionId>{escape(session)}</sessionId>"
        f"<userId>{USER_ID}</userId><userInfo><organizationId>{ORG_ID}</organizationId>"
        "<organizationName>Headwater Emulated Org</organizationName><sessionSecondsValid>7200</sessionSecondsValid>"
        f"<userEmail>{escape(creds.username)}</userEmail><userFullName>Headwater Demo</userFullName><userId>{USER_ID}</userId>"
        f"<userName>{escape(creds.username)}</userName><userTimeZone>America/Los_Angeles</userTimeZone>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, 200, media_type="text/xml; charset=utf-8")


def _error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


async def oauth_token(emulator: Emulator, request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return _error("invalid_client", "invalid client credentials")
    creds = emulator.state.credentials
    grant = form.get("grant_type", "")
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        if not form.get("assertion"):
            return _error("invalid_grant", "invalid assertion")
    elif not _same(client_id, creds.client_id):
        return _error("invalid_client_id", "client identifier invalid")
    elif not _same(client_secret, creds.client_secret):
        return _error("invalid_client", "invalid client credentials")
    elif grant == "password":
        password_ok = _same(form.get("password", ""), creds.password + creds.security_token)
        if not (_same(form.get("username", ""), creds.username) and password_ok):
            return _error("invalid_grant", "authentication failure")
    elif grant == "refresh_token":
        token = form.get("refresh_token", "")
        if not (_same(token, creds.refresh_token) or token in emulator.state.refresh_tokens):
            return _error("invalid_grant", "expired access/refresh token")
    elif grant != "client_credentials":
        return _error("unsupported_grant_type", "grant type not supported")
    base = instance_url(request)
    body = {
        "access_token": emulator.state.new_session(),
        "instance_url": base,
        "id": f"{base}/id/{ORG_ID}/{USER_ID}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "signature": base64.b64encode(ORG_ID.encode()).decode(),
        "scope": "api refresh_token",
    }
    return json_response(body)
