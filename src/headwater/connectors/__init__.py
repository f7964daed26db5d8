"""Connectors: the contract (``base``), the registry, and one package per source."""
