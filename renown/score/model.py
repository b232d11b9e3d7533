"""The score model: components → raw value → calibrated 1–100, explained exactly.

Each :class:`Component` turns the window's features into a non-negative value
per account (log-scaled, so doubling an audience adds a constant). The raw
model value is their weighted sum ``z = Σ weight_c · value_c``; the score is
``calibrate(z)`` (see :mod:`renown.score.calibration`). The explanation gives
every component its share of the points above the base of 1 in proportion to
``weight_c · value_c / z``, rounded to tenths by largest remainder so that
base + points add up to the integer score exactly.

Components (version 1):

reach
    ``log2(1 + Σ_r g_r · recency_r)`` over distinct reactors ``r``: people,
    not reaction counts, each weighted by genuineness ``g`` and by the age of
    their newest reaction.
amplification
    ``log2(1 + E / (posts + 2)) · (½ + ½ · responded / (posts + 1))`` where
    ``E = Σ_pairs log2(1 + w) · g · s`` (diminishing returns per pair,
    genuineness, selectivity) and posts are decayed counts: reactions per
    post and the share of posts that drew any reaction. Posting more without
    response lowers it.
network
    ``log2(1 + max(0, π / π₀ − 1))``: discounted weighted PageRank ``π`` of
    the reaction graph (edge reactor → author, weight ``log2(1 + w)``; each
    reactor passes on only ``g`` of its rank) relative to ``π₀``, the rank of
    an account nobody reacts to.

New components (topics, offline signals, endorsements) register in
:data:`COMPONENTS`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from renown.score import calibration
from renown.score.features import KIND_WEIGHTS, Features
from renown.score.gaming import Genuineness, assess
from renown.score.graph import adjacency, pagerank

DAMPING = 0.85
POST_PRIOR = 2.0
EVIDENCE_TOP = 5


@dataclass
class Context:
    """Everything components may use, computed once per scoring run."""

    f: Features
    genuine: Genuineness
    strength: np.ndarray  # per pair: log2(1 + weight)
    effective: np.ndarray  # per pair: strength × g × s of the reactor
    rank: np.ndarray  # discounted PageRank per node
    rank_base: float  # rank of a node without in-edges
    transition: np.ndarray  # per pair: probability the reactor's rank walks this edge


@dataclass(frozen=True)
class Component:
    name: str
    weight: float
    description: str
    value: Callable[[Context], np.ndarray]  # transformed value, ≥ 0, per node
    measure: Callable[[Context], np.ndarray]  # the human-readable quantity behind it


def _reach_measure(c: Context) -> np.ndarray:
    return np.bincount(c.f.dst, weights=c.genuine.g[c.f.src] * c.f.recency, minlength=c.f.n)


def _amplification_parts(c: Context) -> tuple[np.ndarray, np.ndarray]:
    effective = np.bincount(c.f.dst, weights=c.effective, minlength=c.f.n)
    rate = effective / (c.f.posts + POST_PRIOR)
    share = c.f.responded / (c.f.posts + 1.0)
    return rate, share


def _network_measure(c: Context) -> np.ndarray:
    return np.maximum(0.0, c.rank / c.rank_base - 1.0) if c.f.n else np.zeros(0)


COMPONENTS: list[Component] = [
    Component("reach", 1.0, "distinct genuine people who reacted", lambda c: np.log2(1 + _reach_measure(c)), _reach_measure),
    Component(
        "amplification", 1.0, "weighted reactions per post and share of posts that drew a reaction",
        lambda c: (lambda rate, share: np.log2(1 + rate) * (0.5 + 0.5 * share))(*_amplification_parts(c)),
        lambda c: _amplification_parts(c)[0],
    ),
    Component("network", 1.0, "PageRank in the reaction graph, times the baseline", lambda c: np.log2(1 + _network_measure(c)), _network_measure),
]


@dataclass
class Scores:
    """One scoring run: per-account numbers plus the evidence behind them."""

    keys: np.ndarray
    score: np.ndarray  # integer 1..100
    exact: np.ndarray  # calibrated, unrounded
    z: np.ndarray
    values: dict[str, np.ndarray]  # component -> transformed value
    measures: dict[str, np.ndarray]
    points: dict[str, np.ndarray]  # component -> points (tenths), summing with the base 1 to score
    context: Context
    evidence: list[dict] = field(default_factory=list)


def build_context(f: Features) -> Context:
    genuine = assess(f)
    strength = np.log2(1.0 + f.weight)
    effective = strength * genuine.g[f.src] * genuine.selectivity[f.src]
    n = f.n
    if n:
        W = adjacency(f.src, f.dst, strength, n)
        rank = pagerank(W, damping=DAMPING, keep=genuine.g)
        out = np.bincount(f.src, weights=strength, minlength=n)
        transition = np.divide(strength, out[f.src], out=np.zeros_like(strength), where=out[f.src] > 0) * genuine.g[f.src]
        passed = out > 0
        leaked = float(((np.where(passed, 1.0 - genuine.g, 1.0)) * rank).sum())
        rank_base = ((1.0 - DAMPING) + DAMPING * leaked) / n
    else:
        rank, transition, rank_base = np.zeros(0), np.zeros(0), 1.0
    return Context(f, genuine, strength, effective, rank, rank_base, transition)


def score(f: Features, components: list[Component] | None = None) -> Scores:
    components = components or COMPONENTS
    ctx = build_context(f)
    values = {c.name: c.value(ctx) for c in components}
    measures = {c.name: c.measure(ctx) for c in components}
    weighted = {c.name: c.weight * values[c.name] for c in components}
    z = np.sum(list(weighted.values()), axis=0) if f.n else np.zeros(0)
    exact = calibration.calibrate(z)
    rounded = np.floor(exact + 0.5).astype(np.int64)
    points = allocate_points(rounded, z, weighted)
    return Scores(f.keys, rounded, exact, z, values, measures, points, ctx)


def allocate_points(score: np.ndarray, z: np.ndarray, weighted: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Split ``score − 1`` over components in proportion to their weighted values,
    in tenths, by largest remainder (ties go to the earlier component)."""
    names = list(weighted)
    if not names:
        return {}
    shares = np.stack([weighted[name] for name in names], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(z[:, None] > 0, shares / z[:, None], 0.0)
    total = (score - 1) * 10
    exact = shares * total[:, None]
    units = np.floor(exact + 1e-9).astype(np.int64)
    remainder = total - units.sum(axis=1)
    order = np.argsort(-(exact - units), axis=1, kind="stable")
    for k in range(len(names)):
        give = remainder > k
        units[np.arange(len(score))[give], order[give, k]] += 1
    return {name: units[:, i] / 10.0 for i, name in enumerate(names)}


def _top_per_group(group: np.ndarray, value: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` largest positive values in each group, sorted by
    group then value (ties: larger ``tiebreak``, then lower index), and their rank (1-based)."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    tiebreak = np.zeros(len(group)) if tiebreak is None else tiebreak
    order = np.lexsort((np.arange(len(group)), -tiebreak, -value, group))
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(sorted_group)]))
    rank = np.arange(len(sorted_group)) - first + 1
    keep = (rank <= k) & (value[order] > 0)
    return order[keep], rank[keep]


#: Columns of the evidence table (one row per person, post or discount behind a component).
#: ``rank`` orders people and posts within a component; a discount row has rank 0 and says how
#: many ``reactors`` it covers, the ``ring_size`` when it is a ring, and in ``weight`` the per cent removed.
EVIDENCE_COLUMNS = ("account", "component", "rank", "kind", "ref", "weight", "reactors", "ring_size") + tuple(
    f"n_{k}" for k in KIND_WEIGHTS)


def evidence(s: Scores) -> dict[str, np.ndarray]:
    """Top people behind reach and network, and one row per discount reason,
    as columns (rendered into sentences only when explained)."""
    c, f = s.context, s.context.f
    parts = []

    def block(component: str, kind: str, picked: np.ndarray, rank: np.ndarray, refs: np.ndarray, weight: np.ndarray,
              ring_size: np.ndarray | None = None, counts: dict[str, np.ndarray] | None = None, accounts=None,
              reactors: np.ndarray | None = None) -> None:
        parts.append({
            "account": s.keys[accounts if accounts is not None else f.dst[picked]],
            "component": np.full(len(picked), component, dtype=object),
            "rank": rank.astype(np.int64),
            "kind": np.full(len(picked), kind, dtype=object),
            "ref": refs,
            "weight": weight.astype(np.float64),
            "reactors": reactors if reactors is not None else np.ones(len(picked), dtype=np.int64),
            "ring_size": ring_size if ring_size is not None else np.zeros(len(picked), dtype=np.int64),
            **{f"n_{k}": (counts[k] if counts is not None else f.kind_counts[k][picked]) for k in KIND_WEIGHTS},
        })

    reach_value = c.genuine.g[f.src] * f.recency
    picked, rank = _top_per_group(f.dst, reach_value, EVIDENCE_TOP, tiebreak=c.strength)
    block("reach", "person", picked, rank, s.keys[f.src[picked]], reach_value[picked])
    flow = DAMPING * c.rank[f.src] * c.transition / c.rank_base if f.n else np.zeros(0)
    picked, rank = _top_per_group(f.dst, flow, EVIDENCE_TOP)
    block("network", "person", picked, rank, s.keys[f.src[picked]], flow[picked])

    discounted = np.flatnonzero(c.genuine.g[f.src] < 0.999)
    if len(discounted):
        src = f.src[discounted]
        reason = np.array([_reason_code(c.genuine, int(i)) for i in np.unique(src)], dtype=object)
        reason_of = dict(zip(np.unique(src).tolist(), reason))
        codes = np.array([reason_of[i] for i in src.tolist()], dtype=object)
        _, code_ids = np.unique(codes, return_inverse=True)
        order = np.lexsort((code_ids, f.dst[discounted]))
        d = discounted[order]
        key = f.dst[d] * (code_ids.max() + 1) + code_ids[order]
        starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
        full = np.add.reduceat(c.strength[d], starts)
        kept = np.add.reduceat(c.strength[d] * c.genuine.g[f.src[d]], starts)
        pct = np.where(full > 0, 100.0 * (1.0 - kept / np.where(full > 0, full, 1.0)), 100.0)
        counts = {k: np.add.reduceat(f.kind_counts[k][d], starts) for k in KIND_WEIGHTS}
        reactors = np.diff(np.r_[starts, len(d)])
        block("discounts", "discount", starts, np.zeros(len(starts), dtype=np.int64), codes[order][starts], pct,
              ring_size=c.genuine.ring_size[f.src[d[starts]]], counts=counts, accounts=f.dst[d[starts]],
              reactors=reactors)
    if not parts:
        return {name: np.zeros(0) for name in EVIDENCE_COLUMNS}
    return {name: np.concatenate([p[name] for p in parts]) for name in EVIDENCE_COLUMNS}


def _reason_code(genuine: Genuineness, node: int) -> str:
    if genuine.ring[node] >= 0:
        return f"ring:{genuine.ring[node]}"
    return "flagged:" + "+".join(genuine.reasons(node))


_PLURAL = {"reply": "replies"}


def kinds_text(counts: dict[str, int]) -> str:
    """``3 likes, 1 reply`` from per-kind counts."""
    parts = [f"{n} {kind if n == 1 else _PLURAL.get(kind, kind + 's')}" for kind, n in counts.items() if n]
    return ", ".join(parts) if parts else "no reactions"
