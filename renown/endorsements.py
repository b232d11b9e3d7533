"""Endorsements, like Klout's +K: one account vouching for another on a topic.

Rules (checked when an endorsement is given, so a refused one is never stored):

* no self-endorsement;
* at most :data:`DAILY_LIMIT` endorsements by one endorser in any 24 hours;
* once per (endorser, endorsee, topic) per :data:`REPEAT_DAYS` days.

In scoring, an endorsement counts in the endorsee's topic score like a
reaction: weighted by the endorser's genuineness (rings and bots are
discounted exactly as their reactions are) and by age, and its total
contribution to a topic is capped at :data:`CAP` (in raw-value units,
``log2(1 + Σ weights)`` before the cap) so endorsements can lift a topic score
but never make it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown.appdb import Base, engine_for, has_database, now
from renown.errors import RenownError
from renown.store import Store
from renown.topics import taxonomy

DAILY_LIMIT = 5
REPEAT_DAYS = 7
CAP = 2.0


class Endorsement(Base):
    __tablename__ = "endorsements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endorser: Mapped[str] = mapped_column(String(400), index=True)
    endorsee: Mapped[str] = mapped_column(String(400), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class EndorsementRefused(RenownError):
    """An endorsement that breaks a rule; the message says which."""


def endorse(store: Store, endorser: str, endorsee: str, topic: str, when: datetime | None = None,
            url: str | None = None) -> dict:
    when = (when or now()).astimezone(timezone.utc)
    if endorser == endorsee:
        raise EndorsementRefused("an account cannot endorse itself")
    store.require_accounts(endorser, endorsee)
    slug = taxonomy().topic_of(topic)
    with Session(engine_for(store.root, url)) as session, session.begin():
        today = session.scalar(select(func.count()).select_from(Endorsement).where(
            Endorsement.endorser == endorser, Endorsement.created_at > when - timedelta(days=1),
            Endorsement.created_at <= when))
        if today >= DAILY_LIMIT:
            raise EndorsementRefused(f"{endorser} has used its {DAILY_LIMIT} endorsements for the last 24 hours")
        repeat = session.scalar(select(func.count()).select_from(Endorsement).where(
            Endorsement.endorser == endorser, Endorsement.endorsee == endorsee, Endorsement.topic == slug,
            Endorsement.created_at > when - timedelta(days=REPEAT_DAYS), Endorsement.created_at <= when))
        if repeat:
            raise EndorsementRefused(f"{endorser} already endorsed {endorsee} for {slug} in the last {REPEAT_DAYS} days")
        session.add(Endorsement(endorser=endorser, endorsee=endorsee, topic=slug, created_at=when))
    return {"endorser": endorser, "endorsee": endorsee, "topic": slug, "created_at": when.isoformat()}


def in_window(store: Store, start: datetime, end: datetime, url: str | None = None) -> list[tuple[str, str, str, datetime]]:
    """(endorser, endorsee, topic, when) in (start, end]; none when no application database exists yet."""
    if not has_database(store.root, url):
        return []
    with Session(engine_for(store.root, url)) as session:
        rows = session.execute(select(Endorsement.endorser, Endorsement.endorsee, Endorsement.topic, Endorsement.created_at)
                               .where(Endorsement.created_at > start, Endorsement.created_at <= end)
                               .order_by(Endorsement.id)).all()
    # SQLite keeps no time zone: every stored time is UTC
    return [(a, b, t, w if w.tzinfo else w.replace(tzinfo=timezone.utc)) for a, b, t, w in rows]


def endorsements_of(store: Store, account: str, url: str | None = None) -> dict:
    """Endorsements ``account`` received and gave, newest first."""
    if not has_database(store.root, url):
        return {"account": account, "received": [], "given": []}
    with Session(engine_for(store.root, url)) as session:
        def listed(column, other) -> list[dict]:
            rows = session.scalars(select(Endorsement).where(column == account).order_by(Endorsement.created_at.desc(),
                                                                                          Endorsement.id.desc()))
            return [{other: getattr(e, other), "topic": e.topic, "created_at": e.created_at.isoformat()} for e in rows]

        return {"account": account, "received": listed(Endorsement.endorsee, "endorser"),
                "given": listed(Endorsement.endorser, "endorsee")}
