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
import pyarrow.compute as pc

from renown.endorsements import CAP
from renown.score import calibration
from renown.score.engine import Engine, as_engine
from renown.score.features import Window, arrays, decay_sql, fixed_sum, kind_weight_sql, window_sql
from renown.score.graph import Teleport
from renown.score.model import POST_PRIOR, Context, genuine_reactions
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
        SELECT {engine.lookup_hint("nodes")} nodes.idx AS author, e.network, e.post_id, ph.topic, {decay} AS decay
        FROM (SELECT actor, network, post_id, created_at, ' ' || trim({words}) || ' ' AS words
              FROM events WHERE {in_window}
                AND kind IN ('post', 'reply', 'quote') AND post_id IS NOT NULL AND text IS NOT NULL) e
        JOIN _phrases ph ON contains(e.words, ' ' || ph.phrase || ' ')
        JOIN nodes ON nodes.key = e.actor"""


def topic_scores(con: "duckdb.DuckDBPyConnection | Engine", ctx: Context, window: Window,
                 endorsements: list[tuple] = ()) -> pa.Table:
    """One row per (account, topic) for the window's main topics (needs ``compute``'s temp
    tables; leaves ``post_topics``).

    ``endorsements`` are ``(endorser, endorsee, topic, when)``; each adds the endorser's
    genuineness × age decay to the endorsee's topic, the sum capped (see :mod:`renown.endorsements`)."""
    engine = as_engine(con)
    f = ctx.f
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
        SELECT {engine.lookup_hint("nodes")} DISTINCT nodes.idx AS author, e.network, e.post_id, tt.topic, {decay} AS decay
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
    by_topic = np.lexsort((dsts, numbers))  # (topic, account) order, like the posts below
    dsts, numbers = dsts[by_topic], numbers[by_topic]
    received = {name: values[by_topic] for name, values in received.items()}
    received_at = np.searchsorted(numbers, np.arange(len(chosen) + 1))
    posts = arrays(engine.table(f"""
        SELECT pt.author, c.t AS topic, {fixed_sum("pt.decay")} AS posts, CAST(count(*) AS BIGINT) AS n
        FROM post_topics pt JOIN _chosen c ON c.topic = pt.topic GROUP BY ALL ORDER BY topic, author"""))
    posts_at = np.searchsorted(posts["topic"], np.arange(len(chosen) + 1))
    keys = f.key_array
    vouched = _vouched(endorsements, keys, g, window)
    parts: list[dict[str, np.ndarray]] = []
    size = topics_per_block(engine.topic_block, len(chosen), f.n)
    for first in range(0, len(chosen), size):
        last = min(first + size, len(chosen))
        # each topic's teleport is its authors, weighed by their decayed posts in it
        entries = slice(posts_at[first], posts_at[last])
        teleport = Teleport(np.asarray(posts["author"][entries], dtype=np.int64),
                            np.asarray(posts["topic"][entries], dtype=np.int64) - first,
                            np.asarray(posts["posts"][entries], dtype=np.float64), last - first)
        ranks = ctx.ranker(teleport)  # a block of topics at once, at their entries
        for t in range(first, last):
            mine = slice(posts_at[t] - posts_at[first], posts_at[t + 1] - posts_at[first])
            theirs = slice(received_at[t], received_at[t + 1])
            parts.append(_topic_rows(t, ranks[mine], {name: v[posts_at[t]:posts_at[t + 1]] for name, v in posts.items()},
                                     dsts[theirs], {name: v[theirs] for name, v in received.items()}, f.n,
                                     vouched.get(chosen[t])))
    if not parts:
        return empty
    column = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    topic = pa.array(column.pop("topic"), pa.int32())
    names = [tax.name_of(t) for t in chosen]
    return pa.table({
        "account": keys.take(pa.array(column.pop("author"))),
        "topic": pa.DictionaryArray.from_arrays(topic, pa.array(chosen, pa.string())).cast(pa.string()),
        "name": pa.DictionaryArray.from_arrays(topic, pa.array(names, pa.string())).cast(pa.string()),
        **column, "score": np.floor(column["exact"] + 0.5).astype(np.int64)}, schema=TOPIC_SCHEMA)


def _vouched(endorsements, keys: pa.Array, g: np.ndarray, window: Window) -> dict[str, tuple[np.ndarray, ...]]:
    """Per topic: the endorsed accounts (sorted), the sum of their endorsers' genuineness × age decay,
    and how many endorsed them (endorsers outside the run count with genuineness 1)."""
    endorsements = list(endorsements)
    if not endorsements:
        return {}
    names = pa.array([e[0] for e in endorsements] + [e[1] for e in endorsements], pa.string())
    at = pc.index_in(names, value_set=keys).fill_null(-1).to_numpy()
    sums: dict[str, dict[int, list]] = {}
    for (_, _, topic, when), giver, receiver in zip(endorsements, at[:len(endorsements)], at[len(endorsements):]):
        if receiver < 0:  # not scored in this run
            continue
        age_days = (window.as_of - when).total_seconds() / 86400.0
        weight = (g[giver] if giver >= 0 else 1.0) * 0.5 ** (age_days / window.half_life_days)
        total = sums.setdefault(topic, {}).setdefault(int(receiver), [0.0, 0])
        total[0] += weight
        total[1] += 1
    out = {}
    for topic, by_account in sums.items():
        accounts = np.array(sorted(by_account), dtype=np.int64)
        out[topic] = (accounts, np.array([by_account[a][0] for a in accounts.tolist()]),
                      np.array([by_account[a][1] for a in accounts.tolist()], dtype=np.int64))
    return out


#: An engine that ranks topics in dense n × block arrays (the embedded engine holds about five at once) takes
#: fewer topics per block when one such array would pass this many bytes: 32 topics at 1M accounts, 3 at 10M.
#: Fewer topics per block cost some speed (10M events, 50 topics: 16 per block +13 % topic time, −580 MiB).
BLOCK_BYTES = 256 << 20


def topics_per_block(engine_block: int | None, topics: int, n: int) -> int:
    """How many topics are ranked together: the engine's block (``None``: all at once), within :data:`BLOCK_BYTES`."""
    if engine_block is None:
        return max(topics, 1)
    return max(1, min(engine_block, BLOCK_BYTES // (8 * max(n, 1))))


def topic_reactions(p, nodes) -> dict[str, np.ndarray]:
    """Grouping kernel (by ``dst``, group = topic number) over the topic pairs: the global model's reach and
    amplification terms restricted to reactions to the account's posts in the topic."""
    return {"keep": np.ones(len(p["src"]), dtype=bool), "group": p["topic"], **genuine_reactions(p, nodes)}


def _topic_rows(t: int, rank: np.ndarray, posts: dict[str, np.ndarray], dsts: np.ndarray,
                received: dict[str, np.ndarray], n: int, vouched: tuple[np.ndarray, ...] | None) -> dict[str, np.ndarray]:
    """Topic ``t``'s rows: its authors' reach, amplification and network within the topic (``rank``: the
    topic's PageRank at its authors; ``posts``: the authors in order; ``dsts``: the authors reactions
    reached, in order, with their ``received`` terms; ``vouched``: its endorsements, see :func:`_vouched`)."""
    authors = np.asarray(posts["author"], dtype=np.int64)
    decayed = np.asarray(posts["posts"], dtype=np.float64)
    reach, effective = np.zeros(len(authors)), np.zeros(len(authors))
    at, found = _positions(authors, dsts)  # reactions are to posts in the topic: their authors are among these
    reach[at[found]], effective[at[found]] = received["reach"][found], received["effective"][found]
    network = np.maximum(0.0, rank * n - 1.0)
    vouches, value = np.zeros(len(authors), dtype=np.int64), np.zeros(len(authors))
    if vouched is not None:
        endorsed, weight, count = vouched
        where, found = _positions(authors, endorsed)  # endorsements of people who did not post in it count for nothing
        value[where[found]], vouches[where[found]] = weight[found], count[found]
    endorsed_value = np.minimum(CAP, np.log2(1 + value))
    amplification = effective / (decayed + POST_PRIOR)
    z = np.log2(1 + reach) + np.log2(1 + amplification) + np.log2(1 + network) + endorsed_value
    return {"author": authors, "topic": np.full(len(authors), t, dtype=np.int32), "exact": calibration.calibrate(z),
            "reach": reach, "amplification": amplification, "network": network,
            "posts": np.asarray(posts["n"], dtype=np.int64), "endorsements": vouches, "endorsement_value": endorsed_value}


def _positions(sorted_keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``wanted`` is in ``sorted_keys``, and whether it is there at all."""
    at = np.minimum(np.searchsorted(sorted_keys, wanted), max(len(sorted_keys) - 1, 0))
    found = sorted_keys[at] == wanted if len(sorted_keys) else np.zeros(len(wanted), dtype=bool)
    return at, found
