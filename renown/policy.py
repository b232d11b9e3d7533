"""Who may be scored and shown: the data directory's privacy policy.

Two settings, kept in ``<data dir>/policy.toml`` (``renown policy``):

``only_opted_in`` (default false)
    Score only people who opted in (``renown opt-in``). Under this policy only
    events *between* opted-in people are read: nobody else's likes or replies
    are processed, not even as anonymous counts.
``exclude_minors`` (default true)
    Accounts flagged as minors (``renown minor``) are treated like opt-outs:
    not scored, absent from every answer, their reactions count for nobody.

Opt-outs always apply, whatever the policy. :func:`scope` turns policy and
application state into the set of accounts a run or an answer may include;
scoring, leaderboards, audiences and explanations all ask it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from renown.errors import RenownError

FILE = "policy.toml"


@dataclass(frozen=True)
class Policy:
    only_opted_in: bool = False
    exclude_minors: bool = True


@dataclass(frozen=True)
class Scope:
    """Accounts left out (``excluded``) and, under an opted-in-only policy, the only
    accounts allowed (``only``; None means everyone not excluded)."""

    excluded: frozenset[str] = frozenset()
    only: frozenset[str] | None = None

    def allows(self, account: str) -> bool:
        return account not in self.excluded and (self.only is None or account in self.only)

    def why_not(self, account: str) -> str:
        if account in self.excluded:
            return f"{account} is not scored or shown (opted out, or excluded by the privacy policy)"
        return f"{account} has not opted in, and this renown scores only people who opted in"


def load(data_dir: Path) -> Policy:
    path = Path(data_dir) / FILE
    if not path.exists():
        return Policy()
    try:
        values = tomllib.loads(path.read_text()).get("scoring", {})
    except tomllib.TOMLDecodeError as exc:
        raise RenownError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(values) - set(Policy.__dataclass_fields__)
    if unknown:
        raise RenownError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))} in [scoring]")
    for name, value in values.items():
        if not isinstance(value, bool):
            raise RenownError(f"{path}: [scoring] {name} must be true or false, not {value!r}")
    return replace(Policy(), **values)


def save(data_dir: Path, policy: Policy) -> Path:
    from renown.store import _write_atomic

    path = Path(data_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, (f"# renown privacy policy (see `renown policy --help`)\n[scoring]\n"
                         f"only_opted_in = {str(policy.only_opted_in).lower()}\n"
                         f"exclude_minors = {str(policy.exclude_minors).lower()}\n").encode())
    return path


def scope(data_dir: Path, url: str | None = None) -> Scope:
    """The accounts the policy and the people's own choices allow, right now."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from renown.appdb import Minor, OptIn, OptOut, engine_for, has_database

    policy = load(data_dir)
    if not has_database(data_dir, url):
        return Scope(only=frozenset() if policy.only_opted_in else None)
    with Session(engine_for(data_dir, url)) as session:
        excluded = set(session.scalars(select(OptOut.account)))
        if policy.exclude_minors:
            excluded |= set(session.scalars(select(Minor.account)))
        only = frozenset(session.scalars(select(OptIn.account))) - excluded if policy.only_opted_in else None
    return Scope(frozenset(excluded), only)


def flag_minor(data_dir: Path, account: str, source: str = "operator", url: str | None = None) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from renown.appdb import Minor, engine_for, now

    with Session(engine_for(data_dir, url)) as session, session.begin():
        if session.scalar(select(Minor).where(Minor.account == account)) is None:
            session.add(Minor(account=account, source=source, created_at=now()))


def unflag_minor(data_dir: Path, account: str, url: str | None = None) -> None:
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from renown.appdb import Minor, engine_for

    with Session(engine_for(data_dir, url)) as session, session.begin():
        session.execute(delete(Minor).where(Minor.account == account))
