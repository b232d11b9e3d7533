"""Reading snapshots back: leaderboards, explanations, history and diffs.

Every function returns plain data (the ``--json`` contracts); the CLI renders
it. Points are read, never recomputed: an explanation is the snapshot's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from renown.errors import RenownError
from renown.events import networks_of
from renown.links import post_url
from renown.score import snapshots
from renown.score.features import KIND_WEIGHTS, end_of_day
from renown.score.gaming import RING_KEEP
from renown.store import Store, sql_text

if TYPE_CHECKING:
    from renown.policy import Scope


class UnknownAccount(RenownError):
    """The account is not in the snapshot (nor known by that handle)."""


def _components(run: snapshots.Run) -> list[dict]:
    return run.meta["components"]


@dataclass(frozen=True)
class Filter:
    """Which leaderboard rows a request wants: scores in [min_score, max_score], one network,
    keys/handles/names containing ``q``. The one definition for every board (global, topic,
    audience); ranks stay those of the unfiltered board."""

    min_score: int = 1
    max_score: int = 100
    network: str | None = None
    q: str | None = None

    @property
    def narrows(self) -> bool:
        return self.min_score > 1 or self.max_score < 100 or self.network is not None or bool(self.q)

    def keep(self, store: Store, scores: np.ndarray, networks: np.ndarray,
             matching: Callable[[Iterable[str]], np.ndarray]) -> np.ndarray:
        """Per row, whether it passes; ``matching(accounts)`` marks the rows of those accounts."""
        keep = (scores >= self.min_score) & (scores <= self.max_score)
        if self.network is not None:
            keep &= networks == self.network
        if self.q:
            keep &= matching(store.search(self.q.lstrip("@")))
        return keep

    def sql(self, store: Store) -> tuple[str, list]:
        """The same test as a SQL condition on ``account`` and ``score`` (and its parameters)."""
        condition, params = "score BETWEEN ? AND ?", [self.min_score, self.max_score]
        if self.network is not None:
            condition += " AND split_part(account, ':', 1) = ?"
            params.append(self.network)
        if self.q:
            condition += " AND account IN (SELECT unnest(?))"
            params.append(store.search(self.q.lstrip("@")) or [""])
        return condition, params

    def rows(self, store: Store, rows: list[dict]) -> list[dict]:
        """The rows (dicts with ``account`` and ``score``) that pass, in order."""
        if not self.narrows:
            return rows
        accounts = np.array([r["account"] for r in rows], dtype=object)
        scores = np.array([r["score"] for r in rows], dtype=np.int64)
        networks = networks_of(pa.array(accounts, pa.string()))
        kept = self.keep(store, scores, networks, lambda found: np.isin(accounts, np.array(list(found), dtype=object)))
        return [r for r, k in zip(rows, kept) if k]


def top(store: Store, limit: int = 20, as_of: date | None = None, *, offset: int = 0,
        where: Filter = Filter()) -> list[dict]:
    """One page of the leaderboard among the accounts the privacy policy lets answers show,
    filtered by ``where``. Ranks are those of the unfiltered board."""
    run = snapshots.latest(store.root, as_of)
    names = [c["name"] for c in _components(run)]
    columns = ["account", "score", *(f"{n}_points" for n in names)]
    if snapshots.holding():
        ranked = snapshots.ranking(run)
        visible = _visible_rows(store, ranked)
        ranks = np.cumsum(visible)
        keep = visible & where.keep(store, ranked.scores, ranked.networks, ranked.mask)
        rows = np.flatnonzero(keep)[offset:offset + limit]
        page = [{"rank": int(ranks[i]), **row} for i, row in zip(rows, ranked.table.take(rows).select(columns).to_pylist())]
    else:
        page = _page_queried(store, run, columns, limit, offset, where)
    handles = store.handles([r["account"] for r in page])
    return [{"rank": r["rank"], "account": r["account"], "handle": handles.get(r["account"]), "score": r["score"],
             "as_of": run.as_of.isoformat(), **{n: r[f"{n}_points"] for n in names}} for r in page]


def _page_queried(store: Store, run: snapshots.Run, columns: list[str], limit: int, offset: int,
                  where: Filter) -> list[dict]:
    """One page of the board read with a query (a command asks once: 10M events, 0.9 s less than
    sorting the whole file into memory). Ranks count visible rows, as the held board's do."""
    visible, params = _visible(store)
    selected = ", ".join(columns)
    if not where.narrows:  # the first rows in board order: a top-N, no ranking of everyone
        rows = snapshots.query(f"""SELECT {selected} FROM read_parquet(?) WHERE {visible}
                                   ORDER BY exact DESC, account LIMIT ? OFFSET ?""",
                               [str(run.scores), *params, limit, offset])
        return [{"rank": offset + i + 1, **row} for i, row in enumerate(rows)]
    condition, filter_params = where.sql(store)
    return snapshots.query(f"""
        SELECT rank, {selected} FROM (
            SELECT {selected}, row_number() OVER (ORDER BY exact DESC, account) AS rank
            FROM read_parquet(?) WHERE {visible}) board
        WHERE {condition} ORDER BY rank LIMIT ? OFFSET ?""", [str(run.scores), *params, *filter_params, limit, offset])


def _visible_rows(store: Store, ranked: snapshots.Ranking) -> np.ndarray:
    from renown.policy import scope

    allowed = scope(store.root)
    visible = ranked.mask(allowed.only) if allowed.only is not None else np.ones(len(ranked.accounts), dtype=bool)
    return visible & ~ranked.mask(allowed.excluded)


def _visible(store: Store) -> tuple[str, list]:
    """A SQL condition on ``account`` (and its parameters): who the privacy policy lets
    answers show now — a snapshot may predate an opt-out."""
    from renown.policy import scope

    allowed = scope(store.root)
    condition, params = "account NOT IN (SELECT unnest(?))", [sorted(allowed.excluded) or [""]]
    if allowed.only is not None:
        condition += " AND account IN (SELECT unnest(?))"
        params.append(sorted(allowed.only) or [""])
    return condition, params


def _shown(store: Store, account: str) -> Scope:
    """Who answers may show now, once ``account`` is found among them (else UnknownAccount says why not):
    a snapshot may predate an opt-out."""
    from renown.policy import scope

    allowed = scope(store.root)
    if not allowed.allows(account):
        raise UnknownAccount(allowed.why_not(account))
    return allowed


def _require(run: snapshots.Run, store: Store, account: str) -> dict:
    row = snapshots.account_row(run, account)
    if row is not None:
        return row
    con = store.connect()
    guesses = con.execute("SELECT key FROM accounts WHERE lower(handle) = lower(?) OR key ILIKE ? LIMIT 5",
                          [account.split(":", 1)[-1].lstrip("@"), f"%{account}%"]).fetchall()
    con.close()
    hint = f"; did you mean {', '.join(g[0] for g in guesses)}?" if guesses else " (accounts are addressed as network:native-id)"
    raise UnknownAccount(f"{account} has no score in the snapshot of {run.as_of}{hint}")


def explain(store: Store, account: str, as_of: date | None = None) -> dict:
    """Per-component points that add up exactly to the score, with the evidence behind them. A person
    the privacy policy does not let answers show (opted out since the snapshot, a minor) stays in the
    evidence with their contribution, unnamed (``ref`` and ``handle`` null, ``hidden`` true)."""
    allowed = _shown(store, account)
    run = snapshots.latest(store.root, as_of)
    row = _require(run, store, account)
    evidence = snapshots.evidence_rows(run, account)
    handles = store.handles(sorted({e["ref"] for e in evidence if e["kind"] == "person"}) + [account])
    components = []
    for component in _components(run):
        name = component["name"]
        items = []
        for e in evidence:
            if e["component"] != name:
                continue
            counts = {k: int(e[f"n_{k}"]) for k in KIND_WEIGHTS}
            item = {"kind": e["kind"], "ref": e["ref"], "weight": round(float(e["weight"]), 4), "reactions": kinds_text(counts)}
            if e["kind"] == "person":
                item["handle"] = handles.get(e["ref"])
                if not allowed.allows(e["ref"]):
                    item.update(ref=None, handle=None, hidden=True)
            else:
                item["reactors"] = int(e["reactors"])
                item["url"] = post_url(row["account"], e["ref"])
            items.append(item)
        components.append({
            "name": name, "points": row[f"{name}_points"], "value": round(row[f"{name}_value"], 4),
            "measure": round(row[f"{name}_measure"], 4), "weight": component["weight"],
            "description": component["description"], "evidence": items,
        })
    discounts = [
        {"reason": e["ref"], "percent": round(float(e["weight"]), 1), "reactors": int(e["reactors"]),
         "ring_size": int(e["ring_size"]) or None, "detail": _discount_text(e)}
        for e in evidence if e["component"] == "discounts"
    ]
    return {
        "account": account, "handle": handles.get(account), "as_of": run.as_of.isoformat(),
        "scoring_version": run.meta["scoring_version"], "score": row["score"], "base": 1.0,
        "components": components, "discounts": discounts,
        "flags": [f for f in (row["flags"] or "").split(",") if f],
        "totals": {"reactors": row["reactors"], "reactions": row["reactions"], "posts": row["posts"],
                   "genuineness": round(row["genuineness"], 4)},
        "nps": _nps_note(row.get("nps")),
    }


def _nps_note(score) -> dict | None:
    """The latest NPS answer, reported; detractors are never used against a score."""
    if score is None or score != score:
        return None
    group = "promoter" if score >= 9 else ("passive" if score >= 7 else "detractor")
    note = {"promoter": "counts referrals 1.25x", "passive": "no effect",
            "detractor": "reported to the brand, not used in the score"}[group]
    return {"score": int(score), "group": group, "effect": note}


def _discount_text(e: dict) -> str:
    counts = kinds_text({k: int(e[f"n_{k}"]) for k in KIND_WEIGHTS})
    reason, _, label = str(e["ref"]).partition(":")
    removed = f"discounted by {_percent(e['weight'])} %"
    together = f"the whole group counts as at most {RING_KEEP:.0%} of one person"
    if reason == "ring":
        return f"{counts} from {e['reactors']} member(s) of a reciprocal ring of {e['ring_size']} accounts ({together}) {removed}"
    if reason == "clones":
        return (f"{counts} from {e['reactors']} member(s) of a cluster of {e['ring_size']} look-alike accounts that "
                f"nobody reacts to and that all reacted to the same accounts ({together}) {removed}")
    return f"{counts} from {e['reactors']} account(s) flagged {label} {removed}"


def _percent(value: float) -> str:
    """A share in per cent to a tenth, never shown as 100 or 0 when it is not (99.4 % is not all)."""
    shown = round(float(value), 1)
    if value < 100:
        shown = min(shown, 99.9)
    if value > 0:
        shown = max(shown, 0.1)
    return f"{shown:g}"


def history(store: Store, account: str) -> list[dict]:
    """``account``'s score in every snapshot (none for an account answers may not show, whatever the snapshots hold)."""
    _shown(store, account)
    series = []
    for run in snapshots.runs(store.root):
        row = snapshots.account_row(run, account)
        if row is None:
            continue
        series.append({"as_of": run.as_of.isoformat(), "score": row["score"], "scoring_version": run.meta["scoring_version"],
                       **{c["name"]: row[f"{c['name']}_points"] for c in _components(run)}})
    if not series:
        raise UnknownAccount(f"{account} has no score in any snapshot")
    return series


def diff(store: Store, account: str, since: date, as_of: date | None = None) -> dict:
    """How the score moved between the snapshot on or before ``since`` and the newest
    (or ``as_of``): per component, and the reactions that arrived in between."""
    from renown.score.run import window_events

    allowed = _shown(store, account)
    new = snapshots.latest(store.root, as_of)
    old = snapshots.on_or_before(store.root, since)
    if old is None:
        raise snapshots.NoSnapshot(f"no snapshot on or before {since}; the first is "
                                   f"{snapshots.runs(store.root)[0].as_of}")
    after = _require(new, store, account)
    before = snapshots.account_row(old, account)
    names = [c["name"] for c in _components(new)]
    components = []
    for name in names:
        was = before.get(f"{name}_points", 0.0) if before else 0.0
        components.append({"name": name, "from": was, "to": after[f"{name}_points"],
                           "change": round(after[f"{name}_points"] - was, 1)})
    arrivals = window_events(store, account, end_of_day(old.as_of), end_of_day(new.as_of))
    window_days = int(new.meta.get("window_days", 90))
    expired = window_events(store, account, end_of_day(old.as_of) - timedelta(days=window_days),
                            end_of_day(new.as_of) - timedelta(days=window_days))
    versions = {old.meta["scoring_version"], new.meta["scoring_version"]}
    return {
        "account": account, "from": {"as_of": old.as_of.isoformat(), "score": before["score"] if before else None},
        "to": {"as_of": new.as_of.isoformat(), "score": after["score"]},
        "change": after["score"] - (before["score"] if before else 1),
        "components": components,
        "new_reactions": {"count": arrivals[0]["total"], "reactors": arrivals[0]["reactors"],
                          "latest": [_event(e, allowed) for e in arrivals[1:]]},
        "expired_reactions": {"count": expired[0]["total"], "reactors": expired[0]["reactors"]},
        "note": "scores from different scoring versions are not comparable" if len(versions) > 1 else None,
    }


def _event(e: dict, allowed: Scope) -> dict:
    """A reaction behind a change; one by a person answers may not show is kept unnamed (its event id
    can carry their handle: Mastodon and Bluesky ids are URIs)."""
    if not allowed.allows(e["actor"]):
        return {"event_id": None, "kind": e["kind"], "actor": None, "hidden": True,
                "created_at": e["created_at"].isoformat(), "post": e["parent_post_id"]}
    return {"event_id": e["event_id"], "kind": e["kind"], "actor": e["actor"], "created_at": e["created_at"].isoformat(),
            "post": e["parent_post_id"]}


def top_topic(store: Store, topic: str, limit: int | None = 20, as_of: date | None = None) -> list[dict]:
    """The leaderboard of one topic (topic scores are on the global 1–100 scale); ``limit=None``: all of it."""
    from renown.topics import taxonomy

    run = snapshots.latest(store.root, as_of)
    wanted = taxonomy().topic_of(topic)
    visible, params = _visible(store)
    page = "" if limit is None else f" LIMIT {int(limit)}"
    rows = snapshots.query(f"SELECT account, score, posts, name FROM read_parquet({sql_text(run.topics)}) WHERE topic = ? "
                           f"AND {visible} ORDER BY exact DESC, account{page}",
                           [wanted, *params]) if run.has_topic_scores else []
    if not rows:
        known = snapshots.query(f"SELECT DISTINCT topic FROM read_parquet({sql_text(run.topics)}) ORDER BY 1") if run.has_topic_scores else []
        raise UnknownAccount(f"no scores for topic {topic!r} on {run.as_of}; scored topics: "
                             f"{', '.join(k['topic'] for k in known) or 'none'}")
    handles = store.handles([r["account"] for r in rows])
    return [{"rank": i, "account": r["account"], "handle": handles.get(r["account"]), "score": r["score"],
             "topic": wanted, "topic_name": r["name"], "posts": r["posts"], "as_of": run.as_of.isoformat()}
            for i, r in enumerate(rows, start=1)]


def scored_topics(store: Store, as_of: date | None = None) -> list[dict]:
    """The topics the snapshot scored, with how many accounts each, most populated first."""
    run = snapshots.latest(store.root, as_of)
    if not run.has_topic_scores:
        return []
    return snapshots.query(f"SELECT topic, any_value(name) AS name, count(*) AS accounts FROM read_parquet({sql_text(run.topics)}) "
                           "GROUP BY topic ORDER BY accounts DESC, topic")


def topics(store: Store, account: str, as_of: date | None = None, limit: int = 5) -> dict:
    """What ``account`` is known for: its topic scores, each with the posts and people behind it."""
    from renown.topics import taxonomy

    allowed = _shown(store, account)
    run = snapshots.latest(store.root, as_of)
    _require(run, store, account)
    rows = snapshots.query(f"SELECT topic, name, score, posts, reach, endorsements FROM read_parquet({sql_text(run.topics)}) WHERE account = ? "
                           "ORDER BY exact DESC, topic", [account]) if run.has_topic_scores else []
    window_days = int(run.meta.get("window_days", 90))
    tax = taxonomy()
    con = store.connect()
    posts = con.execute(
        """SELECT network, post_id, tags FROM events WHERE actor = ? AND kind IN ('post', 'reply', 'quote')
           AND len(tags) > 0 AND created_at > ? AND created_at <= ?""",
        [account, _end(run) - timedelta(days=window_days), _end(run)]).fetchall()
    known_for = []
    for row in rows[:limit]:
        ids = [(n, p) for n, p, tags in posts if any(tax.topic_of(t) == row["topic"] for t in tags)]
        evidence = {"top_posts": [], "top_people": []}
        if ids:
            con.execute("CREATE OR REPLACE TEMP TABLE _ids (network VARCHAR, post_id VARCHAR)")
            con.executemany("INSERT INTO _ids VALUES (?, ?)", ids)
            reactions = """FROM events e JOIN _ids USING (network) WHERE e.parent_post_id = _ids.post_id
                           AND e.target = ? AND e.actor <> e.target AND e.kind IN ('reply', 'repost', 'quote', 'like', 'mention')"""
            evidence["top_posts"] = [{"post": p, "reactions": n} for p, n in con.execute(
                f"SELECT e.parent_post_id, count(*) {reactions} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3", [account]).fetchall()]
            evidence["top_people"] = [
                {"account": a, "reactions": n} if allowed.allows(a) else {"account": None, "reactions": n, "hidden": True}
                for a, n in con.execute(f"SELECT e.actor, count(*) {reactions} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
                                        [account]).fetchall()]
        known_for.append({"topic": row["topic"], "name": row["name"], "score": row["score"], "posts": row["posts"],
                          "reach": round(row["reach"], 3), "endorsements": row["endorsements"], **evidence})
    con.close()
    return {"account": account, "as_of": run.as_of.isoformat(), "known_for": known_for}


def _end(run: snapshots.Run):
    return end_of_day(run.as_of)


_PLURAL = {"reply": "replies"}


def kinds_text(counts: dict[str, int]) -> str:
    """``3 likes, 1 reply`` from per-kind counts."""
    parts = [f"{n} {kind if n == 1 else _PLURAL.get(kind, kind + 's')}" for kind, n in counts.items() if n]
    return ", ".join(parts) if parts else "no reactions"
