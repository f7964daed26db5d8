"""Headwater: an open-source, self-hosted Flow Service."""

__version__ = "0.1.0"
