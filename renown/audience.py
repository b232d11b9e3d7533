"""A brand's own customers: import them, then rank influence *among them*.

``renown audience import customers.csv --name NAME`` reads a CSV (commas, semicolons or
tabs: :mod:`renown.csvfiles`) with a ``customer_id`` column, optional ``email`` and ``name``, and one column per
network holding the customer's handle or native id there (``twitter``,
``mastodon``, ``bluesky``, ``reddit``, ``se-cardano``…). Each value is resolved
to an account key — as ``network:value`` when that account exists, else by
handle (case-insensitive, leading ``@`` ignored); ambiguous or unknown values
are kept unresolved and reported, never guessed.

Influence among the audience is the global model restricted to reactions *by*
audience members: their genuine reach, their weighted reactions per post, and a
PageRank personalised on the members (teleport only to customers, so rank flows
from them). It is calibrated on the global scale, and each row says how much of
the account's reach falls inside the audience. A customer's offline record
(network ``crm``, keyed by ``customer_id``: referrals, NPS…) counts through the
``offline`` component, so a customer with no social account can lead the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from renown import csvfiles
from renown.appdb import Audience, AudienceMember, engine_for, now
from renown.errors import RenownError
from renown.score import calibration, snapshots
from renown.score.features import Window, compute
from renown.score.graph import pagerank
from renown.score.model import COMPONENTS, DAMPING, POST_PRIOR, genuine_reactions, score
from renown.score.run import end_of_day
from renown.store import Store

RESERVED = {"customer_id", "email", "name"}
#: The network of offline (CRM) records: a customer's id there is its customer_id.
CRM_NETWORK = "crm"


@dataclass
class ImportReport:
    audience: str
    customers: int = 0
    identifiers: int = 0
    resolved: int = 0
    unresolved: list[dict] = field(default_factory=list)
    offline_only: int = 0

    def as_dict(self) -> dict:
        return {"audience": self.audience, "customers": self.customers, "identifiers": self.identifiers,
                "resolved": self.resolved, "unresolved": self.unresolved[:50], "unresolved_count": len(self.unresolved),
                "offline_only": self.offline_only}


def _resolver(store: Store):
    con = store.connect()
    keys = {k for (k,) in con.execute("SELECT key FROM accounts").fetchall()}
    by_handle: dict[tuple[str, str], list[str]] = {}
    for key, network, handle in con.execute("SELECT key, network, handle FROM accounts WHERE handle IS NOT NULL").fetchall():
        by_handle.setdefault((network, handle.lower().lstrip("@")), []).append(key)
    con.close()

    def resolve(network: str, value: str) -> tuple[str | None, str | None]:
        value = value.strip()
        if f"{network}:{value}" in keys:
            return f"{network}:{value}", None
        matches = by_handle.get((network, value.lower().lstrip("@")), [])
        if len(matches) == 1:
            return matches[0], None
        return None, "ambiguous handle" if matches else "no such account"

    return resolve


def import_csv(store: Store, path: Path, name: str, url: str | None = None) -> ImportReport:
    """Create or replace audience ``name`` from ``path``; returns what resolved."""
    report = ImportReport(name)
    resolve = _resolver(store)

    def resolve_crm(customer: str) -> str | None:
        return resolve(CRM_NETWORK, customer)[0]

    members: list[AudienceMember] = []
    with csvfiles.rows(path, ["customer_id"]) as reader:
        if not reader.fieldnames or "customer_id" not in reader.fieldnames:
            raise RenownError(f"{path}: the header needs a customer_id column (plus email, name and one column per network)")
        networks = [c for c in reader.fieldnames if c not in RESERVED]
        for line, row in enumerate(reader, start=2):
            customer = (row.get("customer_id") or "").strip()
            if not customer:
                report.unresolved.append({"line": line, "field": "customer_id", "reason": "missing"})
                continue
            report.customers += 1
            email = (row.get("email") or "").strip() or None
            social = [(n, row[n].strip()) for n in networks if row.get(n) and row[n].strip()]
            crm_account = resolve_crm(customer)
            if crm_account:  # the customer's offline record (referrals, NPS, ...) belongs to the audience too
                members.append(AudienceMember(customer_id=customer, email=email, network=CRM_NETWORK, handle=customer,
                                              account=crm_account))
            if not social:
                report.offline_only += 1
                if not crm_account:
                    members.append(AudienceMember(customer_id=customer, email=email))
            for network, value in social:
                report.identifiers += 1
                account, problem = resolve(network, value)
                if account:
                    report.resolved += 1
                else:
                    report.unresolved.append({"line": line, "field": network, "value": value, "reason": problem})
                members.append(AudienceMember(customer_id=customer, email=email, network=network, handle=value,
                                              account=account))
    with Session(engine_for(store.root, url)) as session, session.begin():
        existing = session.scalar(select(Audience).where(Audience.name == name))
        if existing is not None:
            session.delete(existing)
            session.flush()
        session.add(Audience(name=name, created_at=now(), members=members))
    return report


def audiences(store: Store, url: str | None = None) -> list[dict]:
    with Session(engine_for(store.root, url)) as session:
        return [{"name": a.name, "created_at": a.created_at.isoformat(), "members": len(a.members),
                 "accounts": sum(1 for m in a.members if m.account)}
                for a in session.scalars(select(Audience).order_by(Audience.name))]


def member_accounts(store: Store, name: str, url: str | None = None) -> set[str]:
    with Session(engine_for(store.root, url)) as session:
        audience = session.scalar(select(Audience).where(Audience.name == name))
        if audience is None:
            raise RenownError(f"no audience named {name!r}: import one with `renown audience import FILE --name {name}`")
        return {m.account for m in audience.members if m.account}


def top_in_audience(store: Store, name: str, limit: int | None = 20, as_of: date | None = None, url: str | None = None,
                    topic: str | None = None, only: str | None = None) -> list[dict]:
    """Accounts ranked by influence among the audience's members (see the module docstring);
    with ``topic``, only members' reactions to posts in that topic count (offline records do not
    have topics and are left out)."""
    members = member_accounts(store, name, url)
    run = snapshots.latest(store.root, as_of)
    con = store.connect()
    window = Window(end_of_day(run.as_of), int(run.meta.get("window_days", 90)), float(run.meta.get("half_life_days", 30)))
    from renown.policy import scope

    f = compute(con, window, scope(store.root, url))
    s = score(f)
    c = s.context
    in_topic = np.ones(len(f.src), dtype=bool)
    if topic is not None:
        from renown.score.topics import topic_scores
        from renown.topics import taxonomy

        slug = taxonomy().topic_of(topic)
        topic_scores(con, s.context, window)  # leaves post_topics on the connection
        pairs = con.execute("""SELECT DISTINCT r.src, r.dst FROM r JOIN post_topics pt ON pt.network = r.network
                               AND pt.post_id = r.parent_post_id AND pt.author = r.dst WHERE pt.topic = ?""",
                            [slug]).fetchall() if _has_table(con, "post_topics") else []
        topical = np.array([a * f.n + b for a, b in pairs], dtype=np.int64)
        in_topic = np.isin(f.src * f.n + f.dst, topical)
        if not in_topic.any():
            raise RenownError(f"no reactions to posts in topic {slug!r} in the window ending {run.as_of}")
    con.close()
    inside = np.isin(f.keys, np.array(sorted(members), dtype=object)) if members else np.zeros(f.n, dtype=bool)
    if not inside.any():
        raise RenownError(f"none of audience {name!r}'s accounts is active in the window ending {run.as_of}")
    from_members = inside[f.src] & in_topic
    g = c.genuine.g
    terms = genuine_reactions({"src": f.src, "weight": f.weight, "recency": f.recency}, {"g": g, "s": c.genuine.selectivity})
    reach_all = np.bincount(f.dst, weights=terms["reach"], minlength=f.n)
    reach = np.bincount(f.dst[from_members], weights=terms["reach"][from_members], minlength=f.n)
    effective = np.bincount(f.dst[from_members], weights=terms["effective"][from_members], minlength=f.n)
    reactors = np.bincount(f.dst[from_members], minlength=f.n)
    teleport = inside.astype(float)
    rank = pagerank(c.transition, damping=DAMPING, personalization=teleport)  # the run's, discounted by g
    network = np.maximum(0.0, rank * inside.sum() - 1.0)
    offline = next(comp for comp in COMPONENTS if comp.name == "offline").value(c.accounts())
    z = np.log2(1 + reach) + np.log2(1 + effective / (f.posts + POST_PRIOR)) + np.log2(1 + network)
    z = np.where(reactors > 0, z, 0.0) + (np.where(inside, offline, 0.0) if topic is None else 0.0)
    exact = calibration.calibrate(z)
    ranked = [i for i in np.lexsort((f.keys, -exact)) if z[i] > 0]
    if only is not None:  # one account's line, wherever it ranks (rank 0: no influence among the audience)
        position = {f.keys[i]: n for n, i in enumerate(ranked, start=1)}
        index = next((i for i in range(f.n) if f.keys[i] == only), None)
        if index is None:
            return []
        return [_row(f, s, exact, reactors, offline, reach, reach_all, index, position.get(only, 0), name, topic, run, None)]
    order = ranked[:limit]
    handles = store.handles([f.keys[i] for i in order])
    return [_row(f, s, exact, reactors, offline, reach, reach_all, i, n, name, topic, run, handles.get(f.keys[i]))
            for n, i in enumerate(order, start=1)]


def _row(f, s, exact, reactors, offline, reach, reach_all, i, rank, name, topic, run, handle) -> dict:
    return {"rank": rank, "account": f.keys[i], "handle": handle, "score": int(np.floor(exact[i] + 0.5)),
            "global_score": int(s.score[i]), "audience_reactors": int(reactors[i]),
            "offline": round(float(offline[i]), 3),
            "inside_share": round(float(reach[i] / reach_all[i]), 3) if reach_all[i] > 0 else 0.0,
            "audience": name, "topic": topic, "as_of": run.as_of.isoformat()}


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])
