"""Salesforce connector (imports only ``headwater.core``); see README.md for its invariants."""

from .connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
