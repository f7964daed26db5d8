"""The standard connector suite, run on the Salesforce connector for several objects and both specs."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.api.error_codes import code_of
from headwater.connectors.registry import SALESFORCE_SPEC_ID, connector_class
from headwater.connectors.salesforce import SalesforceConnector
from headwater.connectors.testing import check_connector
from headwater.core.errors import DomainError


@pytest.mark.parametrize(
    ("spec", "table"), [("basic", "Account"), ("oauth", "Invoice__c"), ("basic", "User")]
)
def test_standard_suite(make_connector: Any, spec: str, table: str) -> None:
    check_connector(make_connector(spec), table)


def test_registry_maps_the_spec_id() -> None:
    assert connector_class(SALESFORCE_SPEC_ID) is SalesforceConnector
    with pytest.raises(DomainError) as info:
        connector_class("c604ff05-7f1a-43c0-8e18-33bf874cb11c")
    assert code_of(info.value)[0] == "1336-400"
