"""Relational features for scoring, computed in SQL over the event log.

Everything here is plain SQL over the ``events`` and ``accounts`` views, so
the same statements can run on another engine; numpy takes over only once the
data are aggregated to one row per (reactor, author) pair.

The scoring window ends at ``as_of`` and reaches back ``days``. Each reaction
is weighted by its kind (:data:`KIND_WEIGHTS`: effort and endorsement — a reply
or quote costs more than a like) and by its age, halving every
``half_life_days``. Self-interactions and anonymous reactions (no known actor:
nobody to count as a person) are dropped here, before anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from renown.events import ANONYMOUS, OFFLINE_KINDS, REACTION_KINDS, utc
from renown.score.accounts import AccountColumns
from renown.score.engine import Engine, as_engine
from renown.score.pairs import LocalPairs, Pairs

if TYPE_CHECKING:
    from renown.policy import Scope

KIND_WEIGHTS = {"reply": 1.0, "quote": 1.0, "repost": 0.8, "mention": 0.6, "like": 0.4}
#: Two reactions by one account less than this many seconds apart count as a burst.
BURST_SECONDS = 10
#: Burst timing is judged only for accounts with at least this many reactions in the window.
BURST_MIN_REACTIONS = 20
#: The per-account features the model reads after the gaming assessment, kept where the engine keeps
#: per-account columns (:attr:`Features.accounts`), with the value of an account that has none:
#: decayed posts authored in the window, their number, decayed posts that drew at least one reaction;
#: distinct customers it referred (CRM), the decayed revenue they brought, its latest NPS answer 0–10.
ACCOUNT_FEATURES = {"posts": 0.0, "posts_count": 0.0, "responded": 0.0,
                    "referred": 0.0, "referred_value": 0.0, "nps": float("nan")}
#: Sums of weights are taken in fixed point (units of 2⁻³²): integer sums do not depend on the
#: order a parallel engine adds rows in, so the same data always give bit-identical scores.
FIXED_POINT = 2**32


def fixed_sum(expression: str) -> str:
    """SQL for an order-independent sum of a non-negative DOUBLE expression."""
    return f"CAST(sum(CAST(round(({expression}) * {FIXED_POINT}) AS BIGINT)) AS DOUBLE) / {FIXED_POINT}"


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in UTC: where a window that ends on that day ends."""
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Window:
    as_of: datetime
    days: int = 90
    half_life_days: float = 30.0

    @property
    def start(self) -> datetime:
        return self.as_of - timedelta(days=self.days)


@dataclass
class Features:
    """Arrays indexed by node (account) or by pair, ready for the model."""

    #: node index -> account key (sorted, so indices are deterministic), as Arrow strings: a scoring run
    #: needs no Python string per account (≈ 60 bytes each); :attr:`keys` makes them for whoever asks
    key_array: pa.Array
    # pairs: one row per (reactor, author), sorted by (dst, src); None when they stay on Spark's executors
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray  # Σ kind weight × decay
    count: np.ndarray  # reactions
    recency: np.ndarray  # decay of the newest reaction
    kind_counts: dict[str, np.ndarray]
    # per node, in this process (what the gaming assessment reads)
    targets: np.ndarray  # distinct accounts this node reacted to
    reactions: np.ndarray  # reactions this node made
    bursts: np.ndarray  # share of this node's reactions within BURST_SECONDS of its previous one
    age_days: np.ndarray  # account age at as_of (nan when unknown)
    bot_flag: np.ndarray  # source says bot
    #: per node, where the engine keeps them (:data:`ACCOUNT_FEATURES`; on Spark, on the executors): only the
    #: score's per-account arithmetic reads them (:mod:`renown.score.accounts`)
    accounts: AccountColumns
    #: Where the pairs are; on Spark they stay on the executors and the pair arrays above are None.
    pair_source: Pairs | None = None
    pair_count: int | None = None

    @property
    def n(self) -> int:
        return len(self.key_array)

    @cached_property
    def keys(self) -> np.ndarray:
        """The account keys as a numpy array of Python strings (made on first use)."""
        return np.asarray(self.key_array.to_numpy(zero_copy_only=False), dtype=object)

    def column(self, name: str) -> np.ndarray:
        """One of :data:`ACCOUNT_FEATURES` (or a per-account sum added since), in this process."""
        return self.accounts.column(name)

    @property
    def posts(self) -> np.ndarray:
        return self.column("posts")

    @property
    def posts_count(self) -> np.ndarray:
        return self.column("posts_count")

    @property
    def pairs(self) -> Pairs:
        """The pairs as :mod:`renown.score.pairs` runs kernels on them."""
        if self.pair_source is None:
            self.pair_source = LocalPairs({"src": self.src, "dst": self.dst, "weight": self.weight, "count": self.count,
                                           "recency": self.recency, **{f"n_{k}": v for k, v in self.kind_counts.items()}},
                                          self.n)
        return self.pair_source


def reaction_counts(p, nodes) -> dict[str, np.ndarray]:
    """Kernel: the accounts an account reacted to and its reactions (by ``src``), or its reactors and the
    reactions they made (by ``dst``): pairs are unique, so accounts are pairs."""
    return {"accounts": np.ones(len(p["src"])), "reactions": p["count"]}


def kind_weight_sql(column: str = "kind") -> str:
    """SQL for a reaction's :data:`KIND_WEIGHTS` weight."""
    return f"CASE {column} " + " ".join(f"WHEN '{k}' THEN {w}" for k, w in KIND_WEIGHTS.items()) + " END"


def kind_counts_sql() -> str:
    """SQL aggregates ``n_<kind>``: reactions of each kind in a group."""
    return ", ".join(f"CAST(count(*) FILTER (WHERE kind = '{k}') AS BIGINT) AS n_{k}" for k in KIND_WEIGHTS)


def age_days_sql(engine: Engine, window: Window, column: str) -> str:
    """Days from the timestamp ``column`` to the window's end."""
    return f"({engine.epoch(engine.timestamp(window.as_of))} - {engine.epoch(column)}) / 86400e0"


def decay_sql(engine: Engine, window: Window) -> str:
    """Weight of an event by its age at ``as_of``: halves every ``half_life_days``."""
    return f"CAST(pow(0.5e0, {age_days_sql(engine, window, 'created_at')} / {float(window.half_life_days)}e0) AS DOUBLE)"


def window_sql(engine: Engine, window: Window) -> str:
    """The condition for an event inside the window (as_of − days, as_of]."""
    return f"created_at > {engine.timestamp(window.start)} AND created_at <= {engine.timestamp(window.as_of)}"


def compute(con: duckdb.DuckDBPyConnection | Engine, window: Window, scope: Scope | None = None) -> Features:
    """Aggregate the window's events into :class:`Features`. Leaves temp tables
    ``nodes`` (key, idx) and ``r`` (reactions by node index), and view ``pairs``
    (one row per reactor and author) on the engine.

    Accounts ``scope`` does not allow (opted out, minors, or not opted in under an
    opted-in-only policy: :mod:`renown.policy`) are left out entirely: not scored,
    and their reactions count for nobody."""
    engine = as_engine(con)
    kinds = ", ".join(f"'{k}'" for k in REACTION_KINDS)
    decay = decay_sql(engine, window)
    in_window = window_sql(engine, window)
    if scope is not None and scope.excluded:
        engine.register("_excluded", pa.table({"key": pa.array(sorted(scope.excluded), pa.string())}))
        in_window += (" AND actor NOT IN (SELECT key FROM _excluded)"
                      " AND coalesce(target, '') NOT IN (SELECT key FROM _excluded)")
    if scope is not None and scope.only is not None:
        engine.register("_only", pa.table({"key": pa.array(sorted(scope.only) or [""], pa.string())}))
        in_window += (" AND actor IN (SELECT key FROM _only)"
                      " AND (target IS NULL OR target IN (SELECT key FROM _only))")
    engine.materialize("r_keys", f"""
        SELECT actor, target, kind, network, parent_post_id, created_at, {decay} AS decay
        FROM events WHERE {in_window} AND kind IN ({kinds}) AND target IS NOT NULL AND actor <> target
                      AND actor NOT LIKE '%:{ANONYMOUS}'""")
    engine.materialize("p_keys", f"""
        SELECT actor, network, post_id, {decay} AS decay
        FROM events WHERE {in_window} AND kind IN ('post', 'reply', 'quote') AND post_id IS NOT NULL""")
    offline = ", ".join(f"'{k}'" for k in OFFLINE_KINDS)
    engine.materialize("o_keys", f"""
        SELECT actor, target, kind, attrs, created_at, {decay} AS decay
        FROM events WHERE {in_window} AND kind IN ({offline})""")
    engine.number("nodes", """
        SELECT actor AS key FROM r_keys UNION SELECT target FROM r_keys UNION SELECT actor FROM p_keys
        UNION SELECT actor FROM o_keys""")
    # from here on accounts are integers: each string key is joined exactly once
    engine.materialize("r", f"""
        SELECT {engine.lookup_hint("nodes", "a", "t")} a.idx AS src, t.idx AS dst, kind, network, parent_post_id, created_at, decay
        FROM r_keys JOIN nodes a ON a.key = r_keys.actor JOIN nodes t ON t.key = r_keys.target""")
    engine.materialize("p", f"""
        SELECT {engine.lookup_hint("nodes")} nodes.idx AS author, network, post_id, decay
        FROM p_keys JOIN nodes ON nodes.key = p_keys.actor""")
    engine.drop("r_keys")
    engine.drop("p_keys")
    key_column = engine.table("SELECT key FROM nodes ORDER BY idx").column("key").combine_chunks()
    n = len(key_column)

    engine.view("pairs", f"""
        SELECT src, dst, {fixed_sum(kind_weight_sql() + " * decay")} AS weight,
               CAST(count(*) AS BIGINT) AS count, CAST(max(decay) AS DOUBLE) AS recency, {kind_counts_sql()}
        FROM r GROUP BY src, dst""")
    # counts fit 32 bits and halve their share of the run's peak (this fetch and its numpy copy)
    counts = ", ".join(f"CAST({c} AS INTEGER) AS {c}" for c in ("count", *(f"n_{k}" for k in KIND_WEIGHTS)))
    source = engine.pair_source(n)  # where kernels on the pairs run: Spark keeps them on its executors
    if source is None:
        pairs = _columns(engine, f"SELECT src, dst, weight, recency, {counts} FROM pairs ORDER BY dst, src")
        source, pair_count = LocalPairs(pairs, n), len(pairs["src"])
    else:
        pairs = {}
        pair_count = int(engine.table("SELECT count(*) AS n FROM pairs").column("n")[0].as_py())

    def per_node(sql: str, columns: list[str]) -> dict[str, np.ndarray]:
        return per_account(_columns(engine, sql), {c: np.nan if c == "age_days" else 0.0 for c in columns}, n)

    accounts = engine.accounts(key_column)
    accounts.add_query(f"""
        SELECT p.author AS idx, {fixed_sum("p.decay")} AS posts, CAST(count(*) AS DOUBLE) AS posts_count,
               {fixed_sum("CASE WHEN rp.parent_post_id IS NOT NULL THEN p.decay ELSE 0e0 END")} AS responded
        FROM p LEFT JOIN (SELECT DISTINCT network, parent_post_id FROM r WHERE parent_post_id IS NOT NULL) rp
               ON rp.network = p.network AND rp.parent_post_id = p.post_id
        GROUP BY p.author""", {name: ACCOUNT_FEATURES[name] for name in ("posts", "posts_count", "responded")})
    engine.drop("p")  # posts are aggregated; free them before the numpy phase
    # pairs are unique, so a reactor's distinct targets and reactions come from them; only
    # burst timing needs the individual reactions, and only of reactors active enough to be judged
    made = source.sum_by("src", reaction_counts)
    seconds = engine.epoch("created_at")
    bursts = per_node(f"""
        SELECT src AS idx, CAST(count(*) FILTER (WHERE gap < {BURST_SECONDS}) AS DOUBLE) / count(*) AS bursts
        FROM (SELECT src, {seconds} - lag({seconds}) OVER (PARTITION BY src ORDER BY created_at) AS gap
              FROM r WHERE src IN (SELECT src FROM r GROUP BY src HAVING count(*) >= {BURST_MIN_REACTIONS})) gaps
        GROUP BY src""", ["bursts"])["bursts"]
    value = f"greatest(coalesce(TRY_CAST({engine.json_field('attrs', '$.value')} AS DOUBLE), 0e0), 0e0)"
    accounts.add_query(f"""
        SELECT nodes.idx, CAST(count(DISTINCT target) FILTER (WHERE kind = 'referral') AS DOUBLE) AS referred,
               {fixed_sum(f"CASE WHEN kind = 'referral' THEN {value} * decay ELSE 0e0 END")} AS referred_value,
               CAST(max_by(TRY_CAST({engine.json_field('attrs', '$.score')} AS DOUBLE), created_at)
                   FILTER (WHERE kind = 'nps') AS DOUBLE) AS nps
        FROM o_keys JOIN nodes ON nodes.key = o_keys.actor GROUP BY nodes.idx""",
        {name: ACCOUNT_FEATURES[name] for name in ("referred", "referred_value", "nps")})
    engine.drop("o_keys")
    attrs = per_node(f"""
        SELECT nodes.idx, {age_days_sql(engine, window, 'a.created_at')} AS age_days,
               CASE WHEN a.bot THEN 1e0 ELSE 0e0 END AS bot_flag
        FROM accounts a JOIN nodes ON nodes.key = a.key""", ["age_days", "bot_flag"])
    return Features(
        key_array=key_column,
        src=pairs.get("src"), dst=pairs.get("dst"), weight=pairs.get("weight"), count=pairs.get("count"),
        recency=pairs.get("recency"), kind_counts={k: pairs.get(f"n_{k}") for k in KIND_WEIGHTS},
        targets=made["accounts"], reactions=made["reactions"], bursts=bursts,
        age_days=attrs["age_days"], bot_flag=attrs["bot_flag"], accounts=accounts,
        pair_source=source, pair_count=pair_count,
    )


def per_account(rows: Mapping[str, np.ndarray], fill: Mapping[str, float], n: int) -> dict[str, np.ndarray]:
    """Per-account rows (``idx`` and a column per name of ``fill``) as arrays over all ``n`` accounts;
    accounts without a row get ``fill``."""
    at = rows["idx"].astype(np.int64, copy=False)
    out = {}
    for name, missing in fill.items():
        values = np.full(n, missing, dtype=np.float64)
        values[at] = rows[name].astype(np.float64, copy=False)
        out[name] = values
    return out


def _columns(engine: Engine, sql: str) -> dict[str, np.ndarray]:
    """A query's columns as numpy arrays (see :func:`arrays`)."""
    return arrays(engine.table(sql))


def arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """A table's columns as numpy arrays; NULL numbers become NaN.

    Each chunk is viewed without copying and numpy joins them: Arrow's own concatenation
    writes into fresh pages of its allocator, which cost ≈ 1 s more for the pairs of
    10M events (0.3 s this way)."""
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            out[name] = column.to_numpy().astype(np.float64)
        elif column.num_chunks == 1:
            out[name] = column.chunk(0).to_numpy(zero_copy_only=False)
        elif column.num_chunks:
            out[name] = np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in column.chunks])
        else:
            out[name] = column.to_numpy()
    return out


def latest_event_time(con: duckdb.DuckDBPyConnection | Engine) -> datetime | None:
    """Newest event time (read from the stored files; deletes do not matter for this)."""
    value = as_engine(con).table("SELECT max(created_at) AS newest FROM events_all").column("newest")[0].as_py()
    return utc(value) if value is not None else None
