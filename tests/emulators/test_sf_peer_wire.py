"""What the peers' unmodified clients rely on: header names spelled as Salesforce spells them,
Bulk API 1.0 CSV jobs (tap-salesforce's default), and Bulk 1.0 batches that always end."""

from __future__ import annotations

import csv
import http.client
import io
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.emulators.salesforce.testing import RunningEmulator, running_emulator

NS = "{http://www.force.com/2009/06/asyncapi/dataload}"
ASYNC = "/services/async/62.0"


def _token(sf: RunningEmulator) -> str:
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context()) as http:
        body = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
            },
        ).json()
    return str(body["access_token"])


def _raw_headers(sf: RunningEmulator, path: str, token: str) -> list[tuple[str, str]]:
    host, port = sf.host.rsplit(":", 1)
    connection = http.client.HTTPSConnection(host, int(port), context=sf.ssl_context())
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        return response.getheaders()  # names exactly as they came over the wire
    finally:
        connection.close()


def test_header_names_are_spelled_as_salesforce_spells_them(salesforce_emulator: RunningEmulator) -> None:
    sf = salesforce_emulator
    token = _token(sf)
    with httpx.Client(base_url=sf.url, verify=sf.ssl_context()) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        job = http.post(
            "/services/data/v62.0/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
        ).json()
        for _ in range(200):
            if http.get(f"/services/data/v62.0/jobs/query/{job['id']}").json()["state"] == "JobComplete":
                break
            time.sleep(0.05)
    names = [
        name
        for name, _ in _raw_headers(
            sf, f"/services/data/v62.0/jobs/query/{job['id']}/results?maxRecords=100", token
        )
    ]
    for expected in ("Sforce-Locator", "Sforce-NumberOfRecords", "Sforce-Limit-Info", "Content-Type", "Date"):
        assert expected in names, names
    assert not any(name.islower() for name in names), names
    plain = dict(_raw_headers(sf, "/services/data/v62.0/limits", token))  # a case-sensitive lookup works
    assert plain["Sforce-Limit-Info"].startswith("api-usage=")


def _wait_batch(http: httpx.Client, job_id: str, batch_id: str) -> ET.Element:
    for _ in range(400):
        info = ET.fromstring(http.get(f"{ASYNC}/job/{job_id}/batch/{batch_id}").text)
        if info.findtext(f"{NS}state") in ("Completed", "Failed", "Not Processed"):
            return info
        time.sleep(0.05)
    raise AssertionError("the batch never ended")


def _csv_job(http: httpx.Client, soql: str, sobject: str = "Account") -> tuple[str, str]:
    job = http.post(
        f"{ASYNC}/job",
        content=f'{{"operation": "queryAll", "object": "{sobject}", "contentType": "CSV"}}',
        headers={"Content-Type": "application/json"},
    )
    assert job.status_code == 201 and job.json()["contentType"] == "CSV"
    batch = http.post(
        f"{ASYNC}/job/{job.json()['id']}/batch", content=soql, headers={"Content-Type": "text/csv"}
    )
    assert batch.status_code == 201 and batch.headers["content-type"].startswith("application/xml")
    batch_id = ET.fromstring(batch.text).findtext(f"{NS}id")
    assert batch_id is not None and batch_id.startswith("751")
    return job.json()["id"], batch_id


def _async_client(sf: RunningEmulator) -> httpx.Client:
    return httpx.Client(
        base_url=sf.url, verify=sf.ssl_context(), headers={"X-SFDC-Session": _token(sf)}, timeout=60
    )


def test_bulk_v1_csv_job_as_tap_salesforce_runs_it(salesforce_emulator: RunningEmulator) -> None:
    sf = salesforce_emulator
    gone = sf.sql('SELECT "Id" FROM "Account" ORDER BY "Id" LIMIT 1')[0][0]
    sf.delete("Account", gone)
    with _async_client(sf) as http:
        soql = "SELECT Id, Name, CreatedDate, AnnualRevenue, IsDeleted FROM Account ORDER BY SystemModstamp"
        job_id, batch_id = _csv_job(http, soql)
        closed = http.post(
            f"{ASYNC}/job/{job_id}",
            content='{"state": "Closed"}',
            headers={"Content-Type": "application/json"},
        )
        assert closed.json()["state"] == "Closed"
        info = _wait_batch(http, job_id, batch_id)
        assert (
            info.findtext(f"{NS}state") == "Completed"
            and info.findtext(f"{NS}numberRecordsProcessed") == "500"
        )
        listing = ET.fromstring(http.get(f"{ASYNC}/job/{job_id}/batch").text)
        assert [b.findtext(f"{NS}id") for b in listing.iter(f"{NS}batchInfo")] == [batch_id]
        results = ET.fromstring(http.get(f"{ASYNC}/job/{job_id}/batch/{batch_id}/result").text)
        assert results.tag == f"{NS}result-list"
        rows: list[dict[str, Any]] = []
        for result_id in (r.text for r in results.iter(f"{NS}result")):
            page = http.get(f"{ASYNC}/job/{job_id}/batch/{batch_id}/result/{result_id}")
            assert page.headers["content-type"].startswith("text/csv")
            assert page.text.startswith('"Id","Name","CreatedDate","AnnualRevenue","IsDeleted"')
            rows.extend(csv.DictReader(io.StringIO(page.text)))
    truth = sf.sql('SELECT "Id", "Name", "CreatedDate" FROM "Account" ORDER BY "SystemModstamp", "Id"')
    assert [r["Id"] for r in rows] == [t[0] for t in truth]  # queryAll: the deleted one too, in order
    assert [r["IsDeleted"] for r in rows if r["Id"] == gone] == ["true"]
    first = truth[0][2]
    assert (
        rows[0]["CreatedDate"] == first.strftime("%Y-%m-%dT%H:%M:%S.") + f"{first.microsecond // 1000:03d}Z"
    )


def test_bulk_v1_batch_fails_instead_of_hanging(tmp_path: Path) -> None:
    """A database failure while the batch runs ends it as Failed with Salesforce's message layout
    (64 MB was the old hard-coded limit; here a tiny one makes the sort fail for real)."""
    with (
        running_emulator(tmp_path, rows={"Account": 20_000}, memory_limit="2MB") as sf,
        _async_client(sf) as http,
    ):
        job_id, batch_id = _csv_job(http, "SELECT Id, Description, Name FROM Account ORDER BY Name")
        info = _wait_batch(http, job_id, batch_id)
        assert info.findtext(f"{NS}state") == "Failed"
        message = info.findtext(f"{NS}stateMessage") or ""
        assert message.startswith("InvalidBatch : Failed to process query: UNKNOWN_EXCEPTION")
        json_job = http.post(
            f"{ASYNC}/job",
            content='{"operation": "query", "object": "Account", "contentType": "JSON"}',
            headers={"Content-Type": "application/json"},
        ).json()
        batch = http.post(
            f"{ASYNC}/job/{json_job['id']}/batch",
            content="SELECT Id, Description FROM Account ORDER BY Name",
            headers={"Content-Type": "application/json"},
        ).json()
        for _ in range(400):
            state = http.get(f"{ASYNC}/job/{json_job['id']}/batch/{batch['id']}").json()
            if state["state"] != "InProgress" and state["state"] != "Queued":
                break
            time.sleep(0.05)
        assert state["state"] == "Failed" and "UNKNOWN_EXCEPTION" in state["stateMessage"]


@pytest.mark.parametrize("bad", ["64", "lots", "12 parsecs"])
def test_memory_limit_is_checked(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="memory limit"), running_emulator(tmp_path, memory_limit=bad):
        pass
