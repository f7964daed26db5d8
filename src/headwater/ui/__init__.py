"""The web UI, served by ``headwater serve`` at ``/`` (pages under ``/ui``).

A sub-application with its own session middleware, so the API's hot path pays nothing for it.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from headwater.api.error_codes import status_of
from headwater.api.state import AppState
from headwater.core.errors import DomainError, HeadwaterError
from headwater.ui import web
from headwater.ui.routes import ROUTERS

UI_PREFIX = "/ui"
SESSION_MAX_AGE = 8 * 3600


def build_ui(state: AppState) -> FastAPI:
    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(web.verify_csrf)])
    ui.state.headwater = state
    ui.add_middleware(
        SessionMiddleware,
        secret_key=state.ui_session_key,
        session_cookie=web.SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        path=UI_PREFIX,
        same_site="lax",
        https_only=state.settings.ui_secure_cookies,
    )
    ui.mount("/static", StaticFiles(packages=[("headwater.ui", "static")]), name="static")
    for router in ROUTERS:
        ui.include_router(router)

    @ui.exception_handler(web.LoginRequired)
    async def to_sign_in(request: Request, exc: Exception) -> Response:
        target = f"{UI_PREFIX}/login"
        if request.method == "GET" and request.url.path != target:
            target += f"?next={request.url.path}"
        if web.is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @ui.exception_handler(web.CsrfRejected)
    async def csrf_rejected(request: Request, exc: Exception) -> HTMLResponse:
        message = "This form has expired or did not come from Headwater. Reload the page and try again."
        return web.page(request, "error.html", {"title": "Form expired", "message": message}, status_code=403)

    @ui.exception_handler(HeadwaterError)
    async def service_error(request: Request, exc: Exception) -> HTMLResponse:
        """A service refused (not found, invalid): its readable message on a page, never a 500."""
        status = status_of(exc) if isinstance(exc, DomainError) else 400
        title = "Not found" if status == 404 else "Not possible"
        return web.page(
            request, "error.html", {"title": title, "message": web.error_text(exc)}, status_code=status
        )

    @ui.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = "Page not found" if exc.status_code == 404 else "Request not accepted"
        message = str(exc.detail) if exc.status_code != 404 else "There is no page at this address."
        return web.page(
            request, "error.html", {"title": title, "message": message}, status_code=exc.status_code
        )

    return ui


def install_ui(app: FastAPI, state: AppState) -> None:
    """Mount the UI at ``/ui`` and send ``/`` there."""
    app.mount(UI_PREFIX, build_ui(state))

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{UI_PREFIX}/", status_code=307)
