"""Adobe's tutorial "Create a Salesforce connector using the Flow Service API", against Headwater.

    headwater credentials --json > creds.json
    python examples/create_salesforce_connection.py http://127.0.0.1:8080 creds.json USER PASSWORD TOKEN

Prints the new connection's id and etag, then the connection as GET returns it (secrets masked).
"""

from __future__ import annotations

import json
import sys

import httpx

SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"


def main(argv: list[str]) -> None:
    base_url, creds_file, username, password, security_token = argv
    with open(creds_file) as handle:
        creds = json.load(handle)
    headers = {
        "Authorization": f"Bearer {creds['accessToken']}",
        "x-api-key": creds["clientId"],
        "x-gw-ims-org-id": creds["imsOrgId"],
        "x-sandbox-name": creds["sandboxName"],
    }
    flow = f"{base_url}/data/foundation/flowservice"
    body = {
        "name": "Salesforce Connection",
        "description": "Connection for Salesforce account",
        "auth": {
            "specName": "Basic Authentication",
            "params": {"username": username, "password": password, "securityToken": security_token},
        },
        "connectionSpec": {"id": SALESFORCE, "version": "1.0"},
    }
    created = httpx.post(f"{flow}/connections", json=body, headers=headers)
    created.raise_for_status()
    print(json.dumps(created.json()))
    got = httpx.get(f"{flow}/connections/{created.json()['id']}", headers=headers)
    got.raise_for_status()
    print(json.dumps(got.json()["items"][0], indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
