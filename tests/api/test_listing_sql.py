"""Every ``property`` form of the contract (§4), compiled to SQL, on SQLite and PostgreSQL; exact counts
past 10,000; keyset pages; continuation tokens that cannot be forged.

Rows are written straight into the store (``store.testing``) in the caller's own org, then read through
the API, so each form is checked against known data.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import sqlalchemy as sa
from api_support import Caller, assert_flow_error
from fastapi import FastAPI

from headwater.store.models import Flow, SourceConnection, TargetConnection
from headwater.store.runtime_tables import runs
from headwater.store.testing import DATA_LAKE, SALESFORCE, flow_values, run_values

T0 = 1_593_134_665_000  # the contract's example time (ms)


@dataclass
class World:
    flows: dict[str, str]  # label -> id
    sources: dict[str, str]
    runs: dict[str, str]


def _connection_row(
    model: type[Any], caller: Caller, row_id: str, spec: str, **columns: Any
) -> dict[str, Any]:
    values = flow_values(row_id, caller.org_id, caller.sandbox, {})
    keep = {c.name for c in model.__table__.columns}
    base = {k: v for k, v in values.items() if k in keep}
    return {**base, "connection_spec_id": spec, "connection_spec_version": "1.0", **columns}


@pytest.fixture
def world(app: FastAPI, caller: Caller) -> World:
    org, sandbox = caller.org_id, caller.sandbox
    tag = caller.org_id[:8]
    sources = {"lead": f"{tag}-s-lead", "account": f"{tag}-s-account"}
    targets = {"one": f"{tag}-t-one", "two": f"{tag}-t-two"}
    flows = {"f1": f"{tag}-f1", "f2": f"{tag}-f2", "f3": f"{tag}-f3"}
    selectors = {"segmentSelectors": {"selectors": [{"value": {"id": "seg-1"}}, {"value": {"id": "seg-2"}}]}}
    with app.state.headwater.engine.begin() as conn:
        for table, sid in (("lead", sources["lead"]), ("Account", sources["account"])):
            conn.execute(
                sa.insert(SourceConnection).values(
                    **_connection_row(
                        SourceConnection,
                        caller,
                        sid,
                        SALESFORCE,
                        base_connection_id=None,
                        data={"format": "tabular"},
                        params={"tableName": table, "columns": [{"name": "Id"}]},
                        provider_ref_id=None,
                    )
                )
            )
        for tid in targets.values():
            conn.execute(
                sa.insert(TargetConnection).values(
                    **_connection_row(
                        TargetConnection,
                        caller,
                        tid,
                        DATA_LAKE,
                        base_connection_id=None,
                        data={},
                        params={"dataSetId": "d"},
                        dataset_id="d",
                    )
                )
            )
        hourly = {"startTime": "1700000000", "frequency": "hour", "interval": "1"}
        conn.execute(
            sa.insert(Flow),
            [
                flow_values(
                    flows["f1"],
                    org,
                    sandbox,
                    hourly,
                    name="Alpha flow",
                    created_at=T0,
                    source_connection_id=sources["lead"],
                    target_connection_id=targets["one"],
                    transformations=[
                        {"name": "Copy", "params": {"deltaColumn": {"name": "LastModifiedDate"}}},
                        {"name": "Mapping", "params": {"mappingId": "m1", "mappingVersion": 0, **selectors}},
                    ],
                ),
                flow_values(
                    flows["f2"],
                    org,
                    sandbox,
                    {"startTime": 1700000000, "frequency": "day", "interval": 2},
                    name="beta flow",
                    state="disabled",
                    created_at=T0 + 1,
                    source_connection_id=sources["account"],
                    target_connection_id=targets["two"],
                    transformations=[{"name": "Mapping", "params": {"mappingId": "m2"}}],
                ),
                flow_values(
                    flows["f3"],
                    org,
                    sandbox,
                    hourly,
                    name="Gamma flow",
                    created_at=T0 + 2,
                    source_connection_id=sources["lead"],
                    target_connection_id=targets["two"],
                ),
            ],
        )
        run_rows = {
            "r1": run_values(f"{tag}-r1", flows["f1"], org, sandbox, created_at=T0, records=3),
            "r2": run_values(f"{tag}-r2", flows["f1"], org, sandbox, created_at=T0 + 1000, status="failed"),
            "r3": run_values(f"{tag}-r3", flows["f2"], org, sandbox, created_at=T0 + 2000, records=7),
            "r4": run_values(
                f"{tag}-r4", flows["f3"], org, sandbox, created_at=T0 + 3000, status="scheduled"
            ),
        }
        conn.execute(sa.insert(runs), list(run_rows.values()))
    return World(flows, sources, {label: row["id"] for label, row in run_rows.items()})


def listed(caller: Caller, path: str, *properties: str, **params: str) -> list[str]:
    query = [("property", p) for p in properties] + list(params.items())
    response = caller.get(path, params=query)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def labels(world: World, ids: list[str]) -> list[str]:
    names = {v: k for k, v in {**world.flows, **world.sources, **world.runs}.items()}
    return [names.get(i, i) for i in ids]


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        (("state==enabled",), ["f1", "f3"]),
        (("state!=enabled",), ["f2"]),
        (('name=="Alpha flow"',), ["f1"]),
        (("name==Alpha flow,beta flow",), ["f1", "f2"]),
        (("sourceConnectionIds[]=={lead}",), ["f1", "f3"]),
        (("sourceConnectionIds[]=={account},nope",), ["f2"]),
        (("sourceConnectionIds=={lead}",), ["f1", "f3"]),  # a missing [] on an array is tolerated
        (("targetConnectionIds[]!={one}",), ["f2", "f3"]),
        (("transformations[].params.mappingId==m1",), ["f1"]),
        (("transformations[].params.mappingId==m1,m2",), ["f1", "f2"]),
        (("transformations[].params.segmentSelectors.selectors[].value.id==seg-2",), ["f1"]),
        (("transformations[].params.segmentSelectors.selectors[].value.id==seg-9",), []),
        (("transformations[].name!=Copy",), ["f2", "f3"]),
        (("transformations[].params.mappingVersion==0",), ["f1"]),
        (("scheduleParams.frequency==hour",), ["f1", "f3"]),
        (("scheduleParams.interval==2",), ["f2"]),  # stored as a number
        (("scheduleParams.interval==1",), ["f1", "f3"]),  # stored as a string
        (("scheduleParams.startTime>1600000000",), ["f1", "f2", "f3"]),
        (("inheritedAttributes.properties.isSourceFlow==true",), ["f1", "f2", "f3"]),
        (("inheritedAttributes.properties.isSourceFlow==false",), []),
        (("inheritedAttributes.sourceConnections[].id=={account}",), ["f2"]),
        (("lastRunDetails.state==failed",), ["f1"]),
        (("lastRunDetails.startedAtUTC>={t2}",), ["f2"]),
        (("lastRunDetails.startedAtUTC<{t2}",), ["f1"]),
        (("createdAt>{t0}",), ["f2", "f3"]),
        (("createdAt<={t1}",), ["f1", "f2"]),
        (("state==enabled", "sourceConnectionIds[]=={lead}", "name!=Gamma flow"), ["f1"]),
        (("flowSpec.id==14518937-270c-4525-bdec-c2ba7cce3860",), ["f1", "f2", "f3"]),
    ],
)
def test_flow_filters(caller: Caller, world: World, properties: tuple[str, ...], expected: list[str]) -> None:
    values = {**world.sources, "one": f"{caller.org_id[:8]}-t-one", "t0": T0, "t1": T0 + 1, "t2": T0 + 2000}
    filled = tuple(p.format(**values) for p in properties)
    assert labels(world, listed(caller, "/flows", *filled)) == expected


def test_flow_documents_show_what_the_filters_matched(caller: Caller, world: World) -> None:
    (doc,) = caller.get(f"/flows/{world.flows['f1']}").json()["items"]
    assert doc["lastRunDetails"]["id"] == world.runs["r2"] and doc["lastRunDetails"]["state"] == "failed"
    assert doc["inheritedAttributes"]["properties"] == {"isSourceFlow": True}
    assert doc["sourceConnectionIds"] == [world.sources["lead"]]


@pytest.mark.parametrize(
    ("path", "properties", "expected"),
    [
        ("/sourceConnections", ("params.tableName==lead",), ["lead"]),
        ("/sourceConnections", ("params.tableName!=lead",), ["account"]),
        ("/sourceConnections", ("params.columns[].name==Id",), ["lead", "account"]),
        (
            "/sourceConnections",
            ("data.format==tabular", "connectionSpec.id==" + SALESFORCE),
            ["lead", "account"],
        ),
        ("/runs", ("flowId=={f1}",), ["r2", "r1"]),
        ("/runs", ("state==failed",), ["r2"]),
        ("/runs", ("state==success,scheduled",), ["r4", "r3", "r1"]),
        ("/runs", ("metrics.durationSummary.startedAtUTC>{t}",), ["r3", "r2"]),
        ("/runs", ("metrics.statusSummary.status==success",), ["r3", "r1"]),
        ("/runs", ("metrics.recordSummary.inputRecordCount>=5",), ["r3"]),
        ("/runs", ("metrics.durationSummary.completedAtUTC==null",), ["r4"]),
        ("/runs", ("flowId=={f1}", "state!=failed"), ["r1"]),
    ],
)
def test_source_and_run_filters(
    caller: Caller, world: World, path: str, properties: tuple[str, ...], expected: list[str]
) -> None:
    filled = tuple(p.format(**world.flows, t=T0 + 500) for p in properties)
    assert labels(world, listed(caller, path, *filled)) == expected


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/flows", "property=nosuchfield==1", "1449-400"),
        ("/flows", "property=params.tableName==x", "1449-400"),
        ("/flows", "property=createdAt==yesterday", "1452-400"),
        ("/flows", "property=createdAt>=1,2", "1443-400"),
        ("/flows", "property=name~x", "1440-400"),
        ("/flows", "property=name!>x", "1450-400"),
        ("/flows", "orderby=transformations", "1433-400"),
        ("/runs", "property=activities[].id==copyActivity", "1449-400"),
        ("/runs", "orderby=*createdAt", "1432-400"),
        ("/runs", "limit=0", "1453-400"),
        ("/runs", "limit=5&count=true", "1401-400"),
    ],
)
def test_bad_queries_are_documented_errors(
    caller: Caller, world: World, path: str, query: str, code: str
) -> None:
    assert_flow_error(caller.get(f"{path}?{query}"), code)


def test_order_and_keyset_pages(caller: Caller, world: World) -> None:
    assert labels(world, listed(caller, "/flows", orderby="name")) == ["f1", "f2", "f3"]  # case-insensitive
    assert labels(world, listed(caller, "/flows", orderby="-name")) == ["f3", "f2", "f1"]
    assert labels(world, listed(caller, "/runs", orderby="createdAt")) == ["r1", "r2", "r3", "r4"]
    seen, href, pages = [], f"/runs?limit=1&property={quote('flowId!=none')}", 0
    while href:
        body = caller.get(href).json()
        seen += body["items"]
        href = body["_links"].get("next", {}).get("href")
        pages += 1
    assert labels(world, [run["id"] for run in seen]) == ["r4", "r3", "r2", "r1"] and pages == 4


def test_a_page_does_not_shift_when_rows_are_added(app: FastAPI, caller: Caller, world: World) -> None:
    first = caller.get("/flows", params={"limit": 2, "orderby": "name"}).json()
    with app.state.headwater.engine.begin() as conn:  # sorts before everything already listed
        conn.execute(
            sa.insert(Flow).values(**flow_values("zz-new", caller.org_id, caller.sandbox, {}, name="aaa"))
        )
    second = caller.get(first["_links"]["next"]["href"]).json()
    assert [i["name"] for i in first["items"]] == ["Alpha flow", "beta flow"]
    assert [i["name"] for i in second["items"]] == ["Gamma flow"] and second["_links"] == {}


def _forge(token: str, **changes: Any) -> str:
    body, _, tag = token.partition(".")
    state = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    state.update(changes)
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=") + "." + tag


def test_continuation_tokens_cannot_be_forged(caller: Caller, world: World) -> None:
    page = caller.get("/runs", params={"limit": 1}).json()
    token = page["_links"]["next"]["href"].split("continuationToken=", 1)[1]
    assert caller.get(f"/runs?continuationToken={token}").status_code == 200
    flows_token = caller.get("/flows", params={"limit": 1}).json()["_links"]["next"]["href"].split("=", 1)[1]
    for forged in (
        "abc",
        '{"l":"abc"}',
        "%%%",
        token[:-3],
        token + "x",
        _forge(token, l=-1),
        _forge(token, l="abc"),
        _forge(token, a=["9999999999999", "z"]),
        flows_token,  # minted for another collection
        "",
    ):
        assert_flow_error(caller.get("/runs", params={"continuationToken": forged}), "1453-400")


def test_counts_are_exact_past_ten_thousand(app: FastAPI, caller: Caller, world: World) -> None:
    flow_id, tag = world.flows["f3"], caller.org_id[:8]
    bulk = [
        run_values(f"{tag}-bulk-{i}", flow_id, caller.org_id, caller.sandbox, created_at=T0 + 10_000 + i)
        for i in range(20_000)
    ]
    bulk[7]["status"] = bulk[15_003]["status"] = "failed"
    with app.state.headwater.engine.begin() as conn:
        for start in range(0, len(bulk), 5000):
            conn.execute(sa.insert(runs), bulk[start : start + 5000])
    count = caller.get("/runs", params={"count": "true"}).json()
    assert count == {"count": 20_004}
    failed = caller.get("/runs", params=[("property", "state==failed"), ("count", "true")]).json()
    assert failed == {"count": 3}  # the two bulk failures and r2
    items = listed(caller, "/runs", "state==failed", f"flowId=={flow_id}")
    assert items == [bulk[15_003]["id"], bulk[7]["id"]]
    assert caller.get("/runs", params=[("property", f"flowId=={flow_id}"), ("count", "true")]).json() == {
        "count": 20_001
    }
    pages, seen, href = 0, 0, f"/runs?limit=1000&property=flowId=={flow_id}"
    while href:
        body = caller.get(href).json()
        seen += len(body["items"])
        href = body["_links"].get("next", {}).get("href")
        pages += 1
    assert (seen, pages) == (20_001, 21)
