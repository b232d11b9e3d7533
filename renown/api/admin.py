"""``/v1/admin``: the operator's view of the event log and scoring runs."""

from __future__ import annotations

from dataclasses import asdict, replace

from fastapi import APIRouter, Depends

from renown.api.deps import Context, context, role
from renown import policy
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


@router.get("/policy")
def get_policy(key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    """Who may be scored: only opted-in people or everyone not opted out; minors excluded or not."""
    return asdict(policy.load(ctx.store.root))


@router.put("/policy")
def set_policy(only_opted_in: bool | None = None, exclude_minors: bool | None = None,
               key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    """Change the policy; answers follow at once, scores from the next scoring run."""
    changes = {k: v for k, v in (("only_opted_in", only_opted_in), ("exclude_minors", exclude_minors)) if v is not None}
    updated = replace(policy.load(ctx.store.root), **changes)
    policy.save(ctx.store.root, updated)
    return asdict(updated)


@router.put("/minors/{account}")
def flag_minor(account: str, source: str = "operator", key: ApiKey = Depends(role("admin")),
               ctx: Context = Depends(context)) -> dict:
    """Flag an account as a child's: hidden from every answer, not scored while the policy excludes minors."""
    policy.flag_minor(ctx.store.root, account, source[:200], ctx.db_url)
    return {"account": account, "minor": True}


@router.delete("/minors/{account}")
def unflag_minor(account: str, key: ApiKey = Depends(role("admin")), ctx: Context = Depends(context)) -> dict:
    policy.unflag_minor(ctx.store.root, account, ctx.db_url)
    return {"account": account, "minor": False}
