"""A scoring run: event log → features → model → evidence → snapshot."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa

from renown.errors import RenownError
from renown.score import snapshots
from renown.score.engine import ENGINES, DuckDBEngine, Engine
from renown.score.features import (KIND_WEIGHTS, Window, compute, end_of_day, fixed_sum, kind_counts_sql,
                                   kind_weight_sql, latest_event_time)
from renown.score.gaming import assess
from renown.score.model import (COMPONENTS, EVIDENCE_TOP, GENUINENESS_TABLE, Accounts, Context, EvidenceBlock,
                                 RankerFactory, account_scores, build_context, evidence, register_genuineness)
from renown import endorsements
from renown.score.topics import topic_scores
from renown.score.version import SCORING_VERSION
from renown.store import Store


@dataclass
class RunInfo:
    run: snapshots.Run
    accounts: int
    pairs: int
    seconds: dict[str, float] = field(default_factory=dict)


def resolve_as_of(con, as_of: date | None) -> datetime:
    """The window's end: the end of ``as_of``, or of the day of the newest event."""
    if as_of is not None:
        return end_of_day(as_of)
    newest = latest_event_time(con)
    if newest is None:
        raise RenownError("the event log is empty: run `renown ingest` (or `renown demo`) first")
    return end_of_day(newest.astimezone(timezone.utc).date())


@dataclass(frozen=True)
class EngineChoice:
    """Which engine runs the SQL and the graph: ``embedded`` (DuckDB + scipy, the default)
    or ``spark`` (``master`` URL, default ``local[2]``; extra ``conf`` settings; ``event_log``:
    where the executors read the event log when not from the data directory, see
    :meth:`renown.score.spark.SparkEngine.open`)."""

    name: str = "embedded"
    master: str | None = None
    conf: tuple[tuple[str, str], ...] = ()
    event_log: str | None = None


@contextmanager
def open_engine(store: Store, choice: EngineChoice) -> Iterator[tuple[Engine, RankerFactory | None]]:
    if choice.name == "embedded":
        con = store.connect()
        try:
            yield DuckDBEngine(con), None
        finally:
            con.close()
    elif choice.name == "spark":
        from renown.score.spark import SparkEngine

        engine = SparkEngine.open(store, choice.master, dict(choice.conf), choice.event_log)
        try:
            yield engine, engine.ranker
        finally:
            engine.close()
    else:
        raise RenownError(f"unknown engine {choice.name!r}: choose one of {', '.join(ENGINES)}")


def _newest_day(store: Store, as_of: date | None, engine: EngineChoice) -> date:
    """The window's end date, read where the run reads its events."""
    if engine.event_log is None:
        con = store.connect()
        try:
            return resolve_as_of(con, as_of).date()
        finally:
            con.close()
    with open_engine(store, engine) as (sql, _):
        return resolve_as_of(sql, as_of).date()


def run_weekly(store: Store, weeks: int, as_of: date | None = None, **options) -> list[RunInfo]:
    """Snapshots for the ``weeks`` weeks before ``as_of`` and for ``as_of`` itself, oldest
    first: backfills the history that profiles chart and "since last week" compares to."""
    if weeks <= 0:  # one run: it resolves the window's end itself (one pass over the log fewer)
        return [run_score(store, as_of, **options)]
    end = _newest_day(store, as_of, options.get("engine", EngineChoice()))
    return [run_score(store, end - timedelta(weeks=w), **options) for w in range(weeks, -1, -1)]


STEPS = ("features", "graph+model", "topics", "evidence", "snapshot")


def run_score(store: Store, as_of: date | None = None, window_days: int = 90, half_life_days: float = 30.0,
              engine: EngineChoice = EngineChoice(), on_step: Callable[[str], None] | None = None) -> RunInfo:
    """Score the window ending ``as_of`` and write a snapshot; both engines write the same one.
    ``on_step`` hears the name of each of :data:`STEPS` as it starts (and ``start`` before them)."""
    from renown.policy import scope

    step = on_step or (lambda name: None)
    step("start")
    with open_engine(store, engine) as (sql, ranker):
        return _run(store, sql, ranker, as_of, window_days, half_life_days, scope(store.root), step)


def _run(store: Store, engine: Engine, ranker: RankerFactory | None, as_of: date | None, window_days: int,
         half_life_days: float, allowed, step: Callable[[str], None]) -> RunInfo:
    seconds: dict[str, float] = {}
    step("features")
    tick = time.perf_counter()
    window = Window(resolve_as_of(engine, as_of), window_days, half_life_days)
    features = compute(engine, window, allowed)
    seconds["features"] = time.perf_counter() - tick

    step("graph+model")
    tick = time.perf_counter()
    genuine = assess(features)
    register_genuineness(engine, genuine.g)
    if ranker is None:
        # the model runs in numpy without the engine (scipy PageRank), and the top posts need only
        # the genuineness: SQL aggregates them on the engine meanwhile (10M events: −1.1 s)
        with ThreadPoolExecutor(max_workers=1) as background:
            posts = background.submit(_top_posts, engine)
            ctx = build_context(features, genuine=genuine)
            posts.result()
    else:  # the engine ranks the graph itself (Spark): one thing at a time
        ctx = build_context(features, ranker=ranker, genuine=genuine)
        _top_posts(engine)
    seconds["graph+model"] = time.perf_counter() - tick

    step("topics")
    tick = time.perf_counter()
    topics_table = topic_scores(engine, ctx, window, endorsements.in_window(store, window.start, window.as_of))
    seconds["topics"] = time.perf_counter() - tick

    step("evidence")
    tick = time.perf_counter()
    engine.drop("r")  # the topics and the top posts were its last readers: free it before the evidence arrays
    keys = features.key_array
    evidence_rows = _evidence_rows(ctx, keys, engine.batches(f"SELECT * FROM {TOP_POSTS}"))
    scores_rows = _scores_rows(ctx)
    accounts, pairs = int(features.n), int(features.pair_count if features.pair_count is not None else len(features.src))
    del features, ctx, genuine  # the evidence and score rows hold what they need until they are written
    seconds["evidence"] = time.perf_counter() - tick

    step("snapshot")
    tick = time.perf_counter()
    meta = {
        "scoring_version": SCORING_VERSION,
        "engine": engine.name,
        **engine.details(),
        "as_of": window.as_of.isoformat(),
        "window_days": window.days,
        "half_life_days": window.half_life_days,
        "computed_at": datetime.now(timezone.utc).isoformat(),
        "accounts": accounts,
        "pairs": pairs,
        "components": [{"name": c.name, "weight": c.weight, "description": c.description} for c in COMPONENTS],
    }
    run = snapshots.write(store.root, window.as_of.date(), {"scores": scores_rows, "evidence": evidence_rows, "topics": topics_table}, meta)
    seconds["snapshot"] = time.perf_counter() - tick
    return RunInfo(run, accounts, pairs, seconds)


def _scores_rows(c: Context) -> pa.RecordBatchReader:
    """The snapshot's score rows, made where the engine keeps the run's per-account columns (on Spark, on the
    executors): the genuineness and rank this process computed join them there, then :func:`score_rows`."""
    g, accounts = c.genuine, c.f.accounts
    # the genuineness is on the engine already (registered before ranking)
    accounts.add_query(f"SELECT idx, g AS genuineness FROM {GENUINENESS_TABLE}", {"genuineness": 0.0})
    accounts.add({"rank": c.rank, "reactors": g.reactors, "reactions": g.reactions, "ring_size": g.ring_size})
    flagged = np.flatnonzero((g.bot > 0) | (g.ring >= 0))
    accounts.add({"flags": np.array([",".join(g.reasons(int(i))) for i in flagged], dtype=object)}, at=flagged, fill="")
    return accounts.rows(partial(score_rows, rank_base=c.rank_base), SCORES_SCHEMA)


#: The score rows' columns of each component: its value, measure and points (:func:`~renown.score.model.account_scores`).
COMPONENT_COLUMNS = tuple(f"{c.name}_{part}" for c in COMPONENTS for part in ("value", "measure", "points"))
#: A snapshot's ``scores`` table: one row per account.
SCORES_SCHEMA = pa.schema([
    ("account", pa.string()), ("score", pa.int64()), ("exact", pa.float64()), ("z", pa.float64()),
    ("reactors", pa.int64()), ("reactions", pa.int64()), ("posts", pa.int64()), ("genuineness", pa.float64()),
    ("ring_size", pa.int64()), ("flags", pa.string()), ("nps", pa.float64()),
    *((name, pa.float64()) for name in COMPONENT_COLUMNS)])


def score_rows(keys: pa.Array, columns: Mapping[str, np.ndarray], rank_base: float) -> pa.RecordBatch:
    """Some accounts' score rows (:data:`SCORES_SCHEMA`) from their per-account columns: the components'
    inputs, calibration and points (:func:`~renown.score.model.account_scores`), and what the snapshot
    reports beside them."""
    scored = account_scores(Accounts(columns, rank_base))
    nps = np.asarray(columns["nps"], dtype=np.float64)
    row = {
        "account": keys,
        "score": scored["score"], "exact": scored["exact"], "z": scored["z"],
        "reactors": np.asarray(columns["reactors"]).astype(np.int64),
        "reactions": np.asarray(columns["reactions"]).astype(np.int64),
        "posts": np.asarray(columns["posts_count"]).astype(np.int64),
        "genuineness": columns["genuineness"], "ring_size": np.asarray(columns["ring_size"]).astype(np.int64),
        "flags": pa.array(columns["flags"], pa.string()), "nps": pa.array(nps, pa.float64(), mask=np.isnan(nps)),
        **{name: scored[name] for name in COMPONENT_COLUMNS},
    }
    return pa.record_batch([pa.array(row[name], SCORES_SCHEMA.field(name).type) if not isinstance(row[name], pa.Array)
                            else row[name] for name in SCORES_SCHEMA.names], schema=SCORES_SCHEMA)


EVIDENCE_SCHEMA = pa.schema([("account", pa.string()), ("component", pa.string()), ("rank", pa.int64()),
                             ("kind", pa.string()), ("ref", pa.string()), ("weight", pa.float64()),
                             ("reactors", pa.int64()), ("ring_size", pa.int64()),
                             *((f"n_{k}", pa.int64()) for k in KIND_WEIGHTS)])
#: the evidence columns after ``account``
EVIDENCE_COLUMNS = tuple(EVIDENCE_SCHEMA.names[1:])


#: The table of each account's top posts, kept on the engine until the snapshot's evidence is written.
TOP_POSTS = "top_posts"


def _top_posts(engine: Engine) -> None:
    """Each account's top posts by genuine reaction weight (evidence of amplification), weighed by
    the registered :data:`~renown.score.model.GENUINENESS_TABLE`, kept as :data:`TOP_POSTS`."""
    weight = fixed_sum(f"{kind_weight_sql()} * r.decay * gen.g")
    columns = ", ".join(f"top.{name}" for name in EVIDENCE_COLUMNS)
    engine.materialize(TOP_POSTS, f"""
        SELECT {engine.lookup_hint("nodes")} nodes.key AS account, {columns} FROM (
            SELECT * FROM (
                SELECT {engine.lookup_hint(GENUINENESS_TABLE, "gen")} r.dst, 'amplification' AS component,
                       CAST(row_number() OVER (PARTITION BY r.dst ORDER BY {weight} DESC, r.parent_post_id) AS BIGINT) AS rank,
                       'post' AS kind, r.parent_post_id AS ref, {weight} AS weight,
                       CAST(count(DISTINCT r.src) AS BIGINT) AS reactors, CAST(0 AS BIGINT) AS ring_size, {kind_counts_sql()}
                FROM r JOIN {GENUINENESS_TABLE} gen ON gen.idx = r.src
                WHERE r.parent_post_id IS NOT NULL
                GROUP BY r.dst, r.parent_post_id) ranked
            WHERE rank <= {EVIDENCE_TOP}) top JOIN nodes ON nodes.idx = top.dst""")


def _evidence_rows(c: Context, keys: pa.Array, posts: Iterator[pa.RecordBatch]) -> pa.RecordBatchReader:
    """People and discounts (from the model) and top posts (from SQL) behind each score, made as the
    snapshot writer reads them: on Spark they arrive from the executors a partition at a time, so the
    driver never holds the evidence (at 10M events, 7.4M rows)."""
    def rows() -> Iterator[pa.RecordBatch]:
        for block in evidence(c):
            yield from _block_table(block, keys).to_batches()
        for batch in posts:
            yield from pa.Table.from_batches([batch]).select(EVIDENCE_SCHEMA.names).cast(EVIDENCE_SCHEMA).to_batches()

    return pa.RecordBatchReader.from_batches(EVIDENCE_SCHEMA, rows())


def _block_table(block: EvidenceBlock, keys: pa.Array) -> pa.Table:
    """One evidence block as snapshot rows (numpy columns are wrapped, not copied)."""
    size = len(block.account)

    def constant(value: str) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(size, dtype=np.int32)),
                                              pa.array([value], pa.string())).cast(pa.string())

    ref = keys.take(pa.array(block.ref_node)) if block.ref_node is not None else pa.array(block.ref_label, pa.string())
    return pa.table({
        "account": keys.take(pa.array(block.account)), "component": constant(block.component),
        "rank": pa.array(block.rank, pa.int64()), "kind": constant(block.kind), "ref": ref,
        "weight": pa.array(block.weight, pa.float64()),
        "reactors": pa.array(block.reactors if block.reactors is not None else np.ones(size, dtype=np.int64), pa.int64()),
        "ring_size": pa.array(block.ring_size if block.ring_size is not None else np.zeros(size, dtype=np.int64), pa.int64()),
        **{f"n_{k}": pa.array(block.counts[k], pa.int64()) for k in KIND_WEIGHTS},
    }, schema=EVIDENCE_SCHEMA)


def window_events(store: Store, account: str, start: datetime, end: datetime, limit: int = 10) -> list[dict]:
    """Reactions to ``account`` in (start, end], newest first: the events behind a change."""
    con = store.connect()
    cursor = con.execute(
        """SELECT event_id, kind, actor, created_at, parent_post_id FROM events
           WHERE target = ? AND actor <> target AND kind IN ('reply', 'repost', 'quote', 'like', 'mention')
             AND created_at > ? AND created_at <= ? ORDER BY created_at DESC, event_id LIMIT ?""",
        [account, start, end, limit])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    total = con.execute(
        """SELECT count(*), count(DISTINCT actor) FROM events WHERE target = ? AND actor <> target
           AND kind IN ('reply', 'repost', 'quote', 'like', 'mention') AND created_at > ? AND created_at <= ?""",
        [account, start, end]).fetchone()
    con.close()
    return [{"total": total[0], "reactors": total[1]}] + rows

