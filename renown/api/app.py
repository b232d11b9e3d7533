"""The application: error bodies, the resource routers and the dashboard.

Errors, all JSON ``{"error": {"code", "message"}}`` and never a stack trace:
401 ``unauthorized`` (no or bad key), 403 ``forbidden`` (role, ownership, or no consent),
404 ``not_found`` (unknown account, topic, snapshot, campaign or job), 422
``invalid_request`` (a parameter, named), 429 ``rate_limited``, 400
``bad_request`` (any other :class:`~renown.errors.RenownError`), 500
``internal`` (logged server-side).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from renown import __version__
from renown.api.deps import BURST, RATE, Context, RateLimiter
from renown.consent import ConsentRequired
from renown.errors import RenownError
from renown.jobs import UnknownJob
from renown.perks import UnknownCampaign
from renown.score import snapshots
from renown.score.report import UnknownAccount
from renown.store import Store

log = logging.getLogger("renown.api")


def _error(status: int, code: str, message: str, request: Request | None = None) -> Response:
    if request is not None and request.url.path.startswith("/ui"):
        from renown.web.pages import error_page

        return error_page(request, status, message)
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def create_app(store: Store, db_url: str | None = None, rate: float = RATE, burst: float = BURST) -> FastAPI:
    context = Context(store, db_url, RateLimiter(rate, burst))
    snapshots.hold_in_memory()  # a server answers many look-ups per snapshot: index each file once

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        context.close()

    app = FastAPI(title="renown", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Open, explainable influence scores. Every endpoint needs an API key; "
                              "the dashboard is at /ui.")
    app.state.renown = context

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "rate_limited"}
        return _error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail), request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}", request)

    @app.exception_handler(ConsentRequired)
    async def no_consent(request: Request, exc: ConsentRequired) -> Response:
        return _error(403, "forbidden", str(exc), request)

    @app.exception_handler(UnknownAccount)
    @app.exception_handler(UnknownCampaign)
    @app.exception_handler(UnknownJob)
    @app.exception_handler(snapshots.NoSnapshot)
    async def not_found(request: Request, exc: RenownError) -> Response:
        return _error(404, "not_found", str(exc), request)

    @app.exception_handler(RenownError)
    async def domain_error(request: Request, exc: RenownError) -> Response:
        return _error(400, "bad_request", str(exc), request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, "internal", "something went wrong on our side; it has been logged", request)

    from renown.api import accounts, admin, campaigns, endorsements, jobs, leaderboard, people, privacy, triage
    from renown.web import pages

    @app.exception_handler(pages.SignInRequired)
    async def sign_in(request: Request, exc: pages.SignInRequired) -> Response:
        from urllib.parse import urlencode

        return RedirectResponse("/ui/login?" + urlencode({"next": exc.next_path}), status_code=303)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    for module in (accounts, leaderboard, endorsements, people, campaigns, triage, privacy, jobs, admin, pages):
        app.include_router(module.router)
    app.mount("/ui/static", StaticFiles(directory=pages.STATIC), name="static")
    _self_hosted_docs(app)
    return app


def _self_hosted_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from the assets the ``fastapi-offline`` package ships (Swagger UI 5,
    which reads OpenAPI 3.1), not a CDN: the API's documentation works without internet, like
    the dashboard."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="renown API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon.png")
