"""``/v1/campaigns``: Perks campaigns — selection by expected spread, invitations, consent, outcome.

Brands see and run their own campaigns (a brand is its key's name); admins see
all. Only the invited person accepts or declines; a brand reads shipping
details only after acceptance, and every read is logged.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from renown import perks
from renown.api.deps import Context, brand_of, caller, context, only_the_person, own_or_admin, role
from renown.api.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["campaigns"])


class CampaignIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    topics: list[str] = Field(..., min_length=1, max_length=20)
    budget: int = Field(..., ge=1, le=100_000, description="number of perks")
    starts_on: date
    ends_on: date
    offer: str = Field("", max_length=5000)
    tags: list[str] = Field(default_factory=list, max_length=20, description="hashtags or brand terms marking campaign posts")
    audience: str | None = Field(None, max_length=200, description="choose only among this customer list")
    min_topic_score: int = Field(1, ge=1, le=100)
    networks: list[str] | None = Field(None, max_length=20)
    language: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=200, description="profile location contains this (where networks give one)")
    perk_cost: float = Field(0.0, ge=0)
    brand: str | None = Field(None, max_length=200, description="admins only: the brand the campaign is for")


class SelectionIn(BaseModel):
    seed: int = Field(0, ge=0, le=2**31 - 1)
    epsilon: float = Field(0.2, ge=0.05, le=0.9, description="IMM's approximation slack: smaller is slower and closer")


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignIn, key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> dict:
    """Create a campaign: topics, optional audience, eligibility, budget, dates, offer, tags."""
    brand = body.brand if key.role == "admin" and body.brand else key.name
    return perks.create(ctx.store, body.name, brand, body.topics, body.budget, body.starts_on, body.ends_on, body.offer,
                        body.tags, body.audience, body.min_topic_score, body.networks, body.language, body.perk_cost,
                        ctx.db_url, body.region)


@router.get("/campaigns")
def list_campaigns(key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> list[dict]:
    return perks.listed(ctx.store, ctx.db_url, brand_of(key))


@router.get("/campaigns/{campaign}")
def campaign_detail(campaign: str, key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> dict:
    """The campaign, its selection report (chosen set vs top-N by score) and invitations (handles and status)."""
    return perks.get(ctx.store, campaign, ctx.db_url, brand_of(key))


@router.post("/campaigns/{campaign}/selection")
def select_recipients(campaign: str, body: SelectionIn, key: ApiKey = Depends(role("admin", "brand")),
                      ctx: Context = Depends(context)) -> dict:
    """Choose the budget's recipients by influence maximisation and invite them."""
    return perks.choose(ctx.store, campaign, body.seed, body.epsilon, ctx.db_url, brand_of(key))


@router.get("/campaigns/{campaign}/outcome")
def campaign_outcome(campaign: str, key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> dict:
    """Campaign posts, reactions and people reached per recipient; predicted vs actual reach; cost per person."""
    return perks.outcome(ctx.store, campaign, ctx.db_url, brand_of(key))


@router.post("/campaigns/{campaign}/invitations/{account}/accept")
def accept(campaign: str, account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Accept the perk: consent, for this campaign only, to give the brand your shipping details."""
    only_the_person(account, key, "accept or decline a perk")
    return perks.respond(ctx.store, campaign, account, True, ctx.db_url)


@router.post("/campaigns/{campaign}/invitations/{account}/decline")
def decline(campaign: str, account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    only_the_person(account, key, "accept or decline a perk")
    return perks.respond(ctx.store, campaign, account, False, ctx.db_url)


@router.get("/campaigns/{campaign}/invitations/{account}/shipping")
def shipping(campaign: str, account: str, key: ApiKey = Depends(role("brand")), ctx: Context = Depends(context)) -> dict:
    """The recipient's contact details, only after they accepted (403 otherwise); the read is logged."""
    return perks.shipping_details(ctx.store, campaign, account, key.name, ctx.db_url)


@router.post("/campaigns/{campaign}/invitations/{account}/fulfilment")
def fulfil(campaign: str, account: str, key: ApiKey = Depends(role("admin", "brand")), ctx: Context = Depends(context)) -> dict:
    """Mark an accepted perk as sent."""
    return perks.fulfil(ctx.store, campaign, account, brand_of(key), ctx.db_url)


@router.get("/people/{account}/invitations")
def my_invitations(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> list[dict]:
    """The person's perk invitations: brand, offer, dates and status."""
    own_or_admin(account, key)
    return perks.invitations_of(ctx.store, account, ctx.db_url)
