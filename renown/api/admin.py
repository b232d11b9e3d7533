"""``/v1/admin``: the operator's view of the event log and scoring runs."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from renown.api.deps import Context, context, role
from renown.api.keys import ApiKey
from renown.score import snapshots

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/stats")
def stats(key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    """Event log counts, quarantine and the newest snapshot."""
    result = ctx.store.stats()
    runs = snapshots.runs(ctx.store.root)
    result["latest_snapshot"] = runs[-1].meta if runs else None
    return result
