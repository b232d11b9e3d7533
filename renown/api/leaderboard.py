"""``/v1/leaderboard``: discovery by topic, audience, score range, network and name; paginated."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query

from renown.api.deps import Context, context, role
from renown.api.keys import ApiKey

router = APIRouter(prefix="/v1/leaderboard", tags=["leaderboards"])


def ranking(ctx: Context, key: ApiKey, *, limit: int = 20, offset: int = 0, topic: str | None = None,
            audience: str | None = None, min_score: int = 1, max_score: int = 100, network: str | None = None,
            q: str | None = None, as_of: date | None = None) -> list[dict]:
    """One page of the ranking the filters select (ranks stay those of the unfiltered board)."""
    from renown.score.report import Filter, top, top_topic

    where = Filter(min_score, max_score, network, q)
    if audience is None and topic is None:
        return top(ctx.store, limit, as_of, offset=offset, where=where)
    wanted = None if where.narrows else offset + limit  # a filter may keep rows from anywhere in the ranking
    if audience is not None:
        if key.role == "person":
            raise HTTPException(403, "audiences belong to brands: this needs the brand or admin role")
        from renown.audience import top_in_audience

        rows = top_in_audience(ctx.store, audience, wanted, as_of, ctx.db_url, topic=topic)
    else:
        rows = top_topic(ctx.store, topic, wanted, as_of)
    return where.rows(ctx.store, rows)[offset:offset + limit]


@router.get("")
def leaderboard(limit: int = Query(20, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                topic: str | None = None, audience: str | None = None, min_score: int = Query(1, ge=1, le=100),
                max_score: int = Query(100, ge=1, le=100), network: str | None = None,
                q: str | None = Query(None, max_length=200, description="part of a handle or account key"),
                as_of: date | None = None, key: ApiKey = Depends(role("admin", "brand", "person")),
                ctx: Context = Depends(context)) -> dict:
    """Leaderboard, filtered by topic, audience (brands and admins), score range, network and name; paginated."""
    items = ranking(ctx, key, limit=limit, offset=offset, topic=topic, audience=audience, min_score=min_score,
                    max_score=max_score, network=network, q=q, as_of=as_of)
    return {"items": items, "offset": offset, "limit": limit}
