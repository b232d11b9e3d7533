"""``/v1/people``: contact details a person gives renown, and their consents to brands.

A brand key reads contact details only while the person's consent for that brand
is active (403 ``forbidden`` otherwise); every release is logged and listed in
``/consents``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from renown import consent
from renown.api.deps import Context, caller, context, only_the_person, own_or_admin
from renown.api.keys import ApiKey

router = APIRouter(prefix="/v1/people", tags=["people and consent"])


class ContactIn(BaseModel):
    email: str | None = Field(None, max_length=320)
    postal_address: str | None = Field(None, max_length=1000)


class ConsentIn(BaseModel):
    brand: str = Field(..., min_length=1, max_length=200, description="the brand's name (its API key's name)")
    purpose: str = Field("contact", min_length=1, max_length=200)


@router.put("/{account}/contact")
def set_contact(account: str, body: ContactIn, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Set the contact details renown holds for the person (they or an admin only)."""
    own_or_admin(account, key)
    return consent.set_contact(ctx.store, account, body.email, body.postal_address, ctx.db_url)


@router.get("/{account}/contact")
def get_contact(account: str, purpose: str = "contact", key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """The person's contact details: for them and admins; for a brand only with the person's consent (logged)."""
    if key.role == "brand":
        return consent.contact_for(ctx.store, account, key.name, purpose, ctx.db_url)
    own_or_admin(account, key)
    return consent.contact_for(ctx.store, account, None, purpose, ctx.db_url)


@router.get("/{account}/consents")
def list_consents(account: str, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """The person's contact details, consents given and withdrawn, and every release to a brand."""
    own_or_admin(account, key)
    return {"account": account, **consent.record_of(ctx.store, account, ctx.db_url)}


@router.post("/{account}/consents")
def grant(account: str, body: ConsentIn, key: ApiKey = Depends(caller), ctx: Context = Depends(context)) -> dict:
    """Agree to share contact details with one brand for one purpose. Only the person can consent."""
    only_the_person(account, key, "give consent")
    return consent.grant(ctx.store, account, body.brand, body.purpose, ctx.db_url)


@router.delete("/{account}/consents/{brand}")
def withdraw(account: str, brand: str, purpose: str = "contact", key: ApiKey = Depends(caller),
             ctx: Context = Depends(context)) -> dict:
    """Withdraw a consent: the brand reads nothing more from now on."""
    own_or_admin(account, key)
    return consent.withdraw(ctx.store, account, brand, purpose, ctx.db_url)
