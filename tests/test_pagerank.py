"""Weighted PageRank against published reference values and against networkx."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renown.score import graph
from renown.score.graph import (
    ConvergenceError,
    Teleport,
    Transition,
    _Product,
    _TeleportTerms,
    adjacency,
    pagerank,
)


def run(edges: list[tuple[int, int, float]], n: int, **kwargs) -> np.ndarray:
    src, dst, w = (np.array(c) for c in zip(*edges)) if edges else (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    return pagerank(adjacency(src, dst, w, n), **kwargs)


def test_wikipedia_reference_graph() -> None:
    """The 11-page example of the Wikipedia "PageRank" article (d = 0.85):
    A 3.3 %, B 38.4 %, C 34.3 %, D 3.9 %, E 8.1 %, F 3.9 %, G–K 1.6 %."""
    names = "ABCDEFGHIJK"
    links = {"B": "C", "C": "B", "D": "AB", "E": "BDF", "F": "BE", "G": "BE", "H": "BE", "I": "BE", "J": "E", "K": "E"}
    edges = [(names.index(a), names.index(b), 1.0) for a, targets in links.items() for b in targets]
    rank = run(edges, len(names))
    expected = [3.3, 38.4, 34.3, 3.9, 8.1, 3.9, 1.6, 1.6, 1.6, 1.6, 1.6]
    assert np.round(rank * 100, 1).tolist() == expected


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 30),
    edges=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29), st.floats(0.1, 10)), max_size=120),
    personalize=st.booleans(),
)
def test_matches_networkx_on_random_weighted_graphs(n, edges, personalize) -> None:
    edges = [(a % n, b % n, w) for a, b, w in edges]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for a, b, w in edges:
        if graph.has_edge(a, b):
            graph[a][b]["weight"] += w
        else:
            graph.add_edge(a, b, weight=w)
    teleport = np.arange(1, n + 1, dtype=float) if personalize else None
    expected = nx.pagerank(graph, alpha=0.85, weight="weight", tol=1e-12, max_iter=1000,
                           personalization=dict(enumerate(teleport)) if personalize else None)
    ours = run(edges, n, personalization=teleport, tol=1e-13, max_iter=1000)
    assert np.allclose(ours, [expected[i] for i in range(n)], atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    edges=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59), st.floats(0.1, 10)), max_size=200),
    entries=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 5), st.floats(0.01, 5)), min_size=1, max_size=40),
    keep=st.floats(0.0, 1.0),
)
def test_a_block_of_sparse_teleports_equals_each_topic_alone(n, edges, entries, keep) -> None:
    """Whatever the graph and however few entries each topic's teleport has (the terms are then added at
    the entries only), each column of a block is the topic ranked on its own."""
    edges = [(a % n, b % n, w) for a, b, w in edges]
    topics = max(t for _, t, _ in entries) + 1
    teleport = np.zeros((n, topics))
    for node, topic, weight in entries:
        teleport[node % n, topic] += weight
    teleport[0, teleport.sum(axis=0) == 0] = 1.0  # every topic has mass
    block = run(edges, n, personalization=teleport, keep=np.full(n, keep), tol=1e-13, max_iter=1000)
    for topic in range(topics):
        alone = run(edges, n, personalization=teleport[:, topic], keep=np.full(n, keep), tol=1e-13, max_iter=1000)
        assert np.allclose(block[:, topic], alone, rtol=0, atol=1e-12)


def test_keep_one_is_classic_pagerank_and_keep_zero_silences_a_node() -> None:
    edges = [(0, 2, 1.0), (1, 2, 1.0), (2, 0, 1.0), (3, 1, 1.0)]
    classic = run(edges, 4)
    assert np.allclose(run(edges, 4, keep=np.ones(4)), classic)
    silenced = run(edges, 4, keep=np.array([1.0, 0.0, 1.0, 1.0]))
    # node 1 no longer passes rank to node 2; node 2 loses, everyone still sums to 1
    assert silenced[2] < classic[2]
    assert np.isclose(silenced.sum(), 1.0)


def test_non_convergence_raises() -> None:
    edges = [(i, 0, 1.0) for i in range(1, 50)] + [(0, 1, 1.0)]  # far from the uniform start
    with pytest.raises(ConvergenceError):
        run(edges, 50, damping=0.99, tol=1e-15, max_iter=3)


def test_empty_graph_and_bad_arguments() -> None:
    assert run([], 0).shape == (0,)
    assert np.allclose(run([], 3), 1 / 3)
    with pytest.raises(ValueError):
        run([(0, 1, 1.0)], 2, damping=1.0)
    with pytest.raises(ValueError):
        run([(0, 1, 1.0)], 2, personalization=np.array([0.0, 0.0]))


@pytest.mark.parametrize("density", [0.3, 0.03])  # dense teleport terms, and terms added at the entries only
def test_a_block_of_personalizations_equals_separate_runs(density: float) -> None:
    rng = np.random.default_rng(4)
    n = 400
    edges = [(int(a), int(b), float(w)) for a, b, w in zip(rng.integers(0, n, 2000), rng.integers(0, n, 2000), rng.random(2000) + 0.1)]
    teleport = rng.random((n, 5)) * (rng.random((n, 5)) < density)
    teleport[0] = 1.0  # every column has mass
    keep = rng.random(n)
    block = run(edges, n, personalization=teleport, keep=keep, tol=1e-13)
    for column in range(5):  # columns converge at different steps: each stops at its own
        assert np.allclose(block[:, column], run(edges, n, personalization=teleport[:, column], keep=keep, tol=1e-13),
                           rtol=0, atol=1e-15)


def test_teleport_terms_at_the_entries_are_the_dense_formula_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    u = rng.random((500, 6)) * (rng.random((500, 6)) < 0.05)
    flow, leaked = rng.random((500, 6)), rng.random(6)
    terms = _TeleportTerms(u)
    assert terms.sparse
    assert np.array_equal(terms.step(flow.copy(), leaked, 0.85), 0.85 * (flow + leaked * u) + (1 - 0.85) * u)
    narrower = terms.of(np.array([True, False, True, False, False, True]))
    assert np.array_equal(narrower.step(flow[:, [0, 2, 5]].copy(), leaked[[0, 2, 5]], 0.85),
                          0.85 * (flow[:, [0, 2, 5]] + leaked[[0, 2, 5]] * u[:, [0, 2, 5]]) + (1 - 0.85) * u[:, [0, 2, 5]])


@pytest.mark.parametrize("threads", [1, 3])
def test_the_product_into_a_reused_array_is_scipys_product_bit_for_bit(monkeypatch, threads: int) -> None:
    monkeypatch.setattr(graph, "PARALLEL_WORK", 0)
    rng = np.random.default_rng(11)
    W = adjacency(rng.integers(0, 3000, 20000), rng.integers(0, 3000, 20000), rng.random(20000), 3000)
    x, out = rng.random((3000, 7)), np.full((3000, 7), np.nan)  # what the reused array held must not leak in
    with _Product(W, 7, threads) as product:
        assert len(product.blocks) == threads
        assert product(x, out) is out
        assert np.array_equal(out, W @ x)
        assert np.array_equal(product(2 * x, out), W @ (2 * x))
        assert np.array_equal(product(np.asfortranarray(x), out), W @ x)  # not contiguous by rows: scipy's own
    monkeypatch.setattr(graph, "_sparsetools", SimpleNamespace())  # a scipy without the kernel: scipy's own product
    with _Product(W, 7, threads) as product:
        assert product.kernel is None and np.array_equal(product(x, out), W @ x)


def test_a_transition_built_once_serves_every_teleport() -> None:
    rng = np.random.default_rng(3)
    W = adjacency(rng.integers(0, 300, 2000), rng.integers(0, 300, 2000), rng.random(2000), 300)
    keep, teleport = rng.random(300), rng.random((300, 4)) * (rng.random((300, 4)) < 0.1) + 1e-9
    transition = Transition.of(W, keep)
    assert np.array_equal(pagerank(transition), pagerank(W, keep=keep))
    assert np.array_equal(pagerank(transition, personalization=teleport), pagerank(W, personalization=teleport, keep=keep))
    with pytest.raises(ValueError, match="keep is part of the transition"):
        pagerank(transition, keep=keep)


@pytest.mark.parametrize("topics", [1, 5])
def test_a_teleport_given_by_its_entries_ranks_as_its_dense_form_bit_for_bit(topics: int) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    W = adjacency(rng.integers(0, n, 20000), rng.integers(0, n, 20000), rng.random(20000), n)
    cells = rng.choice(n * topics, size=40 * topics, replace=False)
    node, topic = cells % n, cells // n
    weight = rng.random(len(cells)) * 5
    shuffled = rng.permutation(len(cells))  # entries in any order
    teleport = Teleport(node[shuffled], topic[shuffled], weight[shuffled], topics)
    assert np.array_equal(pagerank(W, personalization=teleport, keep=np.full(n, 0.7)),
                          pagerank(W, personalization=teleport.dense(n), keep=np.full(n, 0.7)))
    for bad, message in [(Teleport(node[[0, 0]], topic[[0, 0]], weight[:2], topics), "once"),
                         (Teleport(np.array([n]), np.array([0]), np.array([1.0]), topics), "below n"),
                         (Teleport(node[:1], topic[:1], np.array([-1.0]), topics), "non-negative")]:
        with pytest.raises(ValueError, match=message):
            pagerank(W, personalization=bad)
