"""Who counts: discounts for rings, sybils and bots, and selectivity.

Every reactor gets a *genuineness* ``g`` in (0, 1] that multiplies the weight
of all its reactions, and a *selectivity* ``s`` that shrinks the weight of
reactors who react to almost everyone. Each discount is a named signal so the
explanation can say exactly what was discounted and why:

``ring``
    A reciprocal ring: at least :data:`RING_MIN_SIZE` accounts, connected by
    mutual reactions, each with at least :data:`RING_MIN_PARTNERS` mutual
    partners and receiving at least :data:`RING_INSULARITY` of its reaction
    weight from them — its only audience is the ring itself. (What a ring gives
    *out* is not required to stay inside: rings exist to boost a client.)
    Accounts that nobody outside the ring reacts to and that spend at least
    half their reaction weight on one ring join it as *satellites* (the pure
    boosters that never post). A ring counts as at most one person, discounted
    by 95 %: each member keeps ``RING_KEEP / size`` of its weight.
``ring`` (clones)
    A sybil cluster without reciprocity: at least :data:`RING_MIN_SIZE`
    accounts that nobody reacts to, that reacted to exactly the same set of at
    least two accounts, and that make up at least half the audience (reaction
    weight) of at least half of those accounts — a farm is most of its
    clients' audience, while the many fans who retweet the same two famous
    accounts in a viral moment are a sliver of theirs. Discounted like a ring.
``bot-flag``
    The source network marks the account as automated.
``burst``
    At least half of its (≥ :data:`BURST_MIN_REACTIONS`) reactions come within
    seconds of the previous one.
``reacts-to-everyone``
    It reacted to at least :data:`EVERYONE_MIN_TARGETS` accounts while almost
    nobody reacts to it.
``new-account``
    Created less than :data:`NEW_ACCOUNT_DAYS` days before the window's end.
``sybil``
    A young account (< :data:`SYBIL_MAX_AGE_DAYS` days) that no established
    account reacts to.

Bot-like signals combine as independent evidence, ``b = 1 − Π (1 − strength)``,
and ``g = (1 − 0.95 b) × ring keep``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from renown.score.features import BURST_MIN_REACTIONS, Features, reaction_counts
from renown.score.pairs import Pairs

RING_MIN_SIZE = 4
RING_MIN_PARTNERS = 3
RING_INSULARITY = 0.8
RING_KEEP = 0.05
EVERYONE_MIN_TARGETS = 100
NEW_ACCOUNT_DAYS = 14
SYBIL_MAX_AGE_DAYS = 30
#: Reactors that reached at most this many accounts count fully; beyond, weight falls as 1/sqrt.
SELECTIVE_TARGETS = 25
#: strength of each bot-like signal
SIGNALS = {"bot-flag": 0.95, "burst": 0.8, "reacts-to-everyone": 0.6, "new-account": 0.5, "sybil": 0.9}
MAX_BOT_DISCOUNT = 0.95


@dataclass
class Genuineness:
    g: np.ndarray  # multiplier of every reaction by this node
    selectivity: np.ndarray
    bot: np.ndarray  # combined bot likelihood
    ring: np.ndarray  # ring id, -1 when none
    ring_size: np.ndarray
    signals: dict[str, np.ndarray]  # signal name -> bool per node
    #: the audience the assessment counted, per node: distinct reactors and the reactions they made
    #: (the snapshot reports them: counted once per run, not once more — on Spark a pass over the pairs)
    reactors: np.ndarray
    reactions: np.ndarray

    def reasons(self, node: int) -> list[str]:
        reasons = [name for name, flags in self.signals.items() if flags[node]]
        if self.ring[node] >= 0:
            reasons.insert(0, "clones" if self.is_clone_cluster(node) else "ring")
        return reasons

    def is_clone_cluster(self, node: int) -> bool:
        """Whether ``node``'s ring is a sybil cluster without reciprocity (their ids follow the nodes')."""
        return self.ring[node] >= len(self.g)


def assess(f: Features) -> Genuineness:
    n = f.n
    signals: dict[str, np.ndarray] = {}
    age = f.age_days
    known = ~np.isnan(age)
    young = known & (age < SYBIL_MAX_AGE_DAYS)
    received = f.pairs.sum_by("dst", audience, {"young": young})
    signals["bot-flag"] = f.bot_flag > 0
    signals["burst"] = (f.reactions >= BURST_MIN_REACTIONS) & (f.bursts >= 0.5)
    signals["reacts-to-everyone"] = (f.targets >= EVERYONE_MIN_TARGETS) & (received["accounts"] < 0.05 * f.targets)
    signals["new-account"] = known & (age < NEW_ACCOUNT_DAYS)
    signals["sybil"] = young & (received["established"] == 0)

    ring, ring_size = _rings(f.pairs)
    in_ring = ring >= 0

    bot = 1.0 - np.prod([1.0 - SIGNALS[name] * flags for name, flags in signals.items()], axis=0) if n else np.zeros(0)
    keep = np.where(in_ring, RING_KEEP / np.maximum(ring_size, 1), 1.0)
    g = (1.0 - MAX_BOT_DISCOUNT * bot) * keep
    selectivity = np.minimum(1.0, np.sqrt(SELECTIVE_TARGETS / np.maximum(f.targets, 1.0)))
    return Genuineness(g=g, selectivity=selectivity, bot=bot, ring=ring, ring_size=ring_size, signals=signals,
                       reactors=received["accounts"], reactions=received["reactions"])


def audience(p, nodes) -> dict[str, np.ndarray]:
    """Kernel (by ``dst``): an account's reactors and the reactions they made (:func:`reaction_counts`), and
    how many of them are established (not young)."""
    return {**reaction_counts(p, nodes), "established": (~nodes["young"][p["src"]]).astype(np.float64)}


def _rings(pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """Ring id and size per node (``-1``/``0`` outside rings); see the module docstring. Every step over
    the pairs is a kernel (:mod:`renown.score.pairs`): it runs where the pairs are."""
    n = pairs.n
    ring = np.full(n, -1, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    if n == 0:
        return ring, size
    pairs = pairs.with_flag("mutual", mutual_pairs)
    in_total = pairs.sum_by("dst", reaction_weight)["weight"]
    candidate = pairs.sum_by("src", mutual_partners)["partners"] >= RING_MIN_PARTNERS
    if not candidate.any():  # no reciprocal ring possible: only clone clusters remain to find
        _clones(pairs, in_total, ring)
        return _with_sizes(ring, size)
    for _ in range(2):  # components of candidates, then of those found insular within them
        labels = _mutual_components(pairs, candidate)
        # support from the same cluster or from accounts with no audience at all is not independent
        inside = pairs.sum_by("dst", insular_weight, {"labels": labels, "candidate": candidate,
                                                      "in_total": in_total})["weight"]
        candidate &= (in_total > 0) & (inside >= RING_INSULARITY * in_total)
    labels = _mutual_components(pairs, candidate)
    counts = np.bincount(labels, minlength=labels.max() + 1)
    member = candidate & (counts[labels] >= RING_MIN_SIZE)
    ring[member] = labels[member]
    # satellites: no audience outside the ring, at least half their giving spent on one ring
    from_outside = pairs.sum_by("dst", weight_from_outside, {"ring": ring})["weight"]
    if member.any():
        sat_src, sat_ring, spent = pairs.sum_by_group("src", weight_into_ring, {"ring": ring, "from_outside": from_outside})
        if len(sat_src):
            out_total = pairs.sum_by("src", reaction_weight)["weight"]
            strong = spent["weight"] >= 0.5 * out_total[sat_src]
            ring[sat_src[strong]] = sat_ring[strong]  # (account, ring) order: of two rings, the later id
    _clones(pairs, in_total, ring)
    return _with_sizes(ring, size)


def mutual_pairs(p, nodes) -> dict[str, np.ndarray]:
    """Flag kernel (both directions of a pair of accounts in one batch): does the reverse pair exist?"""
    return {"mutual": is_mutual(int(max(p["src"].max(initial=-1), p["dst"].max(initial=-1))) + 1, p["src"], p["dst"])}


def reaction_weight(p, nodes) -> dict[str, np.ndarray]:
    """Kernel: the reaction weight an account receives (by ``dst``) or gives (by ``src``)."""
    return {"weight": p["weight"]}


def mutual_partners(p, nodes) -> dict[str, np.ndarray]:
    """Kernel (by ``src``): the accounts one reacts to that react back."""
    return {"partners": p["mutual"].astype(np.float64)}


def insular_weight(p, nodes) -> dict[str, np.ndarray]:
    """Kernel (by ``dst``): weight from the same mutual cluster (a candidate) or from accounts nobody reacts to."""
    labels, src = nodes["labels"], p["src"]
    internal = (labels[src] == labels[p["dst"]]) & nodes["candidate"][src] | (nodes["in_total"][src] == 0)
    return {"weight": p["weight"] * internal}


def weight_from_outside(p, nodes) -> dict[str, np.ndarray]:
    """Kernel (by ``dst``): weight from accounts in no ring."""
    return {"weight": p["weight"] * (nodes["ring"][p["src"]] < 0)}


def weight_into_ring(p, nodes) -> dict[str, np.ndarray]:
    """Grouping kernel (by ``src``, group = the ring reacted to): what an account with no audience outside
    rings gives to each ring."""
    ring, src = nodes["ring"], p["src"]
    target_ring = ring[p["dst"]]
    keep = (target_ring >= 0) & (ring[src] < 0) & (nodes["from_outside"][src] == 0)
    return {"keep": keep, "group": target_ring, "weight": p["weight"]}


def _with_sizes(ring: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``size`` filled with each ring member's ring size."""
    labels_used, ring_counts = np.unique(ring[ring >= 0], return_counts=True)
    size_of = dict(zip(labels_used.tolist(), ring_counts.tolist()))
    size[ring >= 0] = [size_of[r] for r in ring[ring >= 0].tolist()]
    return ring, size


_H1 = np.uint64(0x9E3779B97F4A7C15)
_H2 = np.uint64(0xC2B2AE3D27D4EB4F)


def target_set_signature(p, nodes) -> dict[str, np.ndarray]:
    """Wrapped-sum kernel (by ``src``): for accounts nobody reacts to and in no ring, two hashes and the
    size of the set of accounts they reacted to (equal sets, equal sums, in any order)."""
    src = p["src"]
    keep = (nodes["in_total"][src] == 0) & (nodes["ring"][src] < 0)
    d = p["dst"].astype(np.uint64)
    with np.errstate(over="ignore"):
        return {"keep": keep, "h1": (d + np.uint64(1)) * _H1 ^ (d >> np.uint64(7)),
                "h2": (d + np.uint64(3)) * _H2 ^ (d << np.uint64(11)), "targets": np.ones(len(d), dtype=np.uint64)}


def weight_from_group(p, nodes) -> dict[str, np.ndarray]:
    """Grouping kernel (by ``dst``, group = the look-alike group of the reactor): what each candidate
    group gives each account."""
    group = nodes["group_of"][p["src"]]
    return {"keep": group >= 0, "group": group, "weight": p["weight"]}


def _clones(pairs: Pairs, in_total: np.ndarray, ring: np.ndarray) -> None:
    """Mark clone clusters in ``ring`` (new ids from ``n`` upwards); see the module docstring."""
    n = pairs.n
    signed = pairs.wrapped_sum_by("src", target_set_signature, {"in_total": in_total, "ring": ring})
    targets = signed["targets"].astype(np.int64)
    nodes = np.flatnonzero(targets >= 2)
    if len(nodes) == 0:
        return
    signature = np.stack([signed["h1"][nodes], signed["h2"][nodes], targets[nodes].astype(np.uint64)], axis=1)
    _, group, counts = np.unique(signature, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    big = counts[group] >= RING_MIN_SIZE
    if not big.any():
        return
    group_of = np.full(n, -1, dtype=np.int64)
    group_of[nodes[big]] = group[big]
    # share of each target's audience that each candidate group makes up
    key_target, key_group, given = pairs.sum_by_group("dst", weight_from_group, {"group_of": group_of})
    dominated = given["weight"] >= 0.5 * in_total[key_target]
    n_groups = int(group.max()) + 1
    dominated_targets = np.bincount(key_group, weights=dominated, minlength=n_groups)
    set_size = np.bincount(key_group, minlength=n_groups)
    farm = (set_size > 0) & (dominated_targets >= 0.5 * set_size)
    cloned = big & farm[group]
    ring[nodes[cloned]] = n + group[cloned]


def is_mutual(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per pair: does the reverse pair exist? (pairs are unique; any order)"""
    found = np.zeros(len(src), dtype=bool)
    if len(src) == 0:
        return found
    # a reverse pair needs an author who also reacts and a reactor who is also reacted to:
    # on real data most pairs fail that (Higgs: 72k of 461k remain), and the sort below is the cost
    maybe = np.flatnonzero((np.bincount(src, minlength=n) > 0)[dst] & (np.bincount(dst, minlength=n) > 0)[src])
    if len(maybe) == 0:
        return found
    s, d = src[maybe], dst[maybe]
    forward = np.sort(s * n + d)
    reverse = d * n + s
    order = np.argsort(reverse)  # looking up sorted queries walks the table once, cache-friendly
    at = np.minimum(np.searchsorted(forward, reverse[order]), len(forward) - 1)
    hit = np.empty(len(maybe), dtype=bool)
    hit[order] = forward[at] == reverse[order]
    found[maybe] = hit
    return found


def _mutual_components(pairs: Pairs, candidate: np.ndarray) -> np.ndarray:
    """Connected components of the mutual pairs between candidates (few: they come to this process)."""
    edges = pairs.select(mutual_between, ("src", "dst"), {"candidate": candidate})
    graph = sp.csr_matrix((np.ones(len(edges["src"])), (edges["src"], edges["dst"])), shape=(pairs.n, pairs.n))
    return connected_components(graph, directed=False)[1]


def mutual_between(p, nodes) -> dict[str, np.ndarray]:
    """Selection kernel: mutual pairs whose two accounts are both candidates."""
    candidate = nodes["candidate"]
    return {"keep": p["mutual"] & candidate[p["src"]] & candidate[p["dst"]]}
