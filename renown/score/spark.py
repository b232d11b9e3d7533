"""The Spark engine: the scoring SQL and PageRank on Apache Spark (``renown[spark]``).

``renown score --engine spark [--master URL]`` runs the statements of
:mod:`renown.score.features`, :mod:`renown.score.topics` and the evidence
query on Spark SQL over the same partitioned Parquet event log
(``events/network=…/day=…``), and PageRank as grouped maps over blocks of
the graph and the ranks on the executors (:mod:`renown.score.spark_pagerank`),
the model's per-pair kernels on the pairs where they are (:class:`SparkPairs`), and
its per-account arithmetic — components, calibration, points, score rows — on a
frame of the accounts' columns (:class:`SparkAccounts`). Both engines run the same
statements and numpy functions, so both write the same snapshot
(``tests/test_spark.py`` proves it on simulated and real data).

Local mode is tuned for small machines: a few shuffle partitions (Spark's
default of 200 turns a one-minute 1M-event run on 2 cores into several
minutes), no UI, UTC session time. ``--conf key=value`` overrides any setting;
``docs/spark.md`` covers clusters.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from renown.errors import RenownError
from renown.events import ACCOUNT_SCHEMA, EVENT_COLUMNS
from renown.score.model import DAMPING, GENUINENESS_TABLE, Ranker, pair_strength
from renown.store import UNRESOLVED, Store, live_events_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from renown.score.features import Features
    from renown.score.pairs import Kernel

LOCAL_MASTER = "local[2]"
#: The most rows a numbered table (the accounts) may have for joins to look keys up in a copy on every worker
#: (:meth:`SparkEngine.lookup_hint`); estimated ≈ 60 bytes a row in the hashed copy, ≈ 240 MB at the limit.
LOOKUP_ROWS = 4_000_000
#: JVM unified logging: none of the default configuration (warnings to stdout), warnings and errors to stderr.
JVM_LOG_TO_STDERR = "-Xlog:disable -Xlog:all=warning:stderr"
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
INSTALL_HINT = "pip install 'renown[spark]'"


class SparkUnavailable(RenownError):
    """PySpark or Java is missing; the message says how to install it."""


def local_settings(master: str) -> dict[str, str]:
    """Settings for ``master``: on ``local[N]``, ``2·N`` shuffle partitions (measured: 200
    made a 1M-event run on 2 cores take over 4 minutes, 4 took under one)."""
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.ansi.enabled": "true",
    }
    local = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if local:
        threads = local.group(1)
        cores = 1 if threads is None else (os.cpu_count() or 2) if threads == "*" else int(threads)
        settings["spark.sql.shuffle.partitions"] = str(2 * cores)
        settings["spark.default.parallelism"] = str(2 * cores)
        settings["spark.driver.memory"] = "4g"
        # renown keeps no Spark tables: without this, every run leaves an empty spark-warehouse/ in the cwd
        settings["spark.sql.warehouse.dir"] = str(Path(tempfile.gettempdir()) / "renown-spark-warehouse")
    return settings


def driver_java_options(conf: dict[str, str] | None = None) -> str:
    """The driver JVM's options: :data:`JVM_LOG_TO_STDERR`, then the user's own — from ``conf`` (``--conf``),
    else from ``spark-defaults.conf``, which a value set here would otherwise replace. The JVM's warnings (e.g.
    G1's "[3012.5s][warning][gc,alloc] … GCLocker" under memory pressure) go to stdout by default, which is
    renown's stdout when it launches the driver: ``--json`` would not parse. Logging options add up left to
    right, so a user's own ``-Xlog`` still applies."""
    given = (conf or {}).get(JAVA_OPTIONS) or spark_defaults().get(JAVA_OPTIONS)
    return " ".join(filter(None, [JVM_LOG_TO_STDERR, given]))


def spark_defaults() -> dict[str, str]:
    """The settings of the ``spark-defaults.conf`` spark-submit reads (in ``SPARK_CONF_DIR``, else in
    ``SPARK_HOME``'s or the pip-installed PySpark's ``conf/``): one key and value a line, ``#`` comments."""
    if os.environ.get("SPARK_CONF_DIR"):
        folder = Path(os.environ["SPARK_CONF_DIR"])
    elif os.environ.get("SPARK_HOME"):
        folder = Path(os.environ["SPARK_HOME"]) / "conf"
    else:
        try:
            import pyspark
        except ImportError:
            return {}
        folder = Path(pyspark.__file__).parent / "conf"
    try:
        lines = (folder / "spark-defaults.conf").read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    found = (re.fullmatch(r"(\S+?)(?:\s*[=:]\s*|\s+)(.*)", line.strip()) for line in lines
             if line.strip() and not line.lstrip().startswith(("#", "!")))
    return {m.group(1): m.group(2).strip() for m in found if m}


def session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """The Spark session (created once per process, then reused). Under ``spark-submit``
    without ``master``, the cluster settings spark-submit was given are kept."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkUnavailable(f"the Spark engine needs PySpark: {INSTALL_HINT}") from error
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SparkUnavailable("the Spark engine needs Java 17 or newer: install a JDK (e.g. `apt install "
                               "openjdk-17-jre-headless`) or set JAVA_HOME")
    builder = SparkSession.builder.appName("renown")
    if master is None and "PYSPARK_GATEWAY_PORT" in os.environ:
        master = ""  # launched by spark-submit: its --master and --conf stand
    else:
        master = master or LOCAL_MASTER
        builder = builder.master(master)
        if local_settings(master).get("spark.sql.shuffle.partitions"):  # local: workers are this machine's
            # kernels run in Python workers: the interpreter that runs renown has renown's libraries
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in {**local_settings(master), **(conf or {}), JAVA_OPTIONS: driver_java_options(conf)}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine:
    """The :class:`~renown.score.engine.Engine` protocol on a Spark session."""

    name = "spark"
    #: all topics go in one PageRank: each step costs Spark's fixed overhead (≈ 0.4 s) once, and the node blocks
    #: grow in number with the topics so each block of ranks stays small (:mod:`renown.score.spark_pagerank`)
    topic_block = None

    def __init__(self, spark: SparkSession, event_log: str | None = None) -> None:
        self.spark = spark
        self.event_log = event_log
        self._kept: dict[str, DataFrame] = {}
        self._rows: dict[str, int] = {}  # rows of the tables :meth:`number` made and :meth:`register` was given

    @classmethod
    def open(cls, store: Store, master: str | None = None, conf: dict[str, str] | None = None,
             event_log: str | None = None) -> SparkEngine:
        """An engine with views ``events_all``, ``events`` and ``accounts`` over the store's files, or
        over ``event_log``: a copy of the data directory's ``events/`` and ``accounts.parquet`` at a
        URI every executor reads (``s3a://bucket/renown-data``, ``hdfs://…``, ``file:///…``)."""
        from pyspark.errors import AnalysisException

        if event_log is None:
            store.recover_if_unlocked()
            if not store.event_files():
                raise RenownError("the event log is empty: run `renown ingest` (or `renown demo`) first")
            events = str(store.events_dir)
            accounts = str(store.accounts_file) if store.accounts_file.exists() else None
        else:
            root = event_log.rstrip("/")
            events, accounts = f"{root}/events", f"{root}/accounts.parquet"
        engine = cls(session(master, conf), event_log)
        spark = engine.spark
        try:
            stored = spark.read.option("mergeSchema", "true").option("basePath", events).parquet(events)
        except AnalysisException as error:
            raise RenownError(f"no event log at {events}: {str(error).splitlines()[0]}") from error
        stored.selectExpr(*EVENT_COLUMNS, "CAST(day AS DATE) AS day").createOrReplaceTempView("events_all")
        if event_log is None:  # the store keeps the answer for its own files
            unresolved = store.has_unresolved()
        else:
            unresolved = bool(spark.sql(f"SELECT count(*) AS n FROM events_all WHERE {UNRESOLVED}").first()["n"])
        spark.sql(live_events_sql(unresolved)).createOrReplaceTempView("events")
        try:
            described = spark.read.parquet(accounts) if accounts is not None else None
        except AnalysisException:  # the copy has no accounts file
            described = None
        if described is None:  # no account was ever described: none is a bot or dated
            engine.register("accounts", ACCOUNT_SCHEMA.empty_table())
        else:
            described.createOrReplaceTempView("accounts")
        return engine

    def details(self) -> dict[str, str]:
        where = {"event_log": self.event_log} if self.event_log else {}
        return {"spark_version": self.spark.version, "spark_master": self.spark.sparkContext.master, **where}

    def table(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def batches(self, sql: str | DataFrame) -> Iterator[pa.RecordBatch]:
        """A result (a query, or a frame) handed over one partition after another, the next fetched
        while this one is used: the driver holds about two partitions' chunks, never the result.
        Each partition travels as Arrow IPC streams of about :data:`CHUNK_BYTES` (one binary row each),
        so no row becomes a Python object on the way."""
        frame = self.spark.sql(sql) if isinstance(sql, str) else sql
        return self.unpacked(frame.mapInArrow(_packed, PACKED))

    @staticmethod
    def unpacked(frame: DataFrame) -> Iterator[pa.RecordBatch]:
        """The batches of a frame of :func:`_packed` chunks, a partition after another. The frame is
        computed once, on every executor at once, and kept there while its chunks are counted, spread a
        chunk or so per partition and fetched (otherwise each of those would compute it again)."""
        stored = frame.localCheckpoint(eager=True)
        try:
            # a partition is what the driver fetches at a time: about one chunk each, whatever the
            # partitions the result was made in (a partition of the evidence at 10M events is ≈ 200 MB)
            chunks = stored.count()
            for row in stored.repartition(max(chunks, 1)).toLocalIterator(prefetchPartitions=True):
                yield from pa.ipc.open_stream(pa.py_buffer(row["payload"]))
        finally:
            stored.unpersist()

    def materialize(self, name: str, sql: str) -> None:
        self._name(name, self.spark.sql(sql).localCheckpoint(eager=True))

    def view(self, name: str, sql: str) -> None:
        self.materialize(name, sql)  # a result read several times is computed once

    def _name(self, name: str, frame: DataFrame) -> None:
        """Make ``frame`` the temporary table ``name``, releasing what held the name before."""
        self.drop(name)
        frame.createOrReplaceTempView(name)
        self._kept[name] = frame

    def number(self, name: str, sql: str) -> None:
        """Range-partitioned and sorted, then numbered by partition offset + position: no global
        window (``row_number() OVER (ORDER BY key)`` would pull every key through one task)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        keys = self.spark.sql(f"SELECT DISTINCT key FROM ({sql}) k")
        ordered = (keys.repartitionByRange("key").sortWithinPartitions("key")
                   .withColumn("part", F.spark_partition_id()).localCheckpoint(eager=True))
        counts = dict(ordered.groupBy("part").count().collect())
        offsets, total = [], 0
        for part in sorted(counts):
            offsets.append((part, total))
            total += counts[part]
        starts = self.spark.createDataFrame(offsets or [(0, 0)], "part INT, start BIGINT")
        numbered = ordered.join(F.broadcast(starts), "part").select(
            "key", (F.col("start") + F.row_number().over(Window.partitionBy("part").orderBy("key")) - 1)
            .cast("bigint").alias("idx")).localCheckpoint(eager=True)
        self._name(name, numbered)
        self._rows[name] = total
        ordered.unpersist()

    def register(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)
        self._rows[name] = table.num_rows

    def lookup_hint(self, table: str, *aliases: str) -> str:
        """Spark does not know the size of a checkpointed table, so it shuffles both sides of every join with the
        accounts; a broadcast of the numbered accounts instead measured 32.2 → 6.8 s for the reactions' two joins
        at 10M events (1M accounts, ``local[2]``)."""
        if self._rows.get(table, LOOKUP_ROWS + 1) > LOOKUP_ROWS:
            return ""
        return f"/*+ BROADCAST({', '.join(aliases or (table,))}) */"

    def pair_source(self, n: int, view: str = "pairs") -> SparkPairs:
        """``view`` as kernels run on it: on the executors."""
        return SparkPairs(self, view, n)

    def accounts(self, keys: pa.Array) -> SparkAccounts:
        return SparkAccounts(self, len(keys))

    def drop(self, name: str) -> None:
        self._rows.pop(name, None)
        frame = self._kept.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        for name in list(self._kept):
            self.drop(name)
        for view in self.spark.catalog.listTables():
            if view.isTemporary:
                self.spark.catalog.dropTempView(view.name)

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMP '{value.isoformat()}'"

    def epoch(self, expression: str) -> str:
        return f"(unix_micros({expression}) / 1e6)"

    def json_field(self, expression: str, path: str) -> str:
        return f"get_json_object({expression}, '{path}')"

    def explode(self, expression: str) -> str:
        return f"explode({expression})"

    def replace_all(self, expression: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({expression}, '{pattern}', '{replacement}')"

    def ranker(self, f: Features, keep: np.ndarray) -> Ranker:
        """PageRank of the ``pairs`` view's reaction graph, on the executors (:mod:`renown.score.spark_pagerank`).
        Each reactor passes on the share ``keep`` of its rank: its genuineness, which the run has registered as
        :data:`~renown.score.model.GENUINENESS_TABLE` (read here rather than shipped to the executors again)."""
        from renown.score.spark_pagerank import block_pagerank

        graph = self.spark.sql(f"SELECT {self.lookup_hint(GENUINENESS_TABLE, 'k')} p.src, p.dst, p.weight, k.g AS keep FROM pairs p "
                               f"JOIN {GENUINENESS_TABLE} k ON k.idx = p.src").localCheckpoint(eager=True)
        return lambda teleport: block_pagerank(self, graph, f.n, teleport, strength=pair_strength, damping=DAMPING)


#: About how much of a result (uncompressed) one streamed chunk carries (:meth:`SparkEngine.batches`).
CHUNK_BYTES = 32 << 20
#: The schema of :func:`_packed` chunks.
PACKED = "payload BINARY"


def _packed(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``: a partition's batches as zstd-compressed Arrow IPC streams of about :data:`CHUNK_BYTES`
    of data, a row each (measured on 7.4M evidence-like rows: 739 MB plain, 163 MB compressed; fetching
    them took 3 s instead of 7, reshuffling 0.9 s instead of 4)."""
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    sink = writer = None
    for batch in batches:
        rows = max(1, int(batch.num_rows * (CHUNK_BYTES / 4) / max(batch.nbytes, 1)))  # a kernel's batch is its whole partition
        for offset in range(0, batch.num_rows, rows):
            if writer is None:
                sink, held = pa.BufferOutputStream(), 0
                writer = pa.ipc.new_stream(sink, batch.schema, options=options)
            piece = batch.slice(offset, rows)
            writer.write_batch(piece)
            held += piece.nbytes
            if held >= CHUNK_BYTES:
                yield _payload(writer, sink)
                writer = None
    if writer is not None:
        yield _payload(writer, sink)


def _payload(writer, sink) -> pa.RecordBatch:
    writer.close()
    return pa.record_batch([pa.array([sink.getvalue().to_pybytes()], pa.binary())], names=["payload"])


#: Column types between Spark SQL and numpy, for the kernels' inputs.
_NUMPY = {"bigint": np.int64, "int": np.int32, "double": np.float64, "boolean": np.bool_}


class SparkPairs:
    """:class:`~renown.score.pairs.Pairs` on Spark: a kernel runs on the executors, on partitions that each
    hold every pair of their keys (sorted by dst, then src, as the embedded engine's pairs are), with the
    per-account arrays broadcast; only per-account results come back to the driver."""

    def __init__(self, engine: SparkEngine, view: str, n: int) -> None:
        self.engine, self.view, self.n = engine, view, n

    def _probe(self, kernel: Kernel, nodes: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """What ``kernel`` yields (names and types), learnt on no rows."""
        frame = self.engine.spark.table(self.view)
        empty = {f.name: np.zeros(0, dtype=_NUMPY.get(f.dataType.simpleString(), np.float64)) for f in frame.schema}
        return kernel(empty, {name: np.asarray(values) for name, values in (nodes or {}).items()})

    def _names(self, kernel: Kernel, nodes: dict[str, np.ndarray] | None) -> list[str]:
        return list(self._probe(kernel, nodes))

    def _scatter(self, found: pa.Table, names: list[str], dtype) -> dict[str, np.ndarray]:
        """Per-account results (``key`` and ``names`` columns) as arrays over all accounts, zero elsewhere."""
        at = found.column("key").to_numpy()
        out = {}
        for name in names:
            column = np.zeros(self.n, dtype=dtype)
            column[at] = found.column(name).to_numpy().view(dtype)
            out[name] = column
        return out

    @contextmanager
    def _mapped(self, partitioning, kernel: Kernel, nodes: dict | None, schema: str, per_table) -> Iterator[DataFrame]:
        """The pairs repartitioned by ``partitioning`` and sorted by (dst, src), each partition's table made
        into ``per_table(columns, kernel's output)`` (``schema``; :data:`PACKED`: as :func:`_packed` chunks, for
        :meth:`SparkEngine.unpacked`); the broadcast per-account arrays live as long as the block."""
        packed = schema == PACKED
        nodes = {name: np.ascontiguousarray(values) for name, values in (nodes or {}).items()}
        shipped = self.engine.spark.sparkContext.broadcast(nodes)

        def per_partition(batches):
            import pyarrow as pa

            batches = list(batches)
            if not batches:
                return
            table = pa.Table.from_batches(batches)
            columns = {name: table.column(name).to_numpy() for name in table.column_names}
            made = per_table(columns, kernel(columns, shipped.value)).to_batches()
            yield from _packed(made) if packed else made

        try:
            yield (self.engine.spark.table(self.view).repartition(*partitioning).sortWithinPartitions("dst", "src")
                   .mapInArrow(per_partition, schema))
        finally:
            shipped.unpersist()

    def _run(self, partitioning, kernel: Kernel, nodes: dict | None, schema: str, per_table) -> pa.Table:
        with self._mapped(partitioning, kernel, nodes, schema, per_table) as frame:
            return frame.toArrow()

    def _summed(self, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None):
        """How :meth:`sum_by` maps the pairs: (the names of the sums, their schema, the per-partition step)."""
        from renown.score.pairs import sums

        names = self._names(kernel, nodes)

        def per_table(columns, values):
            keys, local = np.unique(columns[key], return_inverse=True)
            return pa.table({"key": keys, **sums(local, values, len(keys))})

        return names, ", ".join(["key BIGINT", *(f"`{name}` DOUBLE" for name in names)]), per_table

    def sum_by(self, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        from renown.score.pairs import checked

        names, schema, per_table = self._summed(key, kernel, nodes)
        return self._scatter(self._run([checked(key)], kernel, nodes, schema, per_table), names, np.float64)

    def sums_frame(self, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None) -> DataFrame:
        """:meth:`sum_by`'s sums left on the executors: a frame of ``idx`` and the sums, a row per account with
        a pair (the others' sums are zero)."""
        from renown.score.pairs import checked

        names, schema, per_table = self._summed(key, kernel, nodes)
        with self._mapped([checked(key)], kernel, nodes, schema, per_table) as frame:
            return frame.withColumnRenamed("key", "idx").localCheckpoint(eager=True)

    def sum_by_group(self, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        from renown.score.pairs import checked, group_sums

        names = [name for name in self._names(kernel, nodes) if name not in ("keep", "group")]

        def per_table(columns, values):
            keys, groups, totals = group_sums(columns[key], values)
            return pa.table({"key": keys, "grp": groups, **totals})

        found = self._run([checked(key)], kernel, nodes,
                          ", ".join(["key BIGINT", "grp BIGINT", *(f"`{name}` DOUBLE" for name in names)]), per_table)
        found = found.sort_by([("key", "ascending"), ("grp", "ascending")])
        return (found.column("key").to_numpy(), found.column("grp").to_numpy(),
                {name: found.column(name).to_numpy() for name in names})

    def wrapped_sum_by(self, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None
                       ) -> dict[str, np.ndarray]:
        from renown.score.pairs import checked, kept, wrapped_sums

        names = [name for name in self._names(kernel, nodes) if name != "keep"]

        def per_table(columns, values):
            keys, values = kept(columns[key], values)
            keys, local = np.unique(keys, return_inverse=True)
            totals = wrapped_sums(local, values, len(keys))
            return pa.table({"key": keys, **{k: v.view(np.int64) for k, v in totals.items()}})  # the bits, as BIGINT

        found = self._run([checked(key)], kernel, nodes,
                          ", ".join(["key BIGINT", *(f"`{name}` BIGINT" for name in names)]), per_table)
        return self._scatter(found, names, np.uint64)

    def with_flag(self, name: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None) -> SparkPairs:
        from pyspark.sql import functions as F

        frame = self.engine.spark.table(self.view)
        schema = ", ".join([*(f"`{f.name}` {f.dataType.simpleString()}" for f in frame.schema), f"`{name}` BOOLEAN"])

        def per_table(columns, values):
            return pa.table({**columns, name: np.asarray(values[name], dtype=bool)})

        view = f"{self.view}_{name}"
        # both directions of a pair of accounts in one partition
        with self._mapped([F.least("src", "dst"), F.greatest("src", "dst")], kernel, nodes, schema, per_table) as flagged:
            self.engine._name(view, flagged.localCheckpoint(eager=True))
        return SparkPairs(self.engine, view, self.n)

    def rows_by(self, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None
                ) -> Iterator[dict[str, np.ndarray]]:
        from renown.score.pairs import checked

        with self._mapped([checked(key)], kernel, nodes, PACKED, lambda columns, rows: pa.table(rows)) as frame:
            for batch in self.engine.unpacked(frame):
                yield {name: batch.column(name).to_numpy() for name in batch.schema.names}

    def select(self, kernel: Kernel, columns: tuple[str, ...], nodes: dict[str, np.ndarray] | None = None
               ) -> dict[str, np.ndarray]:
        frame = self.engine.spark.table(self.view)
        types = {f.name: f.dataType.simpleString() for f in frame.schema}
        schema = ", ".join(f"`{c}` {types[c]}" for c in columns)

        def per_table(table_columns, values):
            keep = values["keep"]
            return pa.table({c: table_columns[c][keep] for c in columns})

        found = self._run(["dst"], kernel, nodes, schema, per_table)
        return {c: found.column(c).to_numpy() for c in columns}


#: About how many bytes of input and rows one account takes in :meth:`SparkAccounts.rows` (the score rows:
#: ≈ 30 numbers), to cut the accounts into partitions of about :data:`CHUNK_BYTES` each.
ACCOUNT_ROW_BYTES = 400


class SparkAccounts:
    """:class:`~renown.score.accounts.AccountColumns` on Spark: each addition a frame of ``idx`` and its
    columns on the executors (with the value of an account it has no row for), brought together with the
    ``nodes`` table (the accounts' keys) only when rows are made. The driver sends the columns it computed
    itself (genuineness, rank) and never collects one."""

    def __init__(self, engine: SparkEngine, n: int) -> None:
        self.engine, self.n = engine, n
        self.frames: list[tuple[DataFrame, dict[str, float | str]]] = []

    def add(self, columns: Mapping[str, np.ndarray], at: np.ndarray | None = None, fill: float | str = 0.0) -> None:
        idx = np.arange(self.n, dtype=np.int64) if at is None else np.asarray(at, dtype=np.int64)
        table = pa.table({"idx": idx, **{name: pa.array(values, pa.string()) if isinstance(fill, str) else values
                                         for name, values in columns.items()}})
        self.frames.append((self.engine.spark.createDataFrame(table).localCheckpoint(eager=True),
                            dict.fromkeys(columns, fill)))

    def add_query(self, sql: str, fill: Mapping[str, float]) -> None:
        self.frames.append((self.engine.spark.sql(sql).select("idx", *fill).localCheckpoint(eager=True), dict(fill)))

    def add_sums(self, pairs: SparkPairs, key: str, kernel: Kernel, nodes: dict[str, np.ndarray] | None = None) -> None:
        frame = pairs.sums_frame(key, kernel, nodes)
        self.frames.append((frame, dict.fromkeys((name for name in frame.columns if name != "idx"), 0.0)))

    def column(self, name: str) -> np.ndarray:
        """Collected from the executors (for a look at small runs: a scoring run never asks)."""
        frame, fill = next((frame, fill) for frame, fill in self.frames if name in fill)
        found = frame.select("idx", name).toArrow()
        values = np.full(self.n, fill[name], dtype=object if isinstance(fill[name], str) else np.float64)
        values[found.column("idx").to_numpy()] = found.column(name).to_numpy(zero_copy_only=False)
        return values

    def rows(self, make, schema: pa.Schema) -> pa.RecordBatchReader:
        """Every account's columns brought together: the keys (``nodes``) and the frames stacked into one frame,
        a column per name (NULL in the other frames' rows), cut into ranges of accounts by one shuffle and sorted;
        on an executor each range's rows are merged into one per account (:func:`_merged`), made into rows by
        ``make`` and fetched in account order. (Joining the frames instead cost a shuffle per frame: 10M events,
        snapshot step 43.5 s.)"""
        from renown.score.accounts import ROWS_CHUNK

        fills = {name: value for _, fill in self.frames for name, value in fill.items()}
        stacked = self.engine.spark.table("nodes").select("idx", "key")
        for part, fill in self.frames:
            stacked = stacked.unionByName(part.select("idx", *fill), allowMissingColumns=True)
        parts = max(int(self.engine.spark.conf.get("spark.sql.shuffle.partitions")),
                    -(-self.n * ACCOUNT_ROW_BYTES // CHUNK_BYTES))
        ranged = stacked.repartitionByRange(parts, "idx").sortWithinPartitions("idx")

        def per_partition(batches):
            batches = list(batches)  # an account's rows may span batches
            if not batches:
                return
            keys, columns = _merged(pa.Table.from_batches(batches), fills)
            made = (make(keys.slice(start, ROWS_CHUNK), {name: values[start:start + ROWS_CHUNK]
                                                         for name, values in columns.items()})
                    for start in range(0, len(keys), ROWS_CHUNK))
            yield from _packed(made)

        def batches() -> Iterator[pa.RecordBatch]:
            # made on every executor at once and kept there, then fetched a partition after another (fetching
            # as they are made would make them one partition at a time)
            made = ranged.mapInArrow(per_partition, PACKED).localCheckpoint(eager=True)
            try:
                for row in made.toLocalIterator(prefetchPartitions=True):
                    yield from pa.ipc.open_stream(pa.py_buffer(row["payload"]))
            finally:
                made.unpersist()

        return pa.RecordBatchReader.from_batches(schema, batches())


def _merged(table: pa.Table, fills: dict[str, float | str]) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Stacked rows sorted by ``idx`` (:meth:`SparkAccounts.rows`) as one row per account: its key (each account
    has one ``nodes`` row) and a column per name of ``fills``, its value from the row that holds it, else the fill."""
    idx = table.column("idx").to_numpy()
    account = np.cumsum(np.r_[True, idx[1:] != idx[:-1]]) - 1 if len(idx) else idx
    keys = table.column("key").combine_chunks()
    keys = keys.filter(keys.is_valid())
    columns = {}
    for name, fill in fills.items():
        column = table.column(name).combine_chunks()
        held = np.asarray(column.is_valid())
        values = np.full(len(keys), fill, dtype=object if isinstance(fill, str) else np.float64)
        values[account[held]] = column.filter(held).to_numpy(zero_copy_only=False)
        columns[name] = values
    return keys, columns
