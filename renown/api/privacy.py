"""``/v1/privacy``: export, opt-out and erasure, by the person themself or an admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from renown import privacy
from renown.api.deps import Context, caller, context, own_or_admin
from renown.api.keys import ApiKey

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


@router.get("/{account}/export")
def export_data(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Everything renown holds about the account, as one JSON document."""
    own_or_admin(account, key)
    return privacy.export(ctx.store, account, ctx.db_url)


@router.post("/{account}/opt-out")
def opt_out(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Hide the account from every ranking and answer, and stop scoring it."""
    own_or_admin(account, key)
    privacy.opt_out(ctx.store, account, ctx.db_url)
    return {"account": account, "opted_out": True}


@router.post("/{account}/opt-in")
def opt_in(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Undo an opt-out and ask to be scored (what an opted-in-only policy needs)."""
    own_or_admin(account, key)
    privacy.opt_in(ctx.store, account, ctx.db_url)
    return {"account": account, "opted_out": False, "opted_in": True}


@router.delete("/{account}")
def erase(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Erase every trace of the account (events, mentions, snapshots, application data)."""
    own_or_admin(account, key)
    return privacy.forget(ctx.store, account, ctx.db_url)
