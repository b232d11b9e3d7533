"""Influence per topic: topic-sensitive PageRank and topic scores on the global scale.

A post belongs to the topics of its tags and, for topics already in use as tags,
to those its text names (the keyword taxonomy: ``quantum computing`` in a title).
For each of the window's most common topics (by number of distinct authors),
PageRank is personalised on the authors of that topic's posts (teleport mass
proportional to their decayed post counts; Haveliwala, "Topic-sensitive
PageRank", WWW 2002), reusing the global reaction graph and discounts. An
account's topic value is the global model restricted to its posts in the
topic — ``log2(1 + reach_T) + log2(1 + E_T / (posts_T + 2)) + log2(1 + n·π_T)``
(genuine reactors of its topic posts; genuine weighted reactions per topic post;
personalised rank relative to uniform), plus endorsements (capped, see
:mod:`renown.endorsements`) — calibrated with the global knots, so a
topic score reads on the same 1–100 scale. Only accounts that posted in a topic
are scored in it; its top reactors and posts are the "known for" evidence.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa

from renown.endorsements import CAP
from renown.score import calibration
from renown.score.engine import Engine, as_engine
from renown.score.features import Window, arrays, decay_sql, fixed_sum, kind_weight_sql, window_sql
from renown.score.graph import Teleport
from renown.score.model import DAMPING, POST_PRIOR, Scores, genuine_reactions
from renown.score.pairs import LocalPairs
from renown.topics import taxonomy

_WORDS = re.compile(r"[a-z0-9]+")

#: A topic needs this many distinct authors to be scored.
MIN_AUTHORS = 2
#: A snapshot's ``topics`` table: one row per (account, topic), the same columns when no topic was scored.
TOPIC_SCHEMA = pa.schema([("account", pa.string()), ("topic", pa.string()), ("name", pa.string()),
                          ("exact", pa.float64()), ("reach", pa.float64()), ("amplification", pa.float64()),
                          ("network", pa.float64()), ("posts", pa.int64()), ("endorsements", pa.int64()),
                          ("endorsement_value", pa.float64()), ("score", pa.int64())])


def phrases(topic: str) -> set[str]:
    """How a topic is written in running text: its display name and its slug, as lower-case words."""
    name = taxonomy().name_of(topic)
    return {p for p in (" ".join(_WORDS.findall(name.lower())), " ".join(_WORDS.findall(topic.lower()))) if len(p) >= 4}


def _keyword_matches(engine: Engine, chosen: list[str], in_window: str, decay: str) -> str:
    """Posts whose text names one of the chosen topics join that topic too (the keyword taxonomy).
    Only topics already in use as tags are matched, which keeps common words from inventing topics."""
    pairs = [(phrase, topic) for topic in chosen for phrase in phrases(topic)]
    engine.register("_phrases", pa.table({"phrase": pa.array([p for p, _ in pairs], pa.string()),
                                          "topic": pa.array([t for _, t in pairs], pa.string())}))
    words = engine.replace_all("lower(text)", "[^a-z0-9]+", " ")
    return f"""
        SELECT nodes.idx AS author, e.network, e.post_id, ph.topic, {decay} AS decay
        FROM (SELECT actor, network, post_id, created_at, ' ' || trim({words}) || ' ' AS words
              FROM events WHERE {in_window}
                AND kind IN ('post', 'reply', 'quote') AND post_id IS NOT NULL AND text IS NOT NULL) e
        JOIN _phrases ph ON contains(e.words, ' ' || ph.phrase || ' ')
        JOIN nodes ON nodes.key = e.actor"""


def topic_scores(con: "duckdb.DuckDBPyConnection | Engine", s: Scores, window: Window,
                 endorsements: list[tuple] = ()) -> pa.Table:
    """One row per (account, topic) for the window's main topics (needs ``compute``'s temp
    tables; leaves ``post_topics``).

    ``endorsements`` are ``(endorser, endorsee, topic, when)``; each adds the endorser's
    genuineness × age decay to the endorsee's topic, the sum capped (see :mod:`renown.endorsements`)."""
    engine = as_engine(con)
    f, ctx = s.context.f, s.context
    tax = taxonomy()
    in_window = window_sql(engine, window)
    posts_in_window = f"{in_window} AND kind IN ('post', 'reply', 'quote') AND post_id IS NOT NULL"
    tags = engine.table(f"""SELECT DISTINCT tag FROM (SELECT {engine.explode('tags')} AS tag FROM events
                            WHERE {posts_in_window}) t""").column("tag").to_pylist()
    empty = TOPIC_SCHEMA.empty_table()
    if not tags or f.n == 0:
        return empty
    engine.register("_tag_topics", pa.table({"tag": pa.array(tags, pa.string()),
                                             "topic": pa.array([tax.topic_of(t) for t in tags], pa.string())}))
    decay = decay_sql(engine, window)
    tagged = f"""
        SELECT DISTINCT nodes.idx AS author, e.network, e.post_id, tt.topic, {decay} AS decay
        FROM (SELECT actor, network, post_id, created_at, {engine.explode('tags')} AS tag FROM events
              WHERE {posts_in_window}) e
        JOIN _tag_topics tt ON tt.tag = e.tag JOIN nodes ON nodes.key = e.actor"""
    engine.materialize("post_topics", tagged)
    chosen = engine.table(f"""
        SELECT topic, count(DISTINCT author) AS authors FROM post_topics GROUP BY topic
        HAVING count(DISTINCT author) >= {MIN_AUTHORS} ORDER BY authors DESC, topic""").column("topic").to_pylist()
    if not chosen:
        return empty
    # UNION, not UNION ALL: a post tagged with a topic and naming it is in the topic once
    engine.materialize("post_topics", f"{tagged} UNION {_keyword_matches(engine, chosen, in_window, decay)}")
    engine.register("_chosen", pa.table({"topic": pa.array(chosen, pa.string()),
                                         "t": pa.array(np.arange(len(chosen)), pa.int64())}))
    g = ctx.genuine.g
    # reactions to an account's posts in a topic, per (account, topic number, reactor): pairs of their own
    engine.view("topic_pairs", f"""
        SELECT pt.author AS dst, c.t AS topic, r.src, max(r.decay) AS recency,
               {fixed_sum(kind_weight_sql("r.kind") + " * r.decay")} AS weight
        FROM r JOIN post_topics pt ON pt.network = r.network AND pt.post_id = r.parent_post_id AND pt.author = r.dst
               JOIN _chosen c ON c.topic = pt.topic
        GROUP BY ALL""")
    topic_pairs = engine.pair_source(f.n, "topic_pairs") or LocalPairs(
        arrays(engine.table("SELECT * FROM topic_pairs ORDER BY dst, src, topic")), f.n)
    dsts, numbers, received = topic_pairs.sum_by_group("dst", topic_reactions, {"g": g, "s": ctx.genuine.selectivity})
    posts = arrays(engine.table(f"""
        SELECT author, topic, {fixed_sum("decay")} AS posts, CAST(count(*) AS BIGINT) AS n FROM post_topics
        WHERE topic IN (SELECT topic FROM _chosen) GROUP BY ALL ORDER BY topic, author"""))
    rows = {"account": [], "topic": [], "name": [], "exact": [], "reach": [], "amplification": [], "network": [],
            "posts": [], "endorsements": [], "endorsement_value": []}
    position = {k: i for i, k in enumerate(f.keys.tolist())}
    vouched: dict[str, np.ndarray] = {}
    vouches: dict[str, np.ndarray] = {}
    for endorser, endorsee, topic, when in endorsements:
        if endorsee not in position:
            continue
        age_days = (window.as_of - when).total_seconds() / 86400.0
        weight = (g[position[endorser]] if endorser in position else 1.0) * 0.5 ** (age_days / window.half_life_days)
        vouched.setdefault(topic, np.zeros(f.n))[position[endorsee]] += weight
        vouches.setdefault(topic, np.zeros(f.n, dtype=np.int64))[position[endorsee]] += 1
    size = engine.topic_block or len(chosen)
    for first in range(0, len(chosen), size):
        block = chosen[first:first + size]
        # each topic's teleport is its authors, weighed by their decayed posts in it
        entries = [np.flatnonzero(np.asarray(posts["topic"] == topic)) for topic in block]
        teleport = Teleport(np.concatenate([np.asarray(posts["author"][e], dtype=np.int64) for e in entries]),
                            np.concatenate([np.full(len(e), column, dtype=np.int64) for column, e in enumerate(entries)]),
                            np.concatenate([np.asarray(posts["posts"][e], dtype=np.float64) for e in entries]), len(block))
        ranks = np.split(ctx.ranker(teleport), np.cumsum([len(e) for e in entries])[:-1])  # a block of topics at once
        for column, topic in enumerate(block):
            mine = numbers == first + column
            reach, effective = np.zeros(f.n), np.zeros(f.n)
            reach[dsts[mine]], effective[dsts[mine]] = received["reach"][mine], received["effective"][mine]
            _topic_rows(rows, topic, ranks[column], posts, reach, effective, f, vouched, vouches, tax)
    rows["score"] = np.floor(np.asarray(rows["exact"]) + 0.5).astype(np.int64)
    return pa.table(rows, schema=TOPIC_SCHEMA)


def topic_reactions(p, nodes) -> dict[str, np.ndarray]:
    """Grouping kernel (by ``dst``, group = topic number) over the topic pairs: the global model's reach and
    amplification terms restricted to reactions to the account's posts in the topic."""
    return {"keep": np.ones(len(p["src"]), dtype=bool), "group": p["topic"], **genuine_reactions(p, nodes)}


def _topic_rows(rows: dict, topic: str, rank: np.ndarray, posts, reach: np.ndarray, effective: np.ndarray, f,
                vouched, vouches, tax) -> None:
    """Append one topic's rows: its authors' reach, amplification and network within the topic (``rank``:
    the topic's PageRank at its authors, in the order of ``posts``)."""
    mine = np.asarray(posts["topic"] == topic)
    authors = np.asarray(posts["author"][mine], dtype=np.int64)
    decayed = np.asarray(posts["posts"][mine], dtype=np.float64)
    topic_posts = np.zeros(f.n)
    topic_posts[authors] = decayed
    network = np.maximum(0.0, rank * f.n - 1.0)
    endorsed = np.minimum(CAP, np.log2(1 + vouched.get(topic, np.zeros(f.n))[authors]))
    z = np.log2(1 + reach[authors]) + np.log2(1 + effective[authors] / (topic_posts[authors] + POST_PRIOR)) \
        + np.log2(1 + network) + endorsed
    rows["account"] += f.keys[authors].tolist()
    rows["topic"] += [topic] * len(authors)
    rows["name"] += [tax.name_of(topic)] * len(authors)
    rows["exact"] += calibration.calibrate(z).tolist()
    rows["reach"] += reach[authors].tolist()
    rows["amplification"] += (effective[authors] / (topic_posts[authors] + POST_PRIOR)).tolist()
    rows["network"] += network.tolist()
    rows["posts"] += np.asarray(posts["n"][mine], dtype=np.int64).tolist()
    rows["endorsements"] += vouches.get(topic, np.zeros(f.n, dtype=np.int64))[authors].tolist()
    rows["endorsement_value"] += endorsed.tolist()
