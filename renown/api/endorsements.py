"""``/v1/endorsements``: a person vouches for another on a topic (rules in :mod:`renown.endorsements`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from renown import endorsements
from renown.api.deps import Context, caller, context
from renown.api.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["endorsements"])


class EndorsementIn(BaseModel):
    endorsee: str = Field(..., min_length=1, max_length=400, description="network:native-id")
    topic: str = Field(..., min_length=1, max_length=200)


@router.post("/endorsements", status_code=201)
def endorse(body: EndorsementIn, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Endorse an account on a topic, as the person the key belongs to."""
    if key.role != "person" or not key.account:
        raise HTTPException(403, "endorsements are given by people: this needs a person key")
    return endorsements.endorse(ctx.store, key.account, body.endorsee, body.topic, url=ctx.db_url)


@router.get("/accounts/{account}/endorsements")
def endorsements_of(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Endorsements the account received and gave, newest first."""
    from renown.policy import scope

    if not scope(ctx.store.root, ctx.db_url).allows(account):
        raise HTTPException(404, f"{account} is not scored or shown")
    return endorsements.endorsements_of(ctx.store, account, ctx.db_url)
