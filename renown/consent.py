"""Personal data a person gives renown, released to a brand only with their consent.

Klout shared a person's contact details with a brand only once the person
accepted a Perk. renown keeps that rule for everything personal:

* **contact details** (email, postal address) are set by the person
  themself and held in the application database, never in the event log;
* a **consent** names one brand and one purpose (``contact`` here; a
  campaign's invitation in brand programs) and can be withdrawn at any time;
* a brand reads the details only while a consent for it and that purpose
  is active; **every release is logged** (who, which fields, when), and the
  person sees the log in their export.

A brand is identified by the name of its API key (``renown keys create
--role brand --name acme``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown.appdb import Base, engine_for, has_database, now
from renown.errors import RenownError
from renown.store import Store

PURPOSES = ("contact",)
FIELDS = ("email", "postal_address")


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    postal_address: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Consent(Base):
    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), index=True)
    brand: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Release(Base):
    """One disclosure of personal data to a brand: the audit trail consent promises."""

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), index=True)
    brand: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    fields: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentRequired(RenownError):
    """A brand asked for personal data the person has not agreed to share with it."""


def set_contact(store: Store, account: str, email: str | None, postal_address: str | None, url: str | None = None) -> dict:
    if email is not None and ("@" not in email or len(email) > 320 or any(c.isspace() for c in email)):
        raise RenownError(f"{email!r} is not an email address")
    with Session(engine_for(store.root, url)) as session, session.begin():
        contact = session.scalar(select(Contact).where(Contact.account == account))
        if contact is None:
            contact = Contact(account=account)
            session.add(contact)
        contact.email, contact.postal_address, contact.updated_at = email, postal_address, now()
    return {"account": account, "email": email, "postal_address": postal_address}


def grant(store: Store, account: str, brand: str, purpose: str = "contact", url: str | None = None) -> dict:
    _check_purpose(purpose)
    with Session(engine_for(store.root, url)) as session, session.begin():
        if _active(session, account, brand, purpose) is None:
            session.add(Consent(account=account, brand=brand, purpose=purpose, granted_at=now()))
    return {"account": account, "brand": brand, "purpose": purpose, "active": True}


def withdraw(store: Store, account: str, brand: str, purpose: str = "contact", url: str | None = None) -> dict:
    with Session(engine_for(store.root, url)) as session, session.begin():
        consent = _active(session, account, brand, purpose)
        if consent is not None:
            consent.withdrawn_at = now()
    return {"account": account, "brand": brand, "purpose": purpose, "active": False}


def contact_for(store: Store, account: str, brand: str | None, purpose: str = "contact", url: str | None = None) -> dict:
    """The person's contact details. ``brand=None`` is the person or an admin; a brand gets
    them only under an active consent, and the release is logged."""
    with Session(engine_for(store.root, url)) as session, session.begin():
        if brand is not None and _active(session, account, brand, purpose) is None:
            raise ConsentRequired(f"{account} has not agreed to share personal data with {brand} for {purpose!r}")
        contact = session.scalar(select(Contact).where(Contact.account == account))
        details = {f: getattr(contact, f) if contact else None for f in FIELDS}
        if brand is not None:
            shared = [f for f in FIELDS if details[f]]
            session.add(Release(account=account, brand=brand, purpose=purpose, fields=",".join(shared), released_at=now()))
    return {"account": account, **details}


def record_of(store: Store, account: str, url: str | None = None) -> dict:
    """Everything consent-related renown holds about ``account`` (for the person and for export)."""
    if not has_database(store.root, url):
        return {"contact": None, "consents": [], "releases": []}
    with Session(engine_for(store.root, url)) as session:
        contact = session.scalar(select(Contact).where(Contact.account == account))
        return {
            "contact": {f: getattr(contact, f) for f in FIELDS} if contact else None,
            "consents": [{"brand": c.brand, "purpose": c.purpose, "granted_at": c.granted_at.isoformat(),
                          "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}
                         for c in session.scalars(select(Consent).where(Consent.account == account).order_by(Consent.id))],
            "releases": [{"brand": r.brand, "purpose": r.purpose, "fields": r.fields.split(",") if r.fields else [],
                          "released_at": r.released_at.isoformat()}
                         for r in session.scalars(select(Release).where(Release.account == account).order_by(Release.id))],
        }


def _active(session: Session, account: str, brand: str, purpose: str) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.account == account, Consent.brand == brand,
                                                Consent.purpose == purpose, Consent.withdrawn_at.is_(None)))


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES and not purpose.startswith("campaign:"):
        raise RenownError(f"unknown purpose {purpose!r}: one of {', '.join(PURPOSES)}, or campaign:<id>")
