"""The application: authentication, rate limiting, error bodies, and the routers."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import date

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from renown import __version__
from renown.api.keys import ApiKey, verify
from renown.errors import RenownError
from renown.score import snapshots
from renown.score.report import UnknownAccount
from renown.store import Store

log = logging.getLogger("renown.api")
#: Requests per second per key, and the burst a key may spend at once.
RATE, BURST = 50.0, 100.0


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


class RateLimiter:
    """A token bucket per key: ``RATE`` per second, up to ``BURST``."""

    def __init__(self, rate: float = RATE, burst: float = BURST) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: dict[int, tuple[float, float]] = defaultdict(lambda: (burst, time.monotonic()))

    def allow(self, key_id: int) -> bool:
        tokens, last = self.buckets[key_id]
        current = time.monotonic()
        tokens = min(self.burst, tokens + (current - last) * self.rate)
        if tokens < 1:
            self.buckets[key_id] = (tokens, current)
            return False
        self.buckets[key_id] = (tokens - 1, current)
        return True


def create_app(store: Store, db_url: str | None = None, rate: float = RATE, burst: float = BURST) -> FastAPI:
    app = FastAPI(title="renown", version=__version__,
                  description="Open, explainable influence scores. Every endpoint needs an API key.")
    limiter = RateLimiter(rate, burst)

    def caller(request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        presented = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.headers.get("x-api-key", "")
        key = verify(store, presented, db_url) if presented else None
        if key is None:
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer rk_...)")
        if not limiter.allow(key.id):
            raise HTTPException(429, "rate limit exceeded: slow down")
        return key

    def role(*allowed: str):
        def check(key: ApiKey = Depends(caller)) -> ApiKey:
            if key.role not in allowed:
                raise HTTPException(403, f"this needs one of the roles: {', '.join(allowed)}")
            return key

        return check

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
        return _error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(UnknownAccount)
    @app.exception_handler(snapshots.NoSnapshot)
    async def not_found(request: Request, exc: RenownError) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(RenownError)
    async def domain_error(request: Request, exc: RenownError) -> JSONResponse:
        return _error(400, "bad_request", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, "internal", "something went wrong on our side; it has been logged")

    accounts = APIRouter(prefix="/v1/accounts", tags=["accounts"])

    @accounts.get("/{account}")
    def account_score(account: str, as_of: date | None = None, key: ApiKey = Depends(caller)) -> dict:
        """Score, components (points that add up to the score) and the evidence behind them."""
        from renown.score.report import explain

        return explain(store, account, as_of)

    @accounts.get("/{account}/history")
    def account_history(account: str, key: ApiKey = Depends(caller)) -> list[dict]:
        from renown.score.report import history

        return history(store, account)

    @accounts.get("/{account}/topics")
    def account_topics(account: str, as_of: date | None = None, key: ApiKey = Depends(caller)) -> dict:
        from renown.score.report import topics

        return topics(store, account, as_of)

    leaderboard = APIRouter(prefix="/v1/leaderboard", tags=["leaderboards"])

    @leaderboard.get("")
    def top(limit: int = Query(20, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000), topic: str | None = None,
            audience: str | None = None, min_score: int = Query(1, ge=1, le=100), network: str | None = None,
            as_of: date | None = None, key: ApiKey = Depends(role("admin", "brand", "person"))) -> dict:
        """Leaderboard, filtered by topic, audience (brands and admins), score and network; paginated."""
        from renown.score.report import top as top_rows, top_topic

        filtered = min_score > 1 or network is not None
        wanted = offset + limit if not filtered else 100_000  # filters apply to the whole ranking
        if audience is not None:
            if key.role == "person":
                raise HTTPException(403, "audiences belong to brands: this needs the brand or admin role")
            from renown.audience import top_in_audience

            rows = top_in_audience(store, audience, wanted, as_of, db_url, topic=topic)
        elif topic is not None:
            rows = top_topic(store, topic, wanted, as_of)
        else:
            rows = top_rows(store, wanted, as_of)
        rows = [r for r in rows if r["score"] >= min_score and (network is None or r["account"].startswith(f"{network}:"))]
        return {"items": rows[offset:offset + limit], "offset": offset, "limit": limit}

    privacy = APIRouter(prefix="/v1/privacy", tags=["privacy"])

    def own_or_admin(account: str, key: ApiKey) -> None:
        if key.role == "admin" or (key.role == "person" and key.account == account):
            return
        raise HTTPException(403, "only the person themself (a person key for this account) or an admin may do this")

    @privacy.get("/{account}/export")
    def export_data(account: str, key: ApiKey = Depends(caller)) -> dict:
        """Everything renown holds about the account, as one JSON document."""
        from renown.privacy import export

        own_or_admin(account, key)
        return export(store, account, db_url)

    @privacy.post("/{account}/opt-out")
    def opt_out_account(account: str, key: ApiKey = Depends(caller)) -> dict:
        """Hide the account from every ranking and answer, and stop scoring it."""
        from renown.privacy import opt_out

        own_or_admin(account, key)
        opt_out(store, account, db_url)
        return {"account": account, "opted_out": True}

    @privacy.delete("/{account}")
    def erase(account: str, key: ApiKey = Depends(caller)) -> dict:
        """Erase every trace of the account (events, mentions, snapshots, application data)."""
        from renown.privacy import forget

        own_or_admin(account, key)
        return forget(store, account, db_url)

    admin = APIRouter(prefix="/v1/admin", tags=["admin"])

    @admin.get("/stats")
    def stats(key: ApiKey = Depends(role("admin"))) -> dict:
        """Event log counts, quarantine and the newest snapshot."""
        result = store.stats()
        runs = snapshots.runs(store.root)
        result["latest_snapshot"] = runs[-1].meta if runs else None
        return result

    for router in (accounts, leaderboard, privacy, admin):
        app.include_router(router)
    return app
