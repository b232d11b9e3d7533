"""Where the scoring SQL runs: the embedded engine (DuckDB) or Spark.

The feature, evidence and topic statements are written once, in the SQL both
DuckDB and Spark SQL accept (``GROUP BY ALL``, ``count(*) FILTER (WHERE …)``,
``max_by``, window functions, ``LIKE``). The few spellings the two disagree on
are methods of :class:`Engine`, so a statement names what it needs
(``engine.epoch(column)``) instead of an engine. Every other step — the model,
calibration, explanations — consumes the engine's results as Arrow tables,
so both engines feed the same code.

Why SQL rather than a dataframe layer (Ibis): the statements already existed
and were tuned on DuckDB; the dialect gap measured on them was four functions,
and a second layer would have added a dependency and a compilation step to
every query for no change in the plans either engine runs (``docs/spark.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from renown.score.accounts import AccountColumns
    from renown.score.pairs import Pairs

#: The engines ``renown score --engine`` offers: DuckDB + scipy in this process (the default),
#: or Apache Spark (:mod:`renown.score.spark`).
ENGINES = ("embedded", "spark")
#: Rows per batch of a streamed result (:meth:`Engine.batches`).
BATCH_ROWS = 1 << 17


class Engine(Protocol):
    """What a scoring run needs from a SQL engine."""

    name: str
    #: Topic PageRanks computed together (None: all at once). Each topic stops at its own
    #: convergence, so the grouping changes speed and memory, never results.
    topic_block: int | None

    def details(self) -> dict[str, str]:
        """What ran the query, for a snapshot's provenance (engine version, Spark master)."""

    def table(self, sql: str) -> pa.Table:
        """Run a query and return its result."""

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        """Run a query and hand its result over a batch at a time: for results that go straight to a
        file (the snapshot's evidence), which this process then never holds whole."""

    def materialize(self, name: str, sql: str) -> None:
        """Compute a query once and keep it as temporary table ``name``."""

    def view(self, name: str, sql: str) -> None:
        """Name a result that several later statements read. The embedded engine keeps the
        query (each statement recomputes it: at 8M pairs that costs 0.1–0.2 s more per read than
        holding the rows, and saves ~0.5 GB); Spark computes it once."""

    def number(self, name: str, sql: str) -> None:
        """Keep table ``name`` (key, idx): the distinct ``key`` values of a query, numbered
        0, 1, … in byte order of the key — the same numbering on every engine."""

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as ``name``."""

    def lookup_hint(self, table: str, *aliases: str) -> str:
        """A hint to write after ``SELECT``: the joins with ``table`` (as ``aliases``, else by its name) look
        rows up in a copy of it on every worker instead of shuffling the other side, when it is small enough
        (Spark: a numbered or registered table of at most :data:`~renown.score.spark.LOOKUP_ROWS` rows); else ``""``."""

    def pair_source(self, n: int, view: str = "pairs") -> "Pairs | None":
        """Where kernels run on ``view`` (pairs, or topic pairs), or None: on its rows read into this process."""

    def accounts(self, keys: pa.Array) -> "AccountColumns":
        """Where the run keeps its per-account columns (``keys``: the accounts by node index; the
        ``nodes`` table holds them too)."""

    def drop(self, name: str) -> None:
        """Forget temporary table ``name``."""

    def timestamp(self, value: datetime) -> str:
        """A timestamp-with-time-zone literal."""

    def epoch(self, expression: str) -> str:
        """Seconds since 1970 of a timestamp, as DOUBLE."""

    def json_field(self, expression: str, path: str) -> str:
        """The string at a JSON path (``$.value``) of a JSON text, NULL when absent."""

    def explode(self, expression: str) -> str:
        """A select-list expression turning a list into one row per element."""

    def replace_all(self, expression: str, pattern: str, replacement: str) -> str:
        """Replace every regular-expression match."""


class DuckDBEngine:
    """The embedded engine: a DuckDB connection with the store's views."""

    name = "embedded"
    #: at most 32 topics in an n × block dense block (fewer for many accounts: :func:`renown.score.topics.topics_per_block`),
    #: so memory stays bounded however many topics and accounts there are
    topic_block = 32

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def details(self) -> dict[str, str]:
        return {"duckdb_version": duckdb.__version__}

    def table(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        yield from self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def number(self, name: str, sql: str) -> None:
        self.materialize(name, f"SELECT key, CAST(row_number() OVER (ORDER BY key) - 1 AS BIGINT) AS idx "
                               f"FROM (SELECT DISTINCT key FROM ({sql}) k) distinct_keys")

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def lookup_hint(self, table: str, *aliases: str) -> str:
        return ""  # DuckDB plans its hash joins itself

    def pair_source(self, n: int, view: str = "pairs") -> None:
        return None  # the pairs are read into numpy anyway: kernels run on them there

    def accounts(self, keys: pa.Array) -> "AccountColumns":
        from renown.score.accounts import LocalAccounts

        return LocalAccounts(keys, self)

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMPTZ '{value.isoformat()}'"

    def epoch(self, expression: str) -> str:
        return f"(epoch_us({expression}) / 1e6)"

    def json_field(self, expression: str, path: str) -> str:
        return f"json_extract_string({expression}, '{path}')"

    def explode(self, expression: str) -> str:
        return f"unnest({expression})"

    def replace_all(self, expression: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({expression}, '{pattern}', '{replacement}', 'g')"


def as_engine(con: "duckdb.DuckDBPyConnection | Engine") -> Engine:
    """Callers may pass a DuckDB connection (the embedded engine) or any :class:`Engine`."""
    return DuckDBEngine(con) if isinstance(con, duckdb.DuckDBPyConnection) else con
