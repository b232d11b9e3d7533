"""PageRank on Spark in node blocks: the embedded iteration, run where the graph is.

:func:`renown.score.graph.pagerank`'s step, for K teleports at once::

    x ← d · (Pᵀ x + leaked · u) + (1 − d) · u,    leaked = Σᵢ leakᵢ · xᵢ

The nodes are cut into B contiguous blocks. The edges become B × B sparse matrices ``P_ij`` (reactors of block
``i`` → authors of block ``j``, stored as ``Pᵀ_ij`` in CSR over the authors it reaches), the ranks one dense
``n_i × K`` array per block. A step is two grouped maps on the executors:

1. *flow*: each block ``i`` of ranks meets its row of matrices and sends ``Pᵀ_ij xᵢ`` — only the rows it
   reaches — to block ``j``;
2. *update*: each block ``j`` adds what it received (in ``i`` order, so a run does not depend on task
   scheduling), applies the teleport terms at its entries (as :class:`~renown.score.graph._TeleportTerms`
   does), and reports per topic its L1 change and its leaked mass ``leakⱼ · xⱼ``.

The driver adds those B × K numbers (the leaked mass enters the next step, the change decides
convergence: each topic stops when its change is below ``n · tol``, as on the embedded engine) and never
holds the ranks: only a finished topic's values at its teleport's entries come back, or — for the
uniform teleport — the n ranks the model asks for.

Why blocks, not one row per (node, topic): a step then moves at most ``min(E, B · n) · K`` numbers as
packed arrays through numpy's sparse product, where rows moved ``E · K`` Spark rows through a join and
an aggregation (measured in ``bench/README.md``: Spark's topic step). The sums per author are those of
the embedded engine up to the order blocks are added in, so ranks agree to rounding and, once quantised
(:data:`~renown.score.model.RANK_QUANTUM`), almost always exactly.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from renown.score.graph import ConvergenceError, Teleport

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from renown.score.spark import SparkEngine

#: Debug records: the layout once, then each step's topics still iterating and their largest change.
log = logging.getLogger(__name__)

#: Up to about this many bytes of ranks (``n × K`` doubles) and matrices (≈ 16 bytes an edge), the graph is one
#: block: a step is one grouped map and its result the embedded engine's, bit for bit.
ONE_BLOCK_BYTES = 32 << 20
#: About how many bytes of ranks one block holds beyond that: a block's group (its ranks, what it receives, its new
#: ranks) is held by a Python worker, outside the JVM's heap.
BLOCK_BYTES = 128 << 20
#: About how many bytes of arrays one row carries: a block travels as many rows. The JVM copies a row into one
#: buffer that it grows by doubling, and a G1 heap places an object over half a region (1 MiB on a 4 GB heap)
#: in whole free regions: blocks as rows of 32–100 MB ran a 4 GB driver out of heap at 10M events, 50 topics.
ROW_BYTES = 512 << 10
#: Rows per Arrow batch written to a Python worker during the iteration (Spark's default, 10 000, is a whole
#: block of :data:`ROW_BYTES` rows in one batch).
ROWS_PER_BATCH = 32

#: Every frame of the iteration: rows of block ``i`` of one ``kind``, ``j`` the other block a matrix or a flow
#: is about, ``part`` the row's place among the rows of one such item (an item of more than :data:`ROW_BYTES`
#: is cut into runs of its rows), ``payload`` the arrays (pickled), ``numbers`` a state's per-topic numbers
#: (pickled, small, on its first row: what the driver reads). One shape, so a step's two inputs are one union
#: grouped by block: Spark estimates a union's size as a sum, where a cogroup's estimate is a product — squared
#: every step through the checkpoints' kept statistics, until multiplying those numbers took minutes (measured
#: on a 300-node graph: 0.3 s at step 11, 169 s at step 23).
_ROWS = "i INT, kind INT, j INT, part INT, payload BINARY, numbers BINARY"
_MATRIX, _LEAK, _ENTRIES, _STATE, _FLOW = range(5)

Arrays = dict[str, np.ndarray]
#: A row before it is packed: (i, kind, j, part, arrays, numbers or None).
Row = tuple[int, int, int, int, Arrays, "Arrays | None"]


def block_count(n: int, topics: int, edges: int, partitions: int) -> int:
    """Blocks for ``n`` nodes, ``topics`` teleports and ``edges``: one while the ranks (8 bytes a node and topic)
    and the matrices (≈ 16 bytes an edge) fit in :data:`ONE_BLOCK_BYTES` (a step is then one grouped map — the
    block's flow is its own — and the result the embedded engine's, bit for bit); beyond, at least one per
    partition (every core works) and as many as keep each within :data:`BLOCK_BYTES`; never more than the nodes."""
    ranks, matrices = n * topics * 8, edges * 16
    if max(ranks, matrices) <= ONE_BLOCK_BYTES:
        return 1
    return max(1, min(n, max(partitions, -(-ranks // BLOCK_BYTES), -(-matrices // BLOCK_BYTES))))


def block_pagerank(engine: SparkEngine, graph: DataFrame, n: int, teleport: Teleport | None = None,
                   strength: Callable[[np.ndarray], np.ndarray] | None = None, damping: float = 0.85,
                   tol: float = 1e-10, max_iter: int = 200, blocks: int | None = None,
                   row_bytes: int = ROW_BYTES) -> np.ndarray:
    """PageRank of the graph ``graph`` (src, dst, weight, keep): edge src → dst of weight ``strength(weight)``
    (the weight itself without ``strength``), each node passing on the share ``keep`` (the same on each of its
    rows) of its rank — :class:`~renown.score.graph.Transition`'s terms, computed as it computes them.

    Returns every node's rank for the uniform teleport (``teleport`` None), or each topic's rank at its
    teleport's entries, in their order. :class:`ConvergenceError` after ``max_iter`` steps. ``blocks`` and
    ``row_bytes`` fix the layout (by default :func:`block_count` and :data:`ROW_BYTES`), not the result."""
    if n == 0:
        return np.zeros(0)
    if teleport is not None:
        teleport.check(n)
    with _iteration_settings(engine.spark):
        return _iterate(engine, graph, n, teleport, strength, damping, tol, max_iter, blocks, row_bytes)


@contextmanager
def _iteration_settings(spark):
    """The session's settings for the iteration: adaptive query execution off — it re-plans each of the two
    stages of every step, which on small graphs cost a third of a step (measured: 0.63 → 0.41 s per step on 300
    nodes), and the blocks leave it nothing to balance — and :data:`ROWS_PER_BATCH`."""
    settings = {"spark.sql.adaptive.enabled": "false",
                "spark.sql.execution.arrow.maxRecordsPerBatch": str(ROWS_PER_BATCH)}
    before = {key: spark.conf.get(key) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def _iterate(engine: SparkEngine, graph: DataFrame, n: int, teleport: Teleport | None,
             strength: Callable[[np.ndarray], np.ndarray] | None, damping: float, tol: float, max_iter: int,
             blocks: int | None, row_bytes: int) -> np.ndarray:
    from pyspark.sql import functions as F

    spark = engine.spark
    single = teleport is None
    topics = 1 if single else teleport.topics
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    count = blocks or block_count(n, topics, graph.count(), partitions)
    size = -(-n // count)
    log.debug("PageRank of %d nodes, %d teleports: %d blocks of %d nodes", n, topics, count, size)
    by_block = _Placement(spark, count, partitions)
    built = (by_block.spread(graph.select(F.expr(f"CAST(src DIV {size} AS INT)").alias("i"), "src", "dst", "weight",
                                          "keep"))
             .mapInArrow(_matrices(size, strength, row_bytes), _ROWS).localCheckpoint(eager=True))
    matrices = built.filter(f"kind = {_MATRIX}")
    state = _initial_state(engine, by_block, built.filter(f"kind = {_LEAK}"), n, size, teleport, row_bytes)
    active = np.arange(topics)  # the topics still iterating: the columns of every block, in this order
    if not single:  # the entries by (topic, node), to place what comes back
        result = np.zeros(len(teleport.node))
        keys = np.asarray(teleport.topic, dtype=np.int64) * n + np.asarray(teleport.node, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
    numbers = _numbers(state, topics)
    try:
        for step in range(max_iter):
            flow = _flow(len(active), row_bytes)
            update = _update(n, damping, numbers["leaked"], active, single, row_bytes)
            if count == 1:  # the block's flow is its own: one grouped map
                new = by_block.grouped(matrices.unionByName(state)).applyInArrow(_in_one(flow, update), _ROWS)
            else:
                flows = by_block.grouped(matrices.unionByName(state)).applyInArrow(flow, _ROWS)
                new = by_block.grouped(flows.unionByName(state)).applyInArrow(update, _ROWS)
            new = new.localCheckpoint(eager=True)
            state.unpersist()
            state = new
            numbers = _numbers(state, len(active))
            still = numbers["change"] >= n * tol
            log.debug("step %d: %d of %d teleports iterating, largest change %.3g (to stop: %.3g)", step + 1,
                      len(active), topics, numbers["change"].max(), n * tol)
            if still.all():
                continue
            if single:
                return _normalised(state, n)
            found, total = _finished(by_block, state, size, active, ~still, pairwise=topics == 1)
            at = order[np.searchsorted(keys, found["topic"] * n + found["node"])]
            result[at] = found["x"] / total[found["topic"]]
            if not still.any():
                return result
            state = _narrowed(by_block, state, still, row_bytes)  # the finished columns leave every block
            active = active[still]
            numbers = _numbers(state, len(active))
    finally:
        state.unpersist()
        built.unpersist()
    raise ConvergenceError(f"PageRank did not converge to {tol:g} within {max_iter} iterations")


class _Placement:
    """Where each block's rows go: block ``b`` to shuffle partition ``b mod partitions``, so B ≤ partitions
    blocks take a task each. Spark places a row by the Murmur3 hash of its key (``pmod(hash(key), partitions)``),
    and the block numbers themselves collide: 4 blocks in 4 partitions put three blocks in one task (measured:
    one Python worker ran three of the four flows of every step, one after another). So rows are grouped by a
    key ``g`` chosen per block, the ``b // partitions``-th number that Spark's own hash sends to ``b mod
    partitions`` (asked of Spark once, so its hash is the one used)."""

    def __init__(self, spark, count: int, partitions: int) -> None:
        needed, limit = -(-count // partitions), 16 * partitions
        while True:
            hashed = spark.range(limit).selectExpr("CAST(id AS INT) AS key",
                                                   f"pmod(hash(CAST(id AS INT)), {partitions}) AS part").toArrow()
            key, part = hashed.column("key").to_numpy(), hashed.column("part").to_numpy()
            fitting = [key[part == p] for p in range(partitions)]
            if all(len(f) >= needed for f in fitting):
                break
            limit *= 4
        self.keys = [int(fitting[b % partitions][b // partitions]) for b in range(count)]

    def key(self):
        """The column ``g``: each row's block's key."""
        from pyspark.sql import functions as F

        return F.element_at(F.array(*[F.lit(k) for k in self.keys]), F.col("i") + 1).alias("g")

    def grouped(self, frame: DataFrame):
        """``frame``'s rows grouped by block, each block in its partition."""
        return frame.select("*", self.key()).groupBy("g")

    def spread(self, frame: DataFrame) -> DataFrame:
        """``frame``'s rows repartitioned by block, each block in its partition (with a column ``g``)."""
        return frame.select("*", self.key()).repartition("g")


def _pack(arrays: Arrays) -> bytes:
    return pickle.dumps({name: np.ascontiguousarray(a) for name, a in arrays.items()}, protocol=5)


def _unpack(value) -> Arrays:
    """A payload or numbers cell (an Arrow scalar, or bytes) as its arrays."""
    return pickle.loads(value.as_buffer() if isinstance(value, pa.Scalar) else value)


def _rows(rows: list[Row]) -> pa.Table:
    """Rows as a table of :data:`_ROWS`."""
    columns = list(zip(*rows)) or [()] * 6
    return pa.table({name: pa.array(values, pa.int32()) for name, values in zip(("i", "kind", "j", "part"), columns)}
                    | {"payload": pa.array([_pack(a) for a in columns[4]], pa.binary()),
                       "numbers": pa.array([_pack(a) if a is not None else None for a in columns[5]], pa.binary())})


def _cut(i: int, kind: int, j: int, arrays: Arrays, row_bytes: int, numbers: Arrays | None = None) -> list[Row]:
    """One item as rows of about ``row_bytes``: its arrays, all as long (along the first axis), cut into runs;
    ``numbers`` on the first row. Always at least one row, so an empty item still reaches its group."""
    length = len(next(iter(arrays.values())))
    width = sum(a.nbytes for a in arrays.values()) / max(length, 1)
    run = max(1, int(row_bytes // max(width, 1.0)))
    return [(i, kind, j, part, {name: a[lo:lo + run] for name, a in arrays.items()}, None if part else numbers)
            for part, lo in enumerate(range(0, max(length, 1), run))]


def _pieces(table: pa.Table, kind: int) -> dict[int, list[Arrays]]:
    """The rows of one kind in a group, by ``j``, each item's in ``part`` order."""
    at = np.flatnonzero(table.column("kind").to_numpy() == kind)
    js, parts = table.column("j").to_numpy()[at], table.column("part").to_numpy()[at]
    order = np.lexsort((parts, js))
    pieces: dict[int, list[Arrays]] = {}
    for k, j in zip(at[order], js[order]):
        pieces.setdefault(int(j), []).append(_unpack(table.column("payload")[k]))
    return pieces


def _joined(table: pa.Table, kind: int) -> dict[int, Arrays]:
    """The items of one kind in a group, by ``j``: each item's rows put back together."""
    return {j: {name: np.concatenate([p[name] for p in ps]) for name in ps[0]}
            for j, ps in _pieces(table, kind).items()}


def _block(table: pa.Table) -> int:
    return int(table.column("i")[0].as_py())


def _matrices(size: int, strength: Callable[[np.ndarray], np.ndarray] | None, row_bytes: int):
    """``mapInArrow`` over the graph (i, src, dst, weight, keep), each partition holding whole blocks ``i``: each
    (i, j) block as ``Pᵀ_ij`` in CSR over the authors it reaches (``rows``, local to block j; ``indices``, local
    to block i, ascending within a row), cut into rows of about ``row_bytes`` between authors, and per block
    ``i`` what its nodes that have edges leak. The terms are :meth:`Transition.of
    <renown.score.graph.Transition.of>`'s, in its order: a node's out-weight added up over its edges by author
    (as scipy adds a CSR row), scaled by ``keep``."""
    def build(batches):
        batches = list(batches)
        table = pa.Table.from_batches(batches) if batches else None
        if table is None or table.num_rows == 0:
            return
        src, dst = table.column("src").to_numpy(), table.column("dst").to_numpy()
        weight = table.column("weight").to_numpy().astype(np.float64)
        w = strength(weight) if strength is not None else weight
        keep = np.clip(table.column("keep").to_numpy().astype(np.float64), 0.0, 1.0)
        by_node = np.lexsort((dst, src))
        nodes, starts = np.unique(src[by_node], return_index=True)
        out = np.add.reduceat(w[by_node], starts)
        kept = keep[by_node][starts]
        scale = np.divide(1.0, out, out=np.zeros(len(out)), where=out > 0) * kept
        leak = np.where(out > 0, 1.0 - kept, 1.0)
        p = scale[np.searchsorted(nodes, src)] * w
        i, j = src // size, dst // size
        order = np.lexsort((src, dst, j, i))
        src, dst, p, i, j = src[order], dst[order], p[order], i[order], j[order]
        cuts = np.r_[0, np.flatnonzero((np.diff(i) != 0) | (np.diff(j) != 0)) + 1, len(src)]
        rows: list[Row] = []
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            bi, bj = int(i[lo]), int(j[lo])
            reached, first = np.unique(dst[lo:hi] - bj * size, return_index=True)
            rows += _csr_rows(bi, bj, reached.astype(np.int32), np.r_[first, hi - lo],
                              (src[lo:hi] - bi * size).astype(np.int32), p[lo:hi], row_bytes)
        for bi in np.unique(nodes // size):
            mine = nodes // size == bi
            rows += _cut(int(bi), _LEAK, -1, {"rows": (nodes[mine] - bi * size).astype(np.int32), "leak": leak[mine]},
                         row_bytes)
        yield from _rows(rows).to_batches()
    return build


def _csr_rows(i: int, j: int, reached: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
              row_bytes: int) -> list[Row]:
    """``Pᵀ_ij`` as rows of about ``row_bytes``, each a CSR of its own over a run of the authors reached
    (12 bytes an edge, 12 an author)."""
    ends = np.cumsum(np.diff(indptr) * 12 + 12)
    rows, lo, part = [], 0, 0
    while lo < len(reached):
        hi = max(lo + 1, int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + row_bytes, side="right")))
        a, b = indptr[lo], indptr[hi]
        rows.append((i, _MATRIX, j, part, {"rows": reached[lo:hi], "indptr": (indptr[lo:hi + 1] - a).astype(np.int64),
                                           "indices": indices[a:b], "data": data[a:b]}, None))
        lo, part = hi, part + 1
    return rows


def _state(i: int, x: np.ndarray, leak: np.ndarray, entries: Arrays, change: np.ndarray, row_bytes: int) -> list[Row]:
    """A block's state as rows: its ranks and what it leaks, cut into runs of nodes, each with its teleport
    entries (sorted by node); the numbers the driver adds up on the first row."""
    numbers = {"change": change, "leaked": leak @ x}
    pieces = _cut(i, _STATE, -1, {"x": x, "leak": leak}, row_bytes, numbers)
    order = np.argsort(entries["rows"], kind="stable")
    entries = {name: a[order] for name, a in entries.items()}
    bounds = np.searchsorted(entries["rows"], np.cumsum([0] + [len(piece[4]["leak"]) for piece in pieces]))
    for piece, lo, hi in zip(pieces, bounds[:-1], bounds[1:]):
        piece[4].update({name: a[lo:hi] for name, a in entries.items()})
    return pieces


def _initial_state(engine: SparkEngine, by_block: _Placement, leaks: DataFrame, n: int, size: int,
                   teleport: Teleport | None, row_bytes: int) -> DataFrame:
    """Each block's start (the normalised teleport), leak and teleport entries, kept on the executors."""
    topics = 1 if teleport is None else teleport.topics
    if teleport is None:
        node, topic, u = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    else:
        node, topic, u = teleport.normalised(n)
    count = -(-n // size)
    block = node // size
    entries = engine.spark.createDataFrame(_rows([  # every block has a row, with or without entries
        row for b in range(count)
        for row in _cut(b, _ENTRIES, -1, {"rows": (node[block == b] - b * size).astype(np.int32),
                                          "topics": topic[block == b].astype(np.int32), "weights": u[block == b]},
                        row_bytes)]))
    uniform = teleport is None

    def start(table: pa.Table) -> pa.Table:
        i = _block(table)
        entries = _joined(table, _ENTRIES)[-1]
        leak = np.ones(min(size, n - i * size))
        for part in _joined(table, _LEAK).values():
            leak[part["rows"]] = part["leak"]
        if uniform:
            x = np.full((len(leak), 1), 1.0 / n)
        else:
            x = np.zeros((len(leak), topics))
            x[entries["rows"], entries["topics"]] = entries["weights"]
        return _rows(_state(i, x, leak, entries, np.zeros(topics), row_bytes))

    return by_block.grouped(leaks.unionByName(entries)).applyInArrow(start, _ROWS).localCheckpoint(eager=True)


def _block_state(table: pa.Table, columns: int) -> tuple[int, Arrays, np.ndarray] | None:
    """A group's state: its block, its arrays and its ranks as rows of ``columns``; None without one."""
    state = _joined(table, _STATE).get(-1)
    if state is None:
        return None
    return _block(table), state, state["x"].reshape(-1, columns)


def _entries(state: Arrays) -> Arrays:
    return {name: state[name] for name in ("rows", "topics", "weights")}


def _flow(columns: int, row_bytes: int):
    """The flow step's grouped map (block ``i``'s matrices and state): ``Pᵀ_ij xᵢ`` for each block ``j`` reached,
    as rows of block ``j``."""
    def flow(table: pa.Table) -> pa.Table:
        import scipy.sparse as sp

        found = _block_state(table, columns)
        if found is None:
            return _rows([])
        i, _, x = found
        out: list[Row] = []
        for j, pieces in _pieces(table, _MATRIX).items():  # each row of a matrix is a CSR of its own
            flows = [sp.csr_matrix((m["data"], m["indices"], m["indptr"]), shape=(len(m["rows"]), len(x))) @ x
                     for m in pieces]
            out += _cut(j, _FLOW, i, {"rows": np.concatenate([m["rows"] for m in pieces]),
                                      "flow": np.concatenate(flows)}, row_bytes)
        return _rows(out)
    return flow


def _update(n: int, damping: float, leaked: np.ndarray, active: np.ndarray, uniform: bool, row_bytes: int):
    """The update step's grouped map (what block ``j`` received, its state): the new ranks and their numbers."""
    columns = len(active)

    def update(table: pa.Table) -> pa.Table:
        found = _block_state(table, columns)
        if found is None:
            return _rows([])
        i, state, old = found
        flow = np.zeros_like(old)
        for part in _joined(table, _FLOW).values():  # in block order: a run repeats exactly
            flow[part["rows"]] += part["flow"]
        entries = _entries(state)
        if uniform:
            u = np.full((len(old), 1), 1.0 / n)
            new = damping * (flow + leaked * u) + (1.0 - damping) * u
        else:  # the teleport terms at the entries of the active topics (graph._TeleportTerms, sparse)
            column_of = np.full(int(active.max()) + 1, -1)
            column_of[active] = np.arange(columns)
            topics = entries["topics"]
            on = topics < len(column_of)
            on[on] = column_of[topics[on]] >= 0
            r, c, w = entries["rows"][on], column_of[topics[on]], entries["weights"][on]
            at = damping * (flow[r, c] + leaked[c] * w) + (1.0 - damping) * w
            flow *= damping
            flow[r, c] = at
            new = flow
        return _rows(_state(i, new, state["leak"], entries, np.abs(new - old).sum(axis=0), row_bytes))
    return update


def _in_one(flow, update):
    """Both maps of a step on one group: a single block's matrices and state."""
    def step(table: pa.Table) -> pa.Table:
        state = table.filter(pc.equal(table.column("kind"), _STATE)).select(_rows([]).schema.names)
        return update(pa.concat_tables([flow(table).cast(state.schema), state]))
    return step


def _numbers(state: DataFrame, columns: int) -> dict[str, np.ndarray]:
    """The per-topic numbers of every block (``change``, ``leaked``), each added up in block order."""
    table = state.filter("numbers IS NOT NULL").select("i", "numbers").toArrow().sort_by("i")
    numbers = {name: np.zeros(columns) for name in ("change", "leaked")}
    for value in table.column("numbers"):
        for name, part in _unpack(value).items():
            numbers[name] += part
    return numbers


def _normalised(state: DataFrame, n: int) -> np.ndarray:
    """The uniform teleport's ranks, every node's, divided by their sum as the embedded engine divides them."""
    table = state.select("i", "part", "payload").toArrow().sort_by([("i", "ascending"), ("part", "ascending")])
    x = np.concatenate([_unpack(value)["x"].ravel() for value in table.column("payload")]).reshape(n, 1)
    return (x / x.sum(axis=0))[:, 0]


def _finished(by_block: _Placement, state: DataFrame, size: int, active: np.ndarray, done: np.ndarray,
              pairwise: bool) -> tuple[Arrays, np.ndarray]:
    """The ranks of the ``done`` topics (a mask over ``active``, the blocks' columns) at their entries, and each
    topic's total by topic number: within a block added as the embedded engine adds a column of ranks — pairwise
    when it ranks one topic (an ``n × 1`` sum), one row after another when several — then block after block."""
    columns = len(active)
    finished = active[done]

    def pick(table: pa.Table) -> pa.Table:
        i, block, x = _block_state(table, columns)
        mine = np.isin(block["topics"], finished)
        rows, topics = block["rows"][mine], block["topics"][mine]
        sums = [x[:, c].sum() if pairwise else np.cumsum(x[:, c])[-1] if len(x) else 0.0 for c in np.flatnonzero(done)]
        return pa.table({"topic": pa.array(np.r_[topics, finished].astype(np.int64)),
                         "node": pa.array(np.r_[i * size + rows.astype(np.int64), np.full(len(finished), -1 - i)]),
                         "x": pa.array(np.r_[x[rows, np.searchsorted(active, topics)], sums])})

    found = by_block.grouped(state).applyInArrow(pick, "topic BIGINT, node BIGINT, x DOUBLE").toArrow()
    node = found.column("node").to_numpy()
    totals = found.filter(pa.array(node < 0)).sort_by([("node", "descending")])  # block 0 first
    total = np.zeros(int(active.max()) + 1)
    for topic, value in zip(totals.column("topic").to_numpy(), totals.column("x").to_numpy()):
        total[topic] += value
    entries = found.filter(pa.array(node >= 0))
    return {name: entries.column(name).to_numpy() for name in ("topic", "node", "x")}, total


def _narrowed(by_block: _Placement, state: DataFrame, still: np.ndarray, row_bytes: int) -> DataFrame:
    """The state without the finished columns."""
    columns = len(still)

    def narrow(table: pa.Table) -> pa.Table:
        i, block, x = _block_state(table, columns)
        numbers = _unpack(table.filter(pc.is_valid(table.column("numbers"))).column("numbers")[0])
        return _rows(_state(i, x[:, still], block["leak"], _entries(block), numbers["change"][still], row_bytes))

    narrowed = by_block.grouped(state).applyInArrow(narrow, _ROWS).localCheckpoint(eager=True)
    state.unpersist()
    return narrowed
