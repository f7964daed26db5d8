"""``GET /connections`` filters, ordering, paging and counting (contract §4), and their 14xx errors."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from api_support import Caller, assert_flow_error, basic_connection, create_connection


@pytest.fixture
def three(caller: Caller) -> list[str]:
    ids = []
    for name in ("beta", "alpha", "gamma"):
        ids.append(create_connection(caller, basic_connection(name))["id"])
    patched = caller.patch(
        f"/connections/{ids[2]}",
        json=[{"op": "add", "path": "/description", "value": "third"}],
        headers={"If-Match": caller.get(f"/connections/{ids[2]}").json()["items"][0]["etag"]},
    )
    assert patched.status_code == 200
    return ids


def names(caller: Caller, query: str) -> list[str]:
    response = caller.get(f"/connections?{query}")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_list_all_in_creation_order(caller: Caller, three: list[str]) -> None:
    body = caller.get("/connections").json()
    assert [i["id"] for i in body["items"]] == three
    assert body["_links"] == {}
    assert all(i["auth"]["params"]["password"] == "*****" for i in body["items"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('property=name=="alpha"', ["alpha"]),
        ("property=name==alpha", ["alpha"]),
        ("property=name!=alpha", ["beta", "gamma"]),
        ("property=name==alpha,gamma", ["alpha", "gamma"]),
        ("property=name=='alpha',\"beta\"", ["beta", "alpha"]),
        ("property=auth.params.username==sf-user&property=name==beta", ["beta"]),
        ("property=connectionSpec.id==cfc0fee1-7dc0-40ef-b73e-d8b134c436f5", ["beta", "alpha", "gamma"]),
        ("property=description==third", ["gamma"]),
        ("property=state==enabled", ["beta", "alpha", "gamma"]),
        ("property=name>beta", ["gamma"]),
        ("property=name<=beta", ["beta", "alpha"]),
        ("property=name==nobody", []),
    ],
)
def test_property_filters(caller: Caller, three: list[str], query: str, expected: list[str]) -> None:
    assert names(caller, query) == expected


def test_time_range_filters(caller: Caller, three: list[str]) -> None:
    items = caller.get("/connections").json()["items"]
    first = items[0]["createdAt"]
    assert names(caller, f"property=createdAt>={first}") == ["beta", "alpha", "gamma"]
    assert names(caller, f"property=createdAt<{first}") == []
    assert len(names(caller, f"property=updatedAt>{items[2]['createdAt'] - 1}")) >= 1


def test_array_paths(caller: Caller) -> None:
    # specs hold arrays; the same machinery serves every list endpoint
    response = caller.get("/connectionSpecs?property=authSpec[].name==" + quote('"OAuth2 Client Credential"'))
    assert [s["name"] for s in response.json()["items"]] == ["salesforce"]
    response = caller.get(
        "/flowSpecs?property=sourceConnectionSpecIds[]==cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
    )
    assert [s["name"] for s in response.json()["items"]] == ["CRMToAEP"]


def test_booleans_any_case(caller: Caller) -> None:
    for value in ("true", "TRUE", "True"):
        response = caller.get(f"/connectionSpecs?property=attributes.isSource=={value}")
        assert [s["name"] for s in response.json()["items"]] == ["salesforce"]


@pytest.mark.parametrize(
    ("orderby", "expected"),
    [
        ("name", ["alpha", "beta", "gamma"]),
        ("%2Bname", ["alpha", "beta", "gamma"]),
        ("+name", ["alpha", "beta", "gamma"]),
        ("-name", ["gamma", "beta", "alpha"]),
        ("-createdAt", ["gamma", "alpha", "beta"]),
    ],
)
def test_orderby(caller: Caller, three: list[str], orderby: str, expected: list[str]) -> None:
    assert names(caller, f"orderby={orderby}") == expected


def test_paging_follows_next_links(caller: Caller, three: list[str]) -> None:
    body = caller.get("/connections?limit=2&orderby=-name&property=state==enabled").json()
    assert [i["name"] for i in body["items"]] == ["gamma", "beta"]
    href = body["_links"]["next"]["href"]
    assert href.startswith("/connections?continuationToken=")
    token = href.split("=", 1)[1]
    assert "=" not in token and "&" not in token
    second = caller.get(href).json()
    assert [i["name"] for i in second["items"]] == ["alpha"] and second["_links"] == {}
    # aepp re-sends its limit beside the token
    again = caller.get(f"{href}&limit=20").json()
    assert [i["name"] for i in again["items"]] == ["alpha"]


def test_count(caller: Caller, three: list[str]) -> None:
    assert caller.get("/connections?count=true").json() == {"count": 3}
    assert caller.get("/connections?count=TRUE&property=name!=alpha").json() == {"count": 2}
    assert names(caller, "count=False") == ["beta", "alpha", "gamma"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=2&count=true", "1401-400"),
        ("property=name~alpha", "1440-400"),
        ("property=name!>alpha", "1450-400"),
        ("property=name=>alpha", "1450-400"),
        ("property=name<=alpha,beta", "1443-400"),
        ("property=name!=alpha,beta", "1443-400"),
        ("property=%23bad==1", "1449-400"),
        ("property=na%20me==1", "1449-400"),
        ("testParam=1", "1451-400"),
        ("property=createdAt==1676643256,abc", "1452-400"),
        ("property=createdAt==", "1453-400"),
        ("property=name", "1453-400"),
        ("limit=abc", "1453-400"),
        ("limit=0", "1453-400"),
        ("count=maybe", "1453-400"),
        ("continuationToken=%25%25garbage", "1453-400"),
        ("orderby=*name", "1432-400"),
        ("orderby=%23id", "1433-400"),
        ("orderby=na%20me", "1433-400"),
    ],
)
def test_bad_list_queries(caller: Caller, three: list[str], query: str, code: str) -> None:
    assert_flow_error(caller.get(f"/connections?{query}"), code)
