"""What every route depends on: the store, the caller's key and its role.

The application's state lives on ``app.state.renown`` (a :class:`Context`), so
routers are plain module-level objects and tests build as many apps as they
like.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Depends, HTTPException, Request

from renown.api.keys import ApiKey, verify
from renown.store import Store

if TYPE_CHECKING:
    from renown.jobs import Jobs

#: Requests per second per key, and the burst a key may spend at once.
RATE, BURST = 50.0, 100.0
#: The dashboard keeps the key it was given at sign-in in this cookie.
COOKIE = "renown_key"


class RateLimiter:
    """A token bucket per key: ``rate`` per second, up to ``burst``."""

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


@dataclass
class Context:
    store: Store
    db_url: str | None
    limiter: RateLimiter
    _jobs: "Jobs | None" = None

    @property
    def jobs(self) -> "Jobs":
        """The job runner, started on first use (most requests never need it)."""
        if self._jobs is None:
            from renown.jobs import Jobs

            self._jobs = Jobs(self.store, self.db_url)
        return self._jobs

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()


def context(request: Request) -> Context:
    return request.app.state.renown


def authenticate(ctx: Context, presented: str) -> ApiKey:
    """The key behind ``presented``, rate-limited; 401/429 otherwise."""
    key = verify(ctx.store, presented, ctx.db_url) if presented else None
    if key is None:
        raise HTTPException(401, "a valid API key is required (Authorization: Bearer rk_...)")
    if not ctx.limiter.allow(key.id):
        raise HTTPException(429, "rate limit exceeded: slow down")
    return key


def caller(request: Request, ctx: Context = Depends(context)) -> ApiKey:
    header = request.headers.get("authorization", "")
    presented = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.headers.get("x-api-key", "")
    return authenticate(ctx, presented)


def role(*allowed: str):
    """A dependency that admits only keys with one of ``allowed`` roles."""

    def check(key: ApiKey = Depends(caller)) -> ApiKey:
        if key.role not in allowed:
            raise HTTPException(403, f"this needs one of the roles: {', '.join(allowed)}")
        return key

    return check


def brand_of(key: ApiKey) -> str | None:
    """The brand a key acts for: its name; None for an admin, who may act for any brand."""
    return None if key.role == "admin" else key.name


def only_the_person(account: str, key: ApiKey, action: str) -> None:
    """Some acts are the person's alone (consent, accepting a perk): not even an admin's."""
    if not (key.role == "person" and key.account == account):
        raise HTTPException(403, f"only the person themself can {action}")


def own_or_admin(account: str, key: ApiKey) -> None:
    """Only the person themself (a person key bound to ``account``) or an admin."""
    if key.role == "admin" or (key.role == "person" and key.account == account):
        return
    raise HTTPException(403, "only the person themself (a person key for this account) or an admin may do this")
