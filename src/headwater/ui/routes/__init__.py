"""The UI's pages, one module per area. Add a module's router to ``ROUTERS``."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.ui.routes import accounts, datasets, flows, session, sources

ROUTERS: list[APIRouter] = [session.router, sources.router, accounts.router, flows.router, datasets.router]
