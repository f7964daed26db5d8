"""Orgs and sandboxes are isolated: another org, or sandbox dev of the same org, cannot see, list,
count, change or delete a prod connection; it gets 404 so existence does not leak."""

from __future__ import annotations

import pytest
from api_support import Caller, assert_flow_error, create_connection


@pytest.fixture(params=["other org", "dev sandbox"])
def outsider(request: pytest.FixtureRequest, caller: Caller, other_org: Caller) -> Caller:
    return other_org if request.param == "other org" else caller.in_sandbox("dev")


def test_outsider_cannot_touch_a_prod_connection(caller: Caller, outsider: Caller) -> None:
    created = create_connection(caller)
    path = f"/connections/{created['id']}"
    assert_flow_error(outsider.get(path), "1439-404")
    assert outsider.get("/connections").json()["items"] == []
    assert outsider.get(f"/connections?property=id=={created['id']}").json()["items"] == []
    assert outsider.get("/connections?count=true").json() == {"count": 0}
    ops = [{"op": "replace", "path": "/name", "value": "hijacked"}]
    assert_flow_error(outsider.patch(path, json=ops, headers={"If-Match": created["etag"]}), "1439-404")
    assert_flow_error(outsider.delete(path), "1439-404")
    # still there, unchanged, for its owner
    item = caller.get(path).json()["items"][0]
    assert item["name"] != "hijacked" and item["etag"] == created["etag"]
    assert caller.get("/connections?count=true").json() == {"count": 1}


def test_connection_lives_in_its_sandbox(caller: Caller) -> None:
    dev = caller.in_sandbox("dev")
    created = create_connection(dev)
    assert dev.get(f"/connections/{created['id']}").json()["items"][0]["sandboxName"] == "dev"
    assert_flow_error(caller.get(f"/connections/{created['id']}"), "1439-404")
