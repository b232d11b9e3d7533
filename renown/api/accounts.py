"""``/v1/accounts``: a person's score, explanation, history and topics."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query

from renown.api.deps import Context, caller, context
from renown.api.keys import ApiKey
from renown.score import report

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.get("/{account}")
def account_score(account: str, as_of: date | None = None, key: ApiKey = Depends(caller),
                  ctx: Context = Depends(context)) -> dict:
    """Score, components (points that add up to the score) and the evidence behind them."""
    return report.explain(ctx.store, account, as_of)


@router.get("/{account}/history")
def account_history(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> list[dict]:
    """The account's score in every snapshot, oldest first."""
    return report.history(ctx.store, account)


@router.get("/{account}/topics")
def account_topics(account: str, as_of: date | None = None, key: ApiKey = Depends(caller),
                   ctx: Context = Depends(context)) -> dict:
    """What the account is known for, with the posts and people behind each topic."""
    return report.topics(ctx.store, account, as_of)


@router.get("/{account}/changes")
def account_changes(account: str, days: int = Query(7, ge=1, le=3650), as_of: date | None = None, key: ApiKey = Depends(caller),
                    ctx: Context = Depends(context)) -> dict:
    """Why the score changed over the last ``days`` days: per component, reactions arrived and expired."""
    from datetime import timedelta

    from renown.score import snapshots

    newest = snapshots.latest(ctx.store.root, as_of).as_of
    return report.diff(ctx.store, account, newest - timedelta(days=days), as_of)
