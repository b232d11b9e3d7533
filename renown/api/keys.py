"""API keys: stored hashed, each with a role.

Roles: ``admin`` (everything), ``brand`` (scores, explanations and public
handles; personal data only with that person's consent — issue 7), ``person``
(public scores, and their own account's data). A key is shown once, when
created: ``rk_<id>_<secret>``; only the SHA-256 of the secret is stored (the
secret is 32 random bytes, so no salt or slow hash is needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown.appdb import Base, engine_for, now
from renown.errors import RenownError
from renown.store import Store

ROLES = ("admin", "brand", "person")


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    account: Mapped[str | None] = mapped_column(String(400), nullable=True)  # a person key's own account
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


def create_key(store: Store, name: str, role: str, account: str | None = None, url: str | None = None) -> str:
    if role not in ROLES:
        raise RenownError(f"role must be one of {', '.join(ROLES)}")
    if role == "person" and not account:
        raise RenownError("a person key needs the person's account (--account network:native-id)")
    secret = secrets.token_urlsafe(32)
    with Session(engine_for(store.root, url)) as session, session.begin():
        key = ApiKey(name=name, role=role, account=account, created_at=now(),
                     secret_sha256=hashlib.sha256(secret.encode()).hexdigest())
        session.add(key)
        session.flush()
        return f"rk_{key.id}_{secret}"


def verify(store: Store, presented: str, url: str | None = None) -> ApiKey | None:
    """The key's record when ``presented`` is a valid, unrevoked key; else None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "rk" or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    with Session(engine_for(store.root, url), expire_on_commit=False) as session:
        key = session.scalar(select(ApiKey).where(ApiKey.id == int(parts[1])))
        if key is None or key.revoked:
            return None
        digest = hashlib.sha256(parts[2].encode()).hexdigest()
        return key if hmac.compare_digest(digest, key.secret_sha256) else None
