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

offline
    ``log2(1 + referred × promoter) + ½ · log2(1 + referred_value / 100)``:
    customers this account referred (×1.25 when its latest NPS answer is a
    promoter's, 9–10) and the revenue they brought, decayed like reactions.
    Zero for accounts without CRM data. Detractors are reported, never punished.

New components (endorsements…) register in :data:`COMPONENTS`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from renown.score import calibration
from renown.score.features import KIND_WEIGHTS, Features
from renown.score.gaming import Genuineness, assess
from renown.score.graph import Teleport, Transition, adjacency, pagerank

DAMPING = 0.85
POST_PRIOR = 2.0
EVIDENCE_TOP = 5


@dataclass
class Context:
    """Everything components and evidence may use, computed once per scoring run."""

    f: Features
    genuine: Genuineness
    rank: np.ndarray  # discounted PageRank per node
    rank_base: float  # rank of a node without in-edges
    transition: Transition | None = None  # the reaction graph's discounted transition, embedded engine only
    ranker: "Ranker | None" = None  # discounted PageRank: uniform (None) for every node, or at a Teleport's entries
    out: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per node: the strength it spreads (log2(1 + w) summed)

    def accounts(self) -> "Accounts":
        """Every account's component inputs, in this process (the features' per-account columns must be here:
        :meth:`~renown.score.features.Features.column`)."""
        f = self.f
        return Accounts({"rank": self.rank, **{name: f.column(name) for name in ACCOUNT_INPUTS if name != "rank"}},
                        self.rank_base)


#: What the components read of each account: the genuine reactions it received (:func:`genuine_reactions`
#: summed), its posts, its rank, its CRM signals.
ACCOUNT_INPUTS = ("reach", "effective", "posts", "responded", "rank", "referred", "referred_value", "nps")


@dataclass(frozen=True)
class Accounts:
    """Some accounts' :data:`ACCOUNT_INPUTS` as columns, and the run's ``rank_base``: what a component reads.
    A batch may be every account (the embedded engine) or one partition's (Spark's executors): components are
    per-account arithmetic, so a score does not depend on the batch it was computed in."""

    columns: Mapping[str, np.ndarray]
    rank_base: float

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


def pair_strength(weight: np.ndarray) -> np.ndarray:
    """The weight of the edge reactor → author in the reaction graph: ``log2(1 + w)`` of the pair's reaction
    weight, diminishing returns for reacting again (PageRank, the evidence and amplification all read it)."""
    return np.log2(1.0 + weight)


def genuine_reactions(p, nodes) -> dict[str, np.ndarray]:
    """Kernel (by ``dst``): each reactor's genuine presence (``g`` × recency of its newest reaction) and
    its effective weight (``log2(1 + w)`` × ``g`` × selectivity) — reach and amplification add them up."""
    g = nodes["g"][p["src"]]
    return {"reach": g * p["recency"], "effective": pair_strength(p["weight"]) * g * nodes["s"][p["src"]]}


def reaction_strength(p, nodes) -> dict[str, np.ndarray]:
    """Kernel (by ``src``): the strength (:func:`pair_strength`) a reactor spreads over its reactions."""
    return {"out": pair_strength(p["weight"])}


@dataclass(frozen=True)
class Component:
    name: str
    weight: float
    description: str
    value: Callable[[Accounts], np.ndarray]  # transformed value, ≥ 0, per account
    measure: Callable[[Accounts], np.ndarray]  # the human-readable quantity behind it


def _reach_measure(a: Accounts) -> np.ndarray:
    return a["reach"]


def _amplification_parts(a: Accounts) -> tuple[np.ndarray, np.ndarray]:
    rate = a["effective"] / (a["posts"] + POST_PRIOR)
    share = a["responded"] / (a["posts"] + 1.0)
    return rate, share


def _network_measure(a: Accounts) -> np.ndarray:
    return np.maximum(0.0, a["rank"] / a.rank_base - 1.0)


REFERENCE_VALUE = 100.0
PROMOTER_BOOST = 1.25


def _offline_measure(a: Accounts) -> np.ndarray:
    return a["referred"]


def _offline_value(a: Accounts) -> np.ndarray:
    promoter = np.where(np.nan_to_num(a["nps"], nan=-1) >= 9, PROMOTER_BOOST, 1.0)
    return np.log2(1 + a["referred"] * promoter) + 0.5 * np.log2(1 + a["referred_value"] / REFERENCE_VALUE)


COMPONENTS: list[Component] = [
    Component("reach", 1.0, "distinct genuine people who reacted", lambda a: np.log2(1 + _reach_measure(a)), _reach_measure),
    Component(
        "amplification", 1.0, "weighted reactions per post and share of posts that drew a reaction",
        lambda a: (lambda rate, share: np.log2(1 + rate) * (0.5 + 0.5 * share))(*_amplification_parts(a)),
        lambda a: _amplification_parts(a)[0],
    ),
    Component("network", 1.0, "PageRank in the reaction graph, times the baseline", lambda a: np.log2(1 + _network_measure(a)), _network_measure),
    Component("offline", 1.0, "customers referred (CRM), promoters counting more, and the revenue they brought",
              _offline_value, _offline_measure),
]


@dataclass
class Scores:
    """Every account's score in this process (:func:`score`), and the context they came from (the evidence: :func:`evidence`)."""

    score: np.ndarray  # integer 1..100
    exact: np.ndarray  # calibrated, unrounded
    z: np.ndarray
    values: dict[str, np.ndarray]  # component -> transformed value
    measures: dict[str, np.ndarray]
    points: dict[str, np.ndarray]  # component -> points (tenths), summing with the base 1 to score
    context: Context

    @property
    def keys(self) -> np.ndarray:
        """Account keys by node index (see :attr:`~renown.score.features.Features.keys`)."""
        return self.context.f.keys


#: The table (idx, g) a scoring run registers on its engine with each account's genuineness, before
#: ranking: the top-posts SQL weighs reactions by it, and an engine that ranks the graph itself (Spark)
#: discounts by it — shipped to the engine once.
GENUINENESS_TABLE = "_genuine"


def register_genuineness(engine, g: np.ndarray) -> None:
    """Register ``g`` on ``engine`` as :data:`GENUINENESS_TABLE`."""
    engine.register(GENUINENESS_TABLE, pa.table({"idx": pa.array(np.arange(len(g)), pa.int64()),
                                                 "g": pa.array(g, pa.float64())}))


#: Discounted PageRank of the run's graph: with ``None`` (uniform teleport) every node's rank; with a
#: :class:`~renown.score.graph.Teleport`, each topic's rank at its teleport's entries.
Ranker = Callable[[Teleport | None], np.ndarray]
#: Builds the ranker of a run's reaction graph (edges of :func:`pair_strength`) from its features and
#: genuineness (``keep``); the embedded engine's is :func:`scipy_ranker`, Spark's runs the same iteration
#: on its executors (:mod:`renown.score.spark_pagerank`).
RankerFactory = Callable[[Features, np.ndarray], Ranker]
#: PageRank is kept to multiples of 2⁻⁴⁸ (≈ 4·10⁻¹⁵ of the total): engines that add the same terms
#: in different orders then agree bit for bit, as the fixed-point feature sums do.
RANK_QUANTUM = 2.0**-48


def scipy_ranker(f: Features, keep: np.ndarray) -> tuple[Ranker, Transition]:
    W = adjacency(f.src, f.dst, pair_strength(f.weight), f.n)
    transition = Transition.of(W, keep)  # once for the global rank and every block of topics

    def rank(teleport: Teleport | None) -> np.ndarray:
        if teleport is None:
            return pagerank(transition, damping=DAMPING)
        return teleport.at(pagerank(transition, damping=DAMPING, personalization=teleport))

    return rank, transition


def build_context(f: Features, ranker: RankerFactory | None = None, genuine: Genuineness | None = None) -> Context:
    """The run's shared per-account results; the genuine reactions each account received (:func:`genuine_reactions`
    summed: ``reach``, ``effective``) join the features' per-account columns, where the engine keeps them. Per-pair
    values are not kept: kernels compute them where the pairs are (:mod:`renown.score.pairs`), so the Spark
    driver never holds a pair."""
    genuine = genuine if genuine is not None else assess(f)
    n = f.n
    transition = None
    if n:
        if ranker is None:
            rank_with, transition = scipy_ranker(f, genuine.g)
        else:
            rank_with = ranker(f, genuine.g)
        rank = quantize(rank_with(None))
        out = f.pairs.sum_by("src", reaction_strength)["out"]
        passed = out > 0
        leaked = float(((np.where(passed, 1.0 - genuine.g, 1.0)) * rank).sum())
        rank_base = ((1.0 - DAMPING) + DAMPING * leaked) / n
        f.accounts.add_sums(f.pairs, "dst", genuine_reactions, {"g": genuine.g, "s": genuine.selectivity})
    else:
        rank, rank_base, rank_with, out = np.zeros(0), 1.0, None, np.zeros(0)
        f.accounts.add({"reach": np.zeros(0), "effective": np.zeros(0)})
    return Context(f, genuine, rank, rank_base, transition, (lambda u: quantize(rank_with(u))) if rank_with else None, out)


def quantize(rank: np.ndarray) -> np.ndarray:
    return np.round(rank / RANK_QUANTUM) * RANK_QUANTUM


def score(f: Features, components: list[Component] | None = None, ranker: RankerFactory | None = None,
          genuine: Genuineness | None = None) -> Scores:
    """Score every account of ``f`` (``genuine``: its :func:`~renown.score.gaming.assess`, when
    the caller needed it first)."""
    components = components or COMPONENTS
    ctx = build_context(f, ranker, genuine)
    scored = account_scores(ctx.accounts(), components)
    return Scores(scored["score"], scored["exact"], scored["z"], *(
        {c.name: scored[f"{c.name}_{part}"] for c in components} for part in ("value", "measure", "points")), ctx)


def account_scores(a: Accounts, components: list[Component] | None = None) -> dict[str, np.ndarray]:
    """The score of each account of ``a``: ``score`` (1–100), ``exact`` (calibrated, unrounded), ``z``, and
    per component ``<name>_value``, ``<name>_measure`` and ``<name>_points``. Per-account arithmetic: any batch
    of accounts gives each the same numbers."""
    components = components or COMPONENTS
    values = {c.name: c.value(a) for c in components}
    measures = {c.name: c.measure(a) for c in components}
    weighted = {c.name: c.weight * values[c.name] for c in components}
    z = np.sum(list(weighted.values()), axis=0)
    exact = calibration.calibrate(z)
    rounded = np.floor(exact + 0.5).astype(np.int64)
    points = allocate_points(rounded, z, weighted)
    return {"score": rounded, "exact": exact, "z": z,
            **{f"{c.name}_{part}": of[c.name] for c in components
               for part, of in (("value", values), ("measure", measures), ("points", points))}}


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


def _top_per_group(group: np.ndarray, orders: list[tuple[np.ndarray, np.ndarray | None]],
                   k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each ``(value, tiebreak)`` of ``orders``: the indices of the ``k`` largest positive
    values in each group, sorted by group then rank (ties: larger ``tiebreak``, then lower
    index), and their rank (1-based).

    DuckDB's ``max_by(index, key, k)`` keeps a k-heap per group while it streams the rows,
    where numbering every row in a window sorts them all (8M pairs of 1M authors: 0.4–0.5 s
    against 0.8 s per order); the key ``(value, tiebreak, −index)`` orders ties exactly as the ranking
    above says, so the result is the same."""
    out = []
    con = duckdb.connect()
    for value, tiebreak in orders:
        columns = {"i": np.arange(len(group)), "g": group, "v": value}
        if tiebreak is not None:
            columns["t"] = tiebreak
        con.register("pairs", pa.table(columns))
        key = "(v, t, -i)" if tiebreak is not None else "(v, -i)"
        lists = con.sql(f"SELECT max_by(i, {key}, {int(k)}) AS top FROM pairs WHERE v > 0 GROUP BY g"
                        ).to_arrow_table().column("top").combine_chunks()
        con.unregister("pairs")
        index = np.asarray(lists.flatten().to_numpy(), dtype=np.int64)
        lengths = np.asarray(pc.list_value_length(lists).to_numpy(), dtype=np.int64)
        rank = np.arange(len(index)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + 1
        # groups arrive in any order; a group's ranks run 1, 2, … so counting places every row
        of = group[index]
        counts = np.bincount(of)
        position = (np.cumsum(counts) - counts)[of] + rank - 1
        ordered_index, ordered_rank = np.empty_like(index), np.empty_like(rank)
        ordered_index[position], ordered_rank[position] = index, rank
        out.append((ordered_index, ordered_rank))
    con.close()
    return out


@dataclass
class EvidenceBlock:
    """Evidence rows of one kind as columns; accounts are node indices (``ref_node`` too, for
    people). ``rank`` orders people within a component; a discount row has rank 0, ``ref_node``
    −1 and a label in ``ref_label``, says how many ``reactors`` it covers, the ``ring_size``
    when it is a ring, and in ``weight`` the per cent removed."""

    component: str
    kind: str
    account: np.ndarray
    rank: np.ndarray
    weight: np.ndarray
    counts: dict[str, np.ndarray]
    ref_node: np.ndarray | None = None
    ref_label: list[str] | None = None
    reactors: np.ndarray | None = None
    ring_size: np.ndarray | None = None


def evidence(c: Context) -> Iterator[EvidenceBlock]:
    """Top people behind reach and network, and one row per (account, discount reason), a chunk of
    accounts at a time (as :meth:`~renown.score.pairs.Pairs.rows_by` hands them over): the caller writes
    each block away, so the rows — ten or more per account — are never all held at once."""
    f = c.f
    nodes = {"g": c.genuine.g, "rank": c.rank, "out": c.out, "rank_base": np.array([c.rank_base]),
             "code": _reason_codes(c.genuine)}
    for people in f.pairs.rows_by("dst", top_people, nodes):
        order = np.lexsort((people["rank"], people["account"]))  # by account, then rank
        for number, component in enumerate(("reach", "network")):
            mine = order[people["component"][order] == number]
            yield EvidenceBlock(component, "person", people["account"][mine], people["rank"][mine],
                                people["weight"][mine], {k: people[f"n_{k}"][mine] for k in KIND_WEIGHTS},
                                ref_node=people["ref"][mine])
    for groups in f.pairs.rows_by("dst", discount_groups, nodes):
        if not len(groups["account"]):
            continue
        order = np.lexsort((groups["code"], groups["account"]))
        first_src = groups["first"][order]
        yield EvidenceBlock(
            "discounts", "discount", groups["account"][order], np.zeros(len(order), dtype=np.int64),
            groups["percent"][order], {k: groups[f"n_{k}"][order] for k in KIND_WEIGHTS},
            ref_label=[_reason_label(c.genuine, int(i)) for i in first_src],
            reactors=groups["reactors"][order], ring_size=c.genuine.ring_size[first_src])


def top_people(p, nodes) -> dict[str, np.ndarray]:
    """Row kernel (by ``dst``): each account's :data:`EVIDENCE_TOP` reactors by genuine presence (reach,
    ties to the stronger) and by rank flowing in (network); ``component`` 0 and 1."""
    src, dst = p["src"], p["dst"]
    g = nodes["g"][src]
    strength = pair_strength(p["weight"])
    reach_value = g * p["recency"]
    out = nodes["out"][src]
    flow = np.divide(strength, out, out=np.zeros_like(strength), where=out > 0)  # the transition probability …
    del out
    flow *= g
    del g
    flow *= DAMPING * nodes["rank"][src]  # … times the rank it carries: in place, a pair array fewer at a time
    flow /= nodes["rank_base"][0]
    parts = []
    for number, (value, (picked, rank)) in enumerate(zip(
            (reach_value, flow), _top_per_group(dst, [(reach_value, strength), (flow, None)], EVIDENCE_TOP))):
        parts.append({"component": np.full(len(picked), number, dtype=np.int64), "account": dst[picked].astype(np.int64),
                      "rank": rank.astype(np.int64), "weight": value[picked], "ref": src[picked].astype(np.int64),
                      **{f"n_{k}": p[f"n_{k}"][picked].astype(np.int64) for k in KIND_WEIGHTS}})
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def discount_groups(p, nodes) -> dict[str, np.ndarray]:
    """Row kernel (by ``dst``): per (account, discount reason) of its reactors, the share of their strength
    removed, how many they are, their reactions, and the first of them (whose reason names the row)."""
    src, dst = p["src"], p["dst"]
    g = nodes["g"]
    discounted = np.flatnonzero(g[src] < 0.999)
    if not len(discounted):
        return {"account": np.zeros(0, dtype=np.int64), "code": np.zeros(0, dtype=np.int64), "percent": np.zeros(0),
                "first": np.zeros(0, dtype=np.int64), "reactors": np.zeros(0, dtype=np.int64),
                **{f"n_{k}": np.zeros(0, dtype=np.int64) for k in KIND_WEIGHTS}}
    code = nodes["code"][src[discounted]]
    _, code_id = np.unique(code, return_inverse=True)
    order = np.lexsort((code_id, dst[discounted]))
    d = discounted[order]
    key = dst[discounted][order] * (int(code_id.max()) + 1) + code_id[order]
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    strength = pair_strength(p["weight"][d])
    full = np.add.reduceat(strength, starts)
    kept = np.add.reduceat(strength * g[src[d]], starts)
    return {"account": dst[d[starts]].astype(np.int64), "code": code[order][starts].astype(np.int64),
            "percent": np.where(full > 0, 100.0 * (1.0 - kept / np.where(full > 0, full, 1.0)), 100.0),
            "first": src[d[starts]].astype(np.int64), "reactors": np.diff(np.r_[starts, len(d)]).astype(np.int64),
            **{f"n_{k}": np.add.reduceat(p[f"n_{k}"][d], starts, dtype=np.int64) for k in KIND_WEIGHTS}}


def _reason_codes(genuine: Genuineness) -> np.ndarray:
    """An integer per node naming why it is discounted: its ring id, or
    ``-1 - bitmask`` of its bot-like signals."""
    mask = np.zeros(len(genuine.g), dtype=np.int64)
    for bit, flags in enumerate(genuine.signals.values()):
        mask |= flags.astype(np.int64) << bit
    return np.where(genuine.ring >= 0, genuine.ring, -1 - mask)


def _reason_label(genuine: Genuineness, node: int) -> str:
    if genuine.ring[node] >= 0:
        return f"{'clones' if genuine.is_clone_cluster(node) else 'ring'}:{genuine.ring[node]}"
    return "flagged:" + "+".join(genuine.reasons(node))
