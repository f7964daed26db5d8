"""Start the Salesforce emulator in-process, log in with OAuth, run a SOQL query and a Bulk 2.0 job.

Run: ``.venv/bin/python examples/salesforce_emulator_quickstart.py``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from headwater.emulators.salesforce.testing import running_emulator


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as data_dir,
        running_emulator(Path(data_dir), rows={"Account": 1000}) as sf,
        httpx.Client(base_url=sf.url, verify=sf.ssl_context()) as http,
    ):
        token = http.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(sf.client_id, sf.client_secret),
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        soql = "SELECT Id, Name, Owner.Name FROM Account WHERE Industry = 'Banking' ORDER BY Name LIMIT 3"
        for record in http.get("/services/data/v62.0/query", params={"q": soql}).json()["records"]:
            print(record["Id"], repr(record["Name"]), "owned by", record["Owner"]["Name"])

        job = http.post(
            "/services/data/v62.0/jobs/query",
            json={"operation": "query", "query": "SELECT Id, Name FROM Account"},
        ).json()
        while http.get(f"/services/data/v62.0/jobs/query/{job['id']}").json()["state"] != "JobComplete":
            time.sleep(0.05)
        page = http.get(f"/services/data/v62.0/jobs/query/{job['id']}/results", params={"maxRecords": 400})
        print(
            "first Bulk page:",
            page.headers["Sforce-NumberOfRecords"],
            "rows; next locator",
            page.headers["Sforce-Locator"],
        )


if __name__ == "__main__":
    main()
