"""Every query shape at 1M records: all Account fields over REST, and Bulk 1.0 with ORDER BY
LastModifiedDate (what dlt's verified source sends). With the old hard-coded 64 MB DuckDB limit the
first answered 500 and the second never finished. Runs in ~30 s on 2 cores, so it stays in the suite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import httpx
import pytest

from headwater.emulators.salesforce.catalog import ACCOUNT
from headwater.emulators.salesforce.testing import RunningEmulator, running_emulator

ROWS = 1_000_000
V = "/services/data/v62.0"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmulator, httpx.Client]]:
    folder = Path(tmp_path_factory.mktemp("sf1m"))
    with (
        running_emulator(folder, rows={"Account": ROWS}) as sf,
        httpx.Client(base_url=sf.url, verify=sf.ssl_context(), timeout=120) as http,
    ):
        form = {
            "grant_type": "client_credentials",
            "client_id": sf.client_id,
            "client_secret": sf.client_secret,
        }
        token = http.post("/services/oauth2/token", data=form).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        http.headers["X-SFDC-Session"] = token
        yield sf, http


def test_rest_query_of_every_account_field(big: tuple[RunningEmulator, httpx.Client]) -> None:
    sf, http = big
    fields = [f.name for f in ACCOUNT.fields]
    first = http.get(f"{V}/queryAll", params={"q": f"SELECT {', '.join(fields)} FROM Account"})
    assert first.status_code == 200, first.text[:500]
    body = first.json()
    assert body["totalSize"] == ROWS and len(body["records"]) == 2000 and not body["done"]
    assert set(body["records"][0]) == {"attributes", *fields}
    # the frozen cursor serves any page; jump to the last one (its locator is the offset)
    cursor = body["nextRecordsUrl"].rsplit("-", 1)[0]
    last = http.get(f"{cursor}-{ROWS - 100}").json()
    assert last["done"] is True and "nextRecordsUrl" not in last
    truth = sf.sql('SELECT "Id" FROM "Account" ORDER BY "Id" DESC LIMIT 100')
    assert [r["Id"] for r in last["records"]] == [t[0] for t in reversed(truth)]


def test_bulk_v1_query_all_ordered_by_last_modified(big: tuple[RunningEmulator, httpx.Client]) -> None:
    sf, http = big
    fields = [f.name for f in ACCOUNT.fields if f.type not in ("address", "location")]
    job = http.post(
        "/services/async/62.0/job",
        json={"operation": "queryAll", "object": "Account", "contentType": "JSON", "concurrencyMode": 0},
    ).json()
    soql = f"SELECT {', '.join(fields)} FROM Account ORDER BY LastModifiedDate ASC"
    batch = http.post(
        f"/services/async/62.0/job/{job['id']}/batch",
        content=soql,
        headers={"Content-Type": "application/json"},
    ).json()
    http.post(f"/services/async/62.0/job/{job['id']}", json={"state": "Closed"})
    deadline = time.monotonic() + 120
    info = batch
    while info["state"] in ("Queued", "InProgress") and time.monotonic() < deadline:
        time.sleep(0.2)
        info = http.get(f"/services/async/62.0/job/{job['id']}/batch/{batch['id']}").json()
    assert info["state"] == "Completed", info
    assert info["numberRecordsProcessed"] == ROWS
    results = http.get(f"/services/async/62.0/job/{job['id']}/batch/{batch['id']}/result").json()
    assert len(results) == ROWS // 10_000
    head = http.get(f"/services/async/62.0/job/{job['id']}/batch/{batch['id']}/result/{results[0]}").json()
    tail = http.get(f"/services/async/62.0/job/{job['id']}/batch/{batch['id']}/result/{results[-1]}").json()
    stamps = [r["LastModifiedDate"] for r in head + tail]
    assert stamps == sorted(stamps) and isinstance(stamps[0], int)  # epoch ms, ascending across the result
    oldest, newest = sf.sql('SELECT min("LastModifiedDate"), max("LastModifiedDate") FROM "Account"')[0]
    assert stamps[0] == int(oldest.replace(tzinfo=UTC).timestamp() * 1000)  # stored as naive UTC
    assert stamps[-1] == int(newest.replace(tzinfo=UTC).timestamp() * 1000)
    assert set(head[0]) == {"attributes", *fields}
