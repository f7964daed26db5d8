"""The metadata store: SQLAlchemy tables, repositories, Alembic migrations, secret encryption.

Imports only ``headwater.core``. Repository functions take a session and never import a web framework.
"""
