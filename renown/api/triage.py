"""``/v1/triage``: the care queue, marking mentions answered, and the fairness simulation (brands, admins)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from renown import triage
from renown.api.deps import Context, context, role
from renown.api.keys import ApiKey

router = APIRouter(prefix="/v1/triage", tags=["care triage"])


class HandledIn(BaseModel):
    event_ids: list[str] = Field(..., min_length=1, max_length=1000)


@router.get("/queue")
def care_queue(term: list[str] = Query(..., min_length=1, max_length=20, description="brand handle, name or hashtag"),
               audience: str | None = None, since: date | None = None, limit: int = Query(50, ge=1, le=500),
               key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> dict:
    """Open brand mentions in the order to answer them, with the policy that orders them."""
    from renown.score.run import end_of_day

    terms = [t for t in term if t.strip()]
    if not terms:
        raise HTTPException(422, "term: name at least one non-empty brand term")
    return triage.queue(ctx.store, terms, audience, end_of_day(since) if since else None, limit=limit, url=ctx.db_url)


@router.post("/handled")
def handled(body: HandledIn, key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> dict:
    """Mark mentions as answered: they leave the queue."""
    return {"marked": triage.mark_handled(ctx.store, body.event_ids, key.name, ctx.db_url)}


@router.get("/fairness")
def fairness(agents: int = Query(3, ge=1, le=100), handle_minutes: float = Query(10.0, ge=1, le=240),
             per_hour: float = Query(14.0, gt=0, le=500), days: float = Query(7.0, gt=0, le=7), seed: int = Query(1, ge=0, le=2**31 - 1),
             audience: str | None = None, key: ApiKey = Depends(role("admin", "brand")),
             ctx: Context = Depends(context)) -> dict:
    """Waits and SLA breaches by reach decile on a simulated load: renown's policy vs reach-first and FIFO."""
    return triage.fairness_report(ctx.store, agents, handle_minutes, per_hour, days, seed, audience, ctx.db_url)
