"""Perks campaigns: give a product to the people whose word spreads furthest, with consent.

A campaign names a brand, topics, an optional customer audience, eligibility
(minimum topic score, networks, language, region — the profile's location,
where the network gives one), a budget (number of perks), dates,
the offer and the tags that mark campaign posts. Then:

1. **select** — eligible people are those scoring at least the minimum in one
   of the topics (and in the audience, on the networks, posting in the
   language, allowed by the privacy policy). Seeds are chosen by influence
   maximisation over the spread graph of the scoring window
   (:mod:`renown.spread`, IMM), and, side by side, the top-N eligible by topic
   score; both sets' expected reach is estimated on a fresh sample. Each
   chosen person is *invited*.
2. **respond** — the person accepts (which is their consent, for this
   campaign only, to release their contact details to the brand) or
   declines. The brand sees handles and scores otherwise.
3. **fulfil** — the brand reads the shipping details (a logged release,
   :mod:`renown.consent`) and marks the perk sent.
4. **outcome** — afterwards: recipients' posts carrying the campaign's tags,
   the reactions they earned, the people reached who had never reacted to
   that recipient before, against the predicted reach, and cost per person
   reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np
from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from renown import consent
from renown.appdb import Base, engine_for, now
from renown.errors import RenownError
from renown.store import Store, sql_text

STATUSES = ("invited", "accepted", "declined", "fulfilled")
#: Days after a campaign ends during which recipients' posts still count as its outcome.
OUTCOME_GRACE_DAYS = 14


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    brand: Mapped[str] = mapped_column(String(200), index=True)
    topics: Mapped[str] = mapped_column(String(1000))
    audience: Mapped[str | None] = mapped_column(String(200), nullable=True)
    min_topic_score: Mapped[int] = mapped_column(Integer, default=1)
    networks: Mapped[str | None] = mapped_column(String(500), nullable=True)
    language: Mapped[str | None] = mapped_column(String(20), nullable=True)
    region: Mapped[str | None] = mapped_column(String(200), nullable=True)
    budget: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    offer: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(1000), default="")
    perk_cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    selection: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: the selection report

    def as_dict(self) -> dict:
        import orjson

        return {"id": self.id, "name": self.name, "brand": self.brand, "topics": _split(self.topics),
                "audience": self.audience, "min_topic_score": self.min_topic_score, "networks": _split(self.networks),
                "language": self.language, "region": self.region, "budget": self.budget, "starts_on": self.starts_on.isoformat(),
                "ends_on": self.ends_on.isoformat(), "offer": self.offer, "tags": _split(self.tags),
                "perk_cost": self.perk_cost, "created_at": self.created_at.isoformat(),
                "selection": orjson.loads(self.selection) if self.selection else None}


class Invitation(Base):
    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    account: Mapped[str] = mapped_column(String(400), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict:
        return {"account": self.account, "rank": self.rank, "status": self.status,
                **{k: (getattr(self, k).isoformat() if getattr(self, k) else None)
                   for k in ("invited_at", "responded_at", "fulfilled_at")}}


class CampaignError(RenownError):
    """A campaign step that cannot happen (wrong state, not invited, nobody eligible)."""


class UnknownCampaign(CampaignError):
    """No campaign by that name or id (for this brand)."""


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def purpose(campaign_id: int) -> str:
    """The consent purpose an acceptance grants: this campaign only."""
    return f"campaign:{campaign_id}"


def create(store: Store, name: str, brand: str, topics: list[str], budget: int, starts_on: date, ends_on: date,
           offer: str = "", tags: list[str] | None = None, audience: str | None = None, min_topic_score: int = 1,
           networks: list[str] | None = None, language: str | None = None, perk_cost: float = 0.0,
           url: str | None = None, region: str | None = None) -> dict:
    from renown.topics import taxonomy

    if budget < 1:
        raise CampaignError("a campaign needs a budget of at least one perk")
    if ends_on < starts_on:
        raise CampaignError(f"the campaign ends ({ends_on}) before it starts ({starts_on})")
    if not topics:
        raise CampaignError("a campaign needs at least one topic")
    slugs = [taxonomy().topic_of(t) for t in topics]
    with Session(engine_for(store.root, url), expire_on_commit=False) as session, session.begin():
        if session.scalar(select(Campaign).where(Campaign.name == name)) is not None:
            raise CampaignError(f"a campaign named {name!r} exists already")
        campaign = Campaign(name=name, brand=brand, topics=",".join(slugs), audience=audience,
                            min_topic_score=min_topic_score, networks=",".join(networks or []) or None,
                            language=language, region=region, budget=budget, starts_on=starts_on, ends_on=ends_on, offer=offer,
                            tags=",".join(t.lower().lstrip("#") for t in tags or []), perk_cost=perk_cost,
                            created_at=now())
        session.add(campaign)
    return campaign.as_dict()


def get(store: Store, name_or_id: str | int, url: str | None = None, brand: str | None = None) -> dict:
    """The campaign and its invitations; ``brand`` set means only that brand's campaign is visible."""
    with Session(engine_for(store.root, url)) as session:
        campaign = _find(session, name_or_id, brand)
        invitations = session.scalars(select(Invitation).where(Invitation.campaign_id == campaign.id)
                                      .order_by(Invitation.rank)).all()
        result = campaign.as_dict()
        handles = store.handles([i.account for i in invitations])
        result["invitations"] = [{**i.as_dict(), "handle": handles.get(i.account)} for i in invitations]
        return result


def listed(store: Store, url: str | None = None, brand: str | None = None) -> list[dict]:
    with Session(engine_for(store.root, url)) as session:
        query = select(Campaign).order_by(Campaign.id)
        if brand is not None:
            query = query.where(Campaign.brand == brand)
        return [c.as_dict() for c in session.scalars(query)]


def _find(session: Session, name_or_id: str | int, brand: str | None = None) -> Campaign:
    key = str(name_or_id)
    campaign = session.scalar(select(Campaign).where(Campaign.id == int(key))) if key.isascii() and key.isdigit() else None
    campaign = campaign or session.scalar(select(Campaign).where(Campaign.name == key))
    if campaign is None or (brand is not None and campaign.brand != brand):
        raise UnknownCampaign(f"no campaign {key!r}" + (f" of {brand}" if brand else ""))
    return campaign


@dataclass(frozen=True)
class Eligible:
    accounts: list[str]
    topic_scores: dict[str, int]


def eligible(store: Store, campaign: dict, url: str | None = None) -> Eligible:
    """Who may receive the campaign's perk, with each person's best score in its topics."""
    from renown.policy import scope
    from renown.score import snapshots

    run = snapshots.latest(store.root)
    if not run.has_topic_scores:
        raise CampaignError("the newest snapshot has no topic scores: run `renown score`")
    rows = snapshots.query(f"SELECT account, max(score) AS score FROM read_parquet({sql_text(run.topics)}) "
                           "WHERE topic IN (SELECT unnest(?)) GROUP BY account HAVING max(score) >= ?",
                           [campaign["topics"], campaign["min_topic_score"]])
    allowed = scope(store.root, url)
    best = {r["account"]: int(r["score"]) for r in rows if allowed.allows(r["account"])}
    if campaign["networks"]:
        best = {a: s for a, s in best.items() if a.split(":", 1)[0] in campaign["networks"]}
    if campaign["audience"]:
        from renown.audience import member_accounts

        members = member_accounts(store, campaign["audience"], url)
        best = {a: s for a, s in best.items() if a in members}
    if campaign["language"] and best:
        con = store.connect()
        speaking = {a for (a,) in con.execute(
            """SELECT actor FROM events WHERE actor IN (SELECT unnest(?)) AND lang IS NOT NULL
               GROUP BY actor HAVING mode(lang) = ?""", [sorted(best), campaign["language"]]).fetchall()}
        con.close()
        best = {a: s for a, s in best.items() if a in speaking}
    if campaign["region"] and best:
        con = store.connect()
        local = {a for (a,) in con.execute(
            """SELECT key FROM accounts WHERE key IN (SELECT unnest(?))
               AND contains(lower(coalesce(json_extract_string(profile, '$.location'), '')), lower(?))""",
            [sorted(best), campaign["region"]]).fetchall()}
        con.close()
        best = {a: s for a, s in best.items() if a in local}
    ordered = sorted(best, key=lambda a: (-best[a], a))
    return Eligible(ordered, best)


def choose(store: Store, name_or_id: str | int, seed: int = 0, epsilon: float = 0.2, url: str | None = None,
           brand: str | None = None) -> dict:
    """Pick the budget's recipients by influence maximisation, invite them, and record the
    selection report: expected reach of the chosen set against the top-N by topic score."""
    import orjson

    from renown.score import snapshots
    from renown.score.run import end_of_day
    from renown.spread import estimate, imm, rr_sets, spread_graph

    campaign = get(store, name_or_id, url, brand)
    if campaign["invitations"]:
        raise CampaignError(f"campaign {campaign['name']!r} has invited people already")
    pool = eligible(store, campaign, url)
    if not pool.accounts:
        raise CampaignError(f"nobody is eligible for {campaign['name']!r}: lower the minimum topic score "
                            f"or widen topics, networks or language")
    run = snapshots.latest(store.root)
    ranked = snapshots.ranking(run)
    genuineness = dict(zip(ranked.accounts, ranked.table.column("genuineness").to_pylist()))
    end = end_of_day(run.as_of)
    con = store.connect()
    graph = spread_graph(con, end - timedelta(days=int(run.meta.get("window_days", 90))), end, genuineness)
    con.close()
    index = {k: i for i, k in enumerate(graph.keys)}
    mask = np.zeros(graph.n, dtype=bool)
    mask[[index[a] for a in pool.accounts if a in index]] = True
    k = min(campaign["budget"], len(pool.accounts))
    seeds, used = imm(graph, k, epsilon=epsilon, seed=seed, eligible=mask)
    chosen = [str(graph.keys[i]) for i in seeds]
    if len(chosen) < k:  # eligible people nobody ever reacted to: they reach only themselves
        chosen += [a for a in pool.accounts if a not in set(chosen)][:k - len(chosen)]
    top_n = pool.accounts[:k]
    fresh = rr_sets(graph, max(20_000, min(used, 200_000)), np.random.default_rng(seed + 1))

    def reach(accounts: list[str]) -> dict:
        e = estimate(fresh, graph.n, np.array([index[a] for a in accounts if a in index], dtype=np.int64))
        outside = sum(1 for a in accounts if a not in index)  # not in the graph: they reach themselves
        return {"people": round(e.people + outside, 1), "low": round(e.low + outside, 1), "high": round(e.high + outside, 1)}

    report = {"method": "IMM (independent cascade, reverse-reachable sets)", "epsilon": epsilon, "seed": seed,
              "rr_sets": used, "eligible": len(pool.accounts), "graph_accounts": graph.n, "as_of": run.as_of.isoformat(),
              "chosen": {"accounts": chosen, "expected_reach": reach(chosen)},
              "top_by_score": {"accounts": top_n, "expected_reach": reach(top_n)}}
    report["overlap"] = len(set(chosen) & set(top_n))
    with Session(engine_for(store.root, url)) as session, session.begin():
        row = _find(session, campaign["id"])
        row.selection = orjson.dumps(report).decode()
        for rank, account in enumerate(chosen, start=1):
            session.add(Invitation(campaign_id=row.id, account=account, rank=rank, status="invited", invited_at=now()))
    return report


def respond(store: Store, name_or_id: str | int, account: str, accept: bool, url: str | None = None) -> dict:
    """The invited person accepts (consenting, for this campaign, to share contact details) or declines."""
    with Session(engine_for(store.root, url), expire_on_commit=False) as session, session.begin():
        campaign = _find(session, name_or_id)
        invitation = _invitation(session, campaign, account)
        if invitation.status not in ("invited", "accepted", "declined"):
            raise CampaignError(f"{account}'s perk is {invitation.status} already")
        invitation.status, invitation.responded_at = ("accepted" if accept else "declined"), now()
        brand, campaign_id = campaign.brand, campaign.id
    if accept:
        consent.grant(store, account, brand, purpose(campaign_id), url)
    else:
        consent.withdraw(store, account, brand, purpose(campaign_id), url)
    return invitation.as_dict()


def shipping_details(store: Store, name_or_id: str | int, account: str, brand: str, url: str | None = None) -> dict:
    """The accepted recipient's contact details for the brand: a logged release under their consent."""
    with Session(engine_for(store.root, url)) as session:
        campaign = _find(session, name_or_id, brand)
        if _invitation(session, campaign, account).status not in ("accepted", "fulfilled"):
            raise consent.ConsentRequired(f"{account} has not accepted the perk of {campaign.name!r}")
        campaign_id = campaign.id
    return consent.contact_for(store, account, brand, purpose(campaign_id), url)


def fulfil(store: Store, name_or_id: str | int, account: str, brand: str | None = None, url: str | None = None) -> dict:
    with Session(engine_for(store.root, url), expire_on_commit=False) as session, session.begin():
        campaign = _find(session, name_or_id, brand)
        invitation = _invitation(session, campaign, account)
        if invitation.status != "accepted":
            raise CampaignError(f"only an accepted perk can be fulfilled; {account}'s is {invitation.status}")
        invitation.status, invitation.fulfilled_at = "fulfilled", now()
    return invitation.as_dict()


def invitations_of(store: Store, account: str, url: str | None = None) -> list[dict]:
    """The person's invitations with each campaign's brand, offer and dates (what they decide on)."""
    with Session(engine_for(store.root, url)) as session:
        rows = session.execute(select(Invitation, Campaign).join(Campaign, Campaign.id == Invitation.campaign_id)
                               .where(Invitation.account == account).order_by(Invitation.id)).all()
        return [{**i.as_dict(), "campaign": c.name, "campaign_id": c.id, "brand": c.brand, "offer": c.offer,
                 "starts_on": c.starts_on.isoformat(), "ends_on": c.ends_on.isoformat()} for i, c in rows]


def _invitation(session: Session, campaign: Campaign, account: str) -> Invitation:
    invitation = session.scalar(select(Invitation).where(Invitation.campaign_id == campaign.id,
                                                        Invitation.account == account))
    if invitation is None:
        raise CampaignError(f"{account} was not invited to {campaign.name!r}")
    return invitation


def outcome(store: Store, name_or_id: str | int, url: str | None = None, brand: str | None = None) -> dict:
    """What the perks did: per recipient, campaign posts (carrying its tags) from the start to
    :data:`OUTCOME_GRACE_DAYS` after the end, the reactions they earned, and the people reached
    who had never reacted to that recipient before; against the prediction."""
    campaign = get(store, name_or_id, url, brand)
    recipients = [i["account"] for i in campaign["invitations"] if i["status"] in ("accepted", "fulfilled")]
    fulfilled = sum(1 for i in campaign["invitations"] if i["status"] == "fulfilled")
    start = datetime.combine(date.fromisoformat(campaign["starts_on"]), datetime.min.time(), tzinfo=timezone.utc)
    end = datetime.combine(date.fromisoformat(campaign["ends_on"]), datetime.max.time(), tzinfo=timezone.utc) \
        + timedelta(days=OUTCOME_GRACE_DAYS)
    tags = campaign["tags"]
    rows: list[dict] = []
    reached_all: set[str] = set()
    con = store.connect()
    for account in recipients:
        posts = con.execute(
            """SELECT network, post_id FROM events WHERE actor = ? AND kind IN ('post', 'reply', 'quote')
               AND created_at >= ? AND created_at <= ? AND post_id IS NOT NULL
               AND (list_has_any(list_transform(tags, lambda t: lower(t)), ?::VARCHAR[])
                    OR EXISTS (SELECT 1 FROM unnest(?::VARCHAR[]) u(tag) WHERE contains(lower(coalesce(text, '')), tag)))""",
            [account, start, end, tags or [""], tags or ["\x00"]]).fetchall()
        reactions = con.execute(
            """SELECT e.actor FROM events e JOIN (SELECT unnest(?::VARCHAR[]) AS network, unnest(?::VARCHAR[]) AS post_id) p
               ON e.network = p.network AND e.parent_post_id = p.post_id
               WHERE e.target = ? AND e.actor <> e.target AND e.kind IN ('reply', 'repost', 'quote', 'like')""",
            [[p[0] for p in posts] or [""], [p[1] for p in posts] or [""], account]).fetchall()
        reactors = {r[0] for r in reactions}
        before = {a for (a,) in con.execute(
            "SELECT DISTINCT actor FROM events WHERE target = ? AND created_at < ? AND actor IN (SELECT unnest(?::VARCHAR[])) "
            "AND kind IN ('reply', 'repost', 'quote', 'like', 'mention')",
            [account, start, sorted(reactors) or [""]]).fetchall()}
        reached_all |= reactors
        rows.append({"account": account, "campaign_posts": len(posts), "reactions": len(reactions),
                     "people_reached": len(reactors), "new_people": len(reactors - before)})
    con.close()
    predicted = (campaign["selection"] or {}).get("chosen", {}).get("expected_reach")
    actual = len(reached_all | set(recipients))
    cost = campaign["perk_cost"] * fulfilled
    return {"campaign": campaign["name"], "recipients": rows, "accepted": len(recipients), "fulfilled": fulfilled,
            "predicted_reach": predicted, "actual_reach": actual,
            "window": {"from": start.isoformat(), "to": end.isoformat()},
            "cost": cost, "cost_per_person_reached": round(cost / actual, 2) if actual and cost else None}


def write_report(result: dict, folder) -> list:
    """``outcome.md`` (a table per recipient, predicted vs actual) and, when matplotlib is
    installed (``renown[eval]``), ``outcome.png``."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    predicted = result["predicted_reach"] or {}
    lines = [f"# Outcome of {result['campaign']}", "",
             f"Window {result['window']['from'][:10]} – {result['window']['to'][:10]}; {result['accepted']} accepted, "
             f"{result['fulfilled']} fulfilled.", "",
             "| recipient | campaign posts | reactions | people reached | new people |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['account']} | {r['campaign_posts']} | {r['reactions']} | {r['people_reached']} | {r['new_people']} |"
              for r in result["recipients"]]
    lines += ["", f"Predicted reach (if every invitee accepted): {predicted.get('people', '—')} "
                  f"(95 % {predicted.get('low', '—')}–{predicted.get('high', '—')}); actual: {result['actual_reach']}; "
                  f"cost per person reached: {result['cost_per_person_reached'] or '—'}.", ""]
    written = [folder / "outcome.md"]
    written[0].write_text("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return written
    fig, ax = plt.subplots(figsize=(5, 3))
    values = [predicted.get("people", 0), result["actual_reach"]]
    ax.bar(["predicted", "actual"], values, color=["#1f5fa8", "#b3541e"])
    if predicted:
        ax.errorbar([0], [predicted["people"]], yerr=[[predicted["people"] - predicted["low"]], [predicted["high"] - predicted["people"]]],
                    color="black", capsize=4)
    ax.set_ylabel("people reached")
    ax.set_title(result["campaign"])
    fig.tight_layout()
    fig.savefig(folder / "outcome.png", dpi=120)
    plt.close(fig)
    written.append(folder / "outcome.png")
    return written
