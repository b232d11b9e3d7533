"""One person, many accounts: link suggestions from evidence, links an operator confirms.

Nothing is merged silently. :func:`suggest` proposes pairs of accounts on
different networks with the evidence for and against each; an operator
confirms a pair (``renown link confirm A B``) or imports an explicit links
file (``renown link import links.csv``: ``person,account`` rows). Confirmed
links live in the application database; a person's view lists each account's
score and the person's strongest.

Evidence (public profile fields and names only; a source's own cross-network
id, such as Stack Exchange's ``AccountId``, is never used — it is what the
suggestions are measured against):

* **strong** — the same profile image URL (avatar services derive it from the
  e-mail address) or the same website;
* **supporting** — the same display name when it is unique on both networks,
  plus the same location or similar "about" text (word Jaccard ≥ 0.3).

A pair is suggested with strong evidence, or with a unique name and support.
Evidence that disagrees (same name, different websites) is reported as a
conflict and the pair is not suggested.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown import csvfiles
from renown.appdb import Base, engine_for, now
from renown.errors import RenownError
from renown.store import Store

_WORD = re.compile(r"[a-z0-9]+")
#: Avatars every new account gets; sharing one proves nothing.
_DEFAULT_IMAGES = ("identicon", "default", "/img/")


class IdentityLink(Base):
    __tablename__ = "identity_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(200), index=True)
    account: Mapped[str] = mapped_column(String(400), unique=True)
    source: Mapped[str] = mapped_column(String(40))  # "confirmed" or "file"
    created_at: Mapped[object] = mapped_column(DateTime(timezone=True))


@dataclass
class Suggestion:
    a: str
    b: str
    confidence: str  # "strong" or "supported"
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accounts": [self.a, self.b], "confidence": self.confidence, "evidence": self.evidence}


def _profiles(store: Store) -> list[dict]:
    con = store.connect()
    rows = con.execute("SELECT key, network, coalesce(display_name, handle), profile FROM accounts").fetchall()
    con.close()
    out = []
    for key, network, name, profile in rows:
        data = orjson.loads(profile) if profile else {}
        out.append({"key": key, "network": network, "name": (name or "").strip().lower(), **data})
    return out


def _website(url: str | None) -> str | None:
    if not url:
        return None
    url = re.sub(r"^https?://(www\.)?", "", url.strip().lower()).rstrip("/")
    return url or None


def _image(url: str | None) -> str | None:
    if not url or any(marker in url for marker in _DEFAULT_IMAGES):
        return None
    return url.split("?")[0]


def _words(text: str | None) -> set[str]:
    return set(_WORD.findall((text or "").lower())) - {"the", "and", "a", "i", "of", "to", "in", "is", "am", "at", "for"}


def suggest(store: Store) -> tuple[list[Suggestion], list[dict]]:
    """Pairs of accounts on different networks that look like one person, and conflicts."""
    people = _profiles(store)
    names_per_network = Counter((p["network"], p["name"]) for p in people if p["name"])
    signals = {"name": lambda p: p["name"] or None, "image": lambda p: _image(p.get("image")),
               "website": lambda p: _website(p.get("website"))}
    # a value is evidence only where it is unique on its network (a shared company site proves nothing)
    counts = {kind: Counter((p["network"], get(p)) for p in people if get(p)) for kind, get in signals.items()}
    unique = {kind: {key for key, n in c.items() if n == 1} for kind, c in counts.items()}
    by_signal: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in people:
        for kind, get in signals.items():
            value = get(p)
            if value and (p["network"], value) in unique[kind]:
                by_signal[(kind, value)].append(p)
    candidates: dict[tuple[str, str], tuple[dict, dict]] = {}
    for members in by_signal.values():
        if len(members) > 8:  # a shared company site or a popular name: too common to be evidence
            continue
        for i, x in enumerate(members):
            for y in members[i + 1:]:
                if x["network"] != y["network"]:
                    pair = tuple(sorted((x["key"], y["key"])))
                    candidates[pair] = (x, y) if x["key"] == pair[0] else (y, x)
    suggestions, conflicts = [], []
    for (a, b), (x, y) in sorted(candidates.items()):
        evidence, against = [], []
        def unique_on_both(kind: str, value) -> bool:
            return (x["network"], value) in unique[kind] and (y["network"], value) in unique[kind]

        image = _image(x.get("image"))
        if image and image == _image(y.get("image")) and unique_on_both("image", image):
            evidence.append("same profile image")
        site_x, site_y = _website(x.get("website")), _website(y.get("website"))
        if site_x and site_y:
            if site_x != site_y:
                against.append("website")
            elif unique_on_both("website", site_x):
                evidence.append("website")
        unique_name = (x["name"] and x["name"] == y["name"] and names_per_network[(x["network"], x["name"])] == 1
                       and names_per_network[(y["network"], y["name"])] == 1)
        support = []
        if x.get("location") and y.get("location") and x["location"].strip().lower() == y["location"].strip().lower():
            support.append("same location")
        wx, wy = _words(x.get("about")), _words(y.get("about"))
        if wx and wy and len(wx & wy) / len(wx | wy) >= 0.3:
            support.append("similar about text")
        strong = [e for e in evidence if e != "website"] + (["same website"] if "website" in evidence else [])
        if against:
            conflicts.append({"accounts": [a, b], "for": strong + (["same unique name"] if unique_name else []) + support,
                              "against": ["different websites"]})
            continue
        if strong:
            suggestions.append(Suggestion(a, b, "strong", strong + (["same unique name"] if unique_name else []) + support))
        elif unique_name and support:
            suggestions.append(Suggestion(a, b, "supported", ["same unique name"] + support))
    return suggestions, conflicts


def _session(store: Store, url: str | None) -> Session:
    return Session(engine_for(store.root, url))


def confirm(store: Store, a: str, b: str, url: str | None = None, source: str = "confirmed") -> str:
    """Link ``a`` and ``b`` as one person (joining their existing people); returns the person id."""
    if a == b:
        raise RenownError("an account cannot be linked to itself")
    store.require_accounts(a, b)
    with _session(store, url) as session, session.begin():
        links = {l.account: l for l in session.scalars(select(IdentityLink).where(IdentityLink.account.in_([a, b])))}
        persons = sorted({l.person for l in links.values()})
        person = persons[0] if persons else f"person:{min(a, b)}"
        for other in persons[1:]:  # both already belong to people: those people are one
            for link in session.scalars(select(IdentityLink).where(IdentityLink.person == other)):
                link.person = person
        for account in (a, b):
            if account not in links:
                session.add(IdentityLink(person=person, account=account, source=source, created_at=now()))
    return person


def import_links(store: Store, path: Path, url: str | None = None) -> int:
    """An explicit links file: ``person,account`` rows; accounts of one person are linked."""
    groups: dict[str, list[str]] = defaultdict(list)
    with csvfiles.rows(path, ["person", "account"]) as reader:
        if not reader.fieldnames or not {"person", "account"} <= set(reader.fieldnames):
            raise RenownError(f"{path}: the header needs person and account columns")
        for row in reader:
            groups[row["person"].strip()].append(row["account"].strip())
    count = 0
    for accounts in groups.values():
        for other in accounts[1:]:
            confirm(store, accounts[0], other, url, source="file")
            count += 1
    return count


def person_of(store: Store, account: str, url: str | None = None) -> dict:
    """The person ``account`` belongs to, with every linked account's latest score — of the accounts
    answers may show: an opted-out (or minor's) account is left out, and is no answer itself."""
    from renown.policy import scope
    from renown.score import snapshots

    allowed = scope(store.root, url)
    if not allowed.allows(account):
        raise RenownError(allowed.why_not(account))
    with _session(store, url) as session:
        link = session.scalar(select(IdentityLink).where(IdentityLink.account == account))
        accounts = [account] if link is None else sorted(
            l.account for l in session.scalars(select(IdentityLink).where(IdentityLink.person == link.person))
            if allowed.allows(l.account))
        person = link.person if link else None
    rows = []
    run = snapshots.latest(store.root)
    for key in accounts:
        row = snapshots.account_row(run, key)
        rows.append({"account": key, "score": row["score"] if row else None})
    scored = [r["score"] for r in rows if r["score"] is not None]
    return {"person": person, "accounts": rows, "score": max(scored) if scored else None,
            "score_rule": "the person's strongest account", "as_of": run.as_of.isoformat()}
