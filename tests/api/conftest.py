"""API fixtures: the same app on SQLite and on PostgreSQL (a fresh schema per test session).

The fixtures and helpers live in ``api_support`` (a uniquely named module), so test modules import
helpers from there: several test folders have a ``conftest`` module and that name is ambiguous.
"""

from api_support import *  # noqa: F403  (fixtures are registered by being present here)
