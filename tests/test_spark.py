"""The Spark engine gives the embedded engine's snapshot: on simulated data and on real data.

Runs Spark in local[2] mode. ``./scripts/test.sh`` installs PySpark (the ``spark`` extra) and
Java when missing and sets ``RENOWN_REQUIRE_SPARK=1``, so there these tests cannot skip.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from renown.cli import main
from renown.ingest.pipeline import ingest
from renown.score import snapshots
from renown.score.run import EngineChoice, run_score
from renown.store import Store
from tests.worlds import scored_world

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install 'renown[spark]')"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "no Java runtime"
    return None


missing = _spark_missing()
if missing and os.environ.get("RENOWN_REQUIRE_SPARK") == "1":
    raise RuntimeError(f"RENOWN_REQUIRE_SPARK=1 but {missing}")
needs_spark = pytest.mark.skipif(missing is not None, reason=missing or "")
SPARK = EngineChoice("spark")


def assert_same_snapshot(embedded: snapshots.Run, spark: snapshots.Run) -> None:
    """Every account within 0.5 points (measured: ≤ 1e-12), the same top 100, the same explanations."""
    assert embedded.as_of == spark.as_of and spark.meta["engine"] == "spark" and embedded.meta["engine"] == "embedded"
    a = pq.read_table(embedded.path / "scores.parquet").sort_by("account")
    b = pq.read_table(spark.path / "scores.parquet").sort_by("account")
    assert a.schema == b.schema and a.column("account").equals(b.column("account"))
    exact_a, exact_b = a.column("exact").to_numpy(), b.column("exact").to_numpy()
    assert np.abs(exact_a - exact_b).max() <= 0.5
    assert np.abs(exact_a - exact_b).max() < 1e-6
    assert a.column("score").equals(b.column("score"))
    for name in a.column_names:
        if name.endswith(("_points", "_value", "_measure")) or name in ("genuineness", "ring_size", "flags", "reactors"):
            x, y = a.column(name).to_numpy(zero_copy_only=False), b.column(name).to_numpy(zero_copy_only=False)
            if x.dtype.kind == "f":
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, err_msg=name)
            else:
                assert (x == y).all(), name
    top_a = snapshots.ranking(embedded).accounts[:100].tolist()
    top_b = snapshots.ranking(spark).accounts[:100].tolist()
    assert top_a == top_b and len(top_a) == min(100, a.num_rows)

    keys = ["account", "component", "kind", "rank", "ref"]
    ea = pq.read_table(embedded.path / "evidence.parquet").sort_by([(k, "ascending") for k in keys])
    eb = pq.read_table(spark.path / "evidence.parquet").sort_by([(k, "ascending") for k in keys])
    assert ea.num_rows == eb.num_rows > 0
    for name in ea.column_names:
        if name == "weight":
            np.testing.assert_allclose(ea.column(name).to_numpy(), eb.column(name).to_numpy(), rtol=1e-9, atol=1e-12)
        else:
            assert ea.column(name).to_pylist() == eb.column(name).to_pylist(), name

    ta = pq.read_table(embedded.path / "topics.parquet")
    tb = pq.read_table(spark.path / "topics.parquet")
    if ta.num_rows:
        ta, tb = ta.sort_by([("topic", "ascending"), ("account", "ascending")]), tb.sort_by([("topic", "ascending"), ("account", "ascending")])
        assert ta.column("account").equals(tb.column("account")) and ta.column("topic").equals(tb.column("topic"))
        np.testing.assert_allclose(ta.column("exact").to_numpy(), tb.column("exact").to_numpy(), atol=1e-6)
        assert ta.column("score").equals(tb.column("score"))
    else:
        assert tb.num_rows == 0


@needs_spark
def test_spark_scores_the_simulated_world_like_the_embedded_engine(tmp_path, capsys, monkeypatch) -> None:
    """Planted rings, bots, topics and CRM records, an opt-out and a minor (the privacy scope reaches
    Spark's SQL too): the CLI's Spark run writes the same snapshot, its score rows made on the executors
    (the driver never collects a per-account feature or sum)."""
    from renown import policy, privacy
    from renown.score.spark import SparkAccounts

    def collected(self, name):
        raise AssertionError(f"the driver collected {name!r}")

    monkeypatch.setattr(SparkAccounts, "column", collected)

    store = scored_world(tmp_path, accounts=400, days=45, seed=11)
    top = snapshots.ranking(snapshots.latest(store.root)).accounts[:2].tolist()
    privacy.opt_out(store, top[0])
    policy.flag_minor(store.root, top[1])
    embedded = run_score(store).run
    assert not {top[0], top[1]} & set(pq.read_table(embedded.path / "scores.parquet").column("account").to_pylist())
    assert main(["--data-dir", str(store.root), "score", "--engine", "spark", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["engine"] == "spark" and result["accounts"] == embedded.meta["accounts"]
    spark = snapshots.latest(store.root)
    assert spark.path != embedded.path
    assert_same_snapshot(embedded, spark)


@needs_spark
def test_spark_reads_the_event_log_from_a_uri_the_cluster_sees(tmp_path, capsys) -> None:
    """``--event-log URI``: the events and accounts copied elsewhere (as to s3a://…), read through
    Hadoop's filesystem layer; the snapshot lands in --data-dir and equals the embedded one."""
    store = scored_world(tmp_path / "world", accounts=150, days=20, seed=5)
    embedded = snapshots.latest(store.root)
    copy = tmp_path / "bucket" / "renown-data"
    shutil.copytree(store.events_dir, copy / "events")
    shutil.copy(store.accounts_file, copy / "accounts.parquet")
    local = tmp_path / "driver"
    assert main(["--data-dir", str(local), "score", "--engine", "spark", "--event-log", copy.as_uri(), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    spark = snapshots.latest(local)
    assert result["accounts"] == embedded.meta["accounts"] and spark.meta["event_log"] == copy.as_uri()
    assert_same_snapshot(embedded, spark)
    missing = (tmp_path / "nowhere").as_uri()
    assert main(["--data-dir", str(local), "score", "--engine", "spark", "--event-log", missing]) != 0
    assert f"no event log at {missing}/events" in capsys.readouterr().err


@needs_spark
@pytest.mark.skipif(not (SHARED / "stackexchange" / "cardano").exists(), reason="../shared/data is not present")
def test_spark_agrees_on_a_real_stack_exchange_site(tmp_path) -> None:
    """Cardano Stack Exchange (answers, comments, votes, accepted answers; tags as topics)."""
    store = Store(tmp_path / "data")
    ingest(store, [SHARED / "stackexchange" / "cardano"])
    assert_same_snapshot(run_score(store).run, run_score(store, engine=SPARK).run)


@needs_spark
@pytest.mark.skipif(not (SHARED / "higgs-twitter").exists(), reason="../shared/data is not present")
def test_spark_agrees_on_a_sample_of_real_twitter_interactions(tmp_path) -> None:
    """The first 40,000 Higgs retweets, mentions and replies (no topics, no account data)."""
    sample = tmp_path / "higgs-sample.txt"
    with gzip.open(SHARED / "higgs-twitter" / "higgs-activity_time.txt.gz", "rt") as source:
        sample.write_text("".join(itertools.islice(source, 40_000)))
    store = Store(tmp_path / "data")
    ingest(store, [sample])
    assert_same_snapshot(run_score(store).run, run_score(store, engine=SPARK).run)


@needs_spark
def test_spark_submit_runs_renown_with_the_settings_it_was_given(tmp_path) -> None:
    """The cluster launch of docs/spark.md: spark-submit runs renown's entry point, which keeps
    spark-submit's master instead of forcing local mode, and writes the embedded engine's scores."""
    import subprocess

    import pyspark
    import renown

    store = scored_world(tmp_path, accounts=120, days=20, seed=5)
    embedded = snapshots.latest(store.root)
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    entry = Path(renown.__file__).parent / "__main__.py"
    out = subprocess.run([str(submit), "--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=2", str(entry),
                          "--data-dir", str(store.root), "score", "--engine", "spark", "--json"],
                         env={**os.environ, "PYSPARK_PYTHON": sys.executable}, capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)  # spark-submit's own settings put spark-warehouse/ in the working directory
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["engine"] == "spark"
    spark = snapshots.latest(store.root)
    assert spark.meta["engine"] == "spark"
    assert spark.meta["spark_master"] == "local[1]"
    a = pq.read_table(embedded.path / "scores.parquet").sort_by("account")
    b = pq.read_table(spark.path / "scores.parquet").sort_by("account")
    np.testing.assert_allclose(a.column("exact").to_numpy(), b.column("exact").to_numpy(), atol=1e-6)


@needs_spark
@pytest.mark.parametrize("blocks, row_bytes", [(1, None), (3, None), (1, 200), (3, 200)])
def test_spark_pagerank_is_the_embedded_iteration_in_node_blocks(blocks, row_bytes) -> None:
    """Random weighted graph with dangling nodes, discounted reactors, a uniform and three topic teleports.
    In one block the executors run the embedded engine's arithmetic in its order: the same bits. In blocks
    of unequal size (300 nodes in 3 blocks, the last one short) only the order of adding the blocks' flows
    differs: equal to rounding. Rows of 200 bytes cut every block's ranks, matrices, flows and entries into
    many rows (a few nodes or edges each), which must not change a bit."""
    import pyarrow as pa

    from renown.score.graph import ConvergenceError, Teleport, adjacency, pagerank
    from renown.score.spark import SparkEngine, session
    from renown.score.spark_pagerank import block_pagerank

    rng = np.random.default_rng(3)
    n, m = 301, 1500
    pair = np.unique(rng.integers(0, n - 20, m) * n + rng.integers(0, n, m))  # the last 20 nodes are dangling
    src, dst = pair // n, pair % n
    keep_ = np.where(rng.random(n) < 0.1, 0.05, 1.0)
    weight = rng.random(len(pair)) + 0.1
    W = adjacency(src, dst, np.log2(1.0 + weight), n)
    pairs = adjacency(src, dst, weight, n).tocoo()
    engine = SparkEngine(session())
    graph = engine.spark.createDataFrame(pa.table({"src": pairs.row.astype(np.int64), "dst": pairs.col.astype(np.int64),
                                                   "weight": pairs.data, "keep": keep_[pairs.row]}))

    def log_strength(w):
        return np.log2(1.0 + w)

    dense = np.zeros((n, 3))
    dense[:10, 0], dense[50:55, 1], dense[n - 1, 2] = 1.0, rng.random(5), 1.0
    node, topic = np.nonzero(dense)
    shuffled = rng.permutation(len(node))  # entries in any order come back in theirs
    teleport = Teleport(node[shuffled], topic[shuffled], dense[node, topic][shuffled], 3)
    expected = [(None, pagerank(W, keep=keep_)), (teleport, teleport.at(pagerank(W, personalization=dense, keep=keep_)))]
    for t, ranks in expected:
        layout = {"blocks": blocks} | ({"row_bytes": row_bytes} if row_bytes else {})
        got = block_pagerank(engine, graph, n, t, strength=log_strength, **layout)
        if blocks == 1:
            assert np.array_equal(got, ranks)
        else:
            np.testing.assert_allclose(got, ranks, rtol=1e-12, atol=0)
    if blocks == 1 and row_bytes is None:
        with pytest.raises(ConvergenceError):
            block_pagerank(engine, graph, n, max_iter=3)
        with pytest.raises(ValueError, match="each \\(node, topic\\) once"):
            block_pagerank(engine, graph, n, Teleport(np.array([1, 1]), np.array([0, 0]), np.ones(2), 1))


@needs_spark
@pytest.mark.parametrize("blocks", [4, 6])
def test_spark_pagerank_gives_each_block_its_own_partition(blocks) -> None:
    """Block b's rows land in shuffle partition b mod P (P = 4 in local[2]; adaptive execution off, as
    during the iteration): as many blocks as partitions take a task each, where hashing the block numbers put
    three of four blocks in one task."""
    from pyspark.sql import functions as F

    from renown.score.spark import session
    from renown.score.spark_pagerank import _iteration_settings, _Placement

    spark = session()
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    with _iteration_settings(spark):
        placement = _Placement(spark, blocks, partitions)
        rows = spark.range(blocks * 50).select((F.col("id") % blocks).cast("int").alias("i"))
        placed = placement.spread(rows).select("i", F.spark_partition_id().alias("part")).distinct().toArrow()
    assert len(set(placement.keys)) == blocks
    assert dict(zip(placed.column("i").to_pylist(), placed.column("part").to_pylist())) == {
        b: b % partitions for b in range(blocks)}


def test_spark_pagerank_cuts_the_graph_into_blocks_only_when_it_is_big() -> None:
    """One block (one grouped map a step, the embedded engine's bits) until the ranks or the edges outgrow it;
    then at least a block per partition, and more as a block of ranks or matrices would pass its bytes."""
    from renown.score.spark_pagerank import BLOCK_BYTES, ONE_BLOCK_BYTES, block_count

    ranks = ONE_BLOCK_BYTES // 8  # that many doubles fill the one block
    assert block_count(2_000, 1, 20_000, 4) == 1
    assert block_count(ranks // 50, 50, ONE_BLOCK_BYTES // 16, 4) == 1
    assert block_count(ranks // 50 + 1, 50, ONE_BLOCK_BYTES // 16, 4) == 4
    assert block_count(2_000, 1, ONE_BLOCK_BYTES // 16 + 1, 4) == 4  # many edges among few nodes
    assert block_count(10_000_000, 50, 80_000_000, 4) == -(-10_000_000 * 50 * 8 // BLOCK_BYTES)
    assert block_count(1_000, 10, 100 * BLOCK_BYTES // 16, 4) == 100  # the matrices decide
    assert block_count(3, 10_000_000, 10, 4) == 3  # never more blocks than nodes


def test_missing_pyspark_names_the_extra_to_install(monkeypatch) -> None:
    from renown.score.spark import SparkUnavailable, session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(SparkUnavailable, match=r"pip install 'renown\[spark\]'"):
        session()


def test_missing_java_says_how_to_get_it(monkeypatch, tmp_path) -> None:
    pytest.importorskip("pyspark")
    from renown.score.spark import SparkUnavailable, session

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match="Java 17"):
        session()


def test_the_jvm_writes_its_warnings_to_stderr_not_into_json_output() -> None:
    """A 10M-event run with topics printed a JVM GC warning on stdout, and `score --json` did not parse."""
    from renown.score.spark import JVM_LOG_TO_STDERR, session

    jvm = session().sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert all(option in arguments for option in JVM_LOG_TO_STDERR.split())


def test_the_users_own_jvm_options_keep_the_jvm_warnings_on_stderr(tmp_path, monkeypatch) -> None:
    """``--conf spark.driver.extraJavaOptions=…`` or a spark-defaults.conf value used to replace the logging
    options (warnings back on stdout, `--json` broken) or be replaced by them; now both are kept."""
    from renown.score.spark import JAVA_OPTIONS, JVM_LOG_TO_STDERR, driver_java_options

    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert driver_java_options() == JVM_LOG_TO_STDERR
    (tmp_path / "spark-defaults.conf").write_text("# site settings\nspark.driver.memory   8g\n"
                                                  f"{JAVA_OPTIONS}   -Dsite=1 -Xss4m\n")
    assert driver_java_options() == f"{JVM_LOG_TO_STDERR} -Dsite=1 -Xss4m"
    assert driver_java_options({JAVA_OPTIONS: "-Duser=2"}) == f"{JVM_LOG_TO_STDERR} -Duser=2"  # --conf wins, as in Spark
    (tmp_path / "spark-defaults.conf").write_text(f"{JAVA_OPTIONS}=-Dsite=3\n")
    assert driver_java_options() == f"{JVM_LOG_TO_STDERR} -Dsite=3"


def test_local_mode_uses_a_handful_of_shuffle_partitions() -> None:
    from renown.score.spark import local_settings

    assert local_settings("local[2]")["spark.sql.shuffle.partitions"] == "4"
    assert local_settings("local")["spark.sql.shuffle.partitions"] == "2"
    assert "spark.sql.shuffle.partitions" not in local_settings("spark://head:7077")
    assert not local_settings("local[2]")["spark.sql.warehouse.dir"].startswith(os.getcwd())  # no litter in the cwd


def test_spark_options_need_the_spark_engine(tmp_path, capsys) -> None:
    for option in (["--master", "local[2]"], ["--event-log", "s3a://bucket/renown-data"]):
        assert main(["--data-dir", str(tmp_path), "score", *option]) != 0
        assert "--engine spark" in capsys.readouterr().err


@needs_spark
def test_both_engines_number_accounts_identically_in_byte_order() -> None:
    """Node indices are part of the contract between SQL and the model: Spark numbers keys
    without a global window, and must agree with DuckDB's row_number over the same keys."""
    import duckdb
    import pyarrow as pa

    from renown.score.engine import DuckDBEngine
    from renown.score.spark import SparkEngine, session

    rng = np.random.default_rng(7)
    keys = [f"net:{i}" for i in rng.permutation(5000)] + ["é:1", "Z:1", "a:1", "ß:2", "net:17"]  # one repeat
    table = pa.table({"key": pa.array(keys, pa.string())})
    numbered = {}
    for engine in (DuckDBEngine(duckdb.connect()), SparkEngine(session())):
        engine.register("_keys", table)
        engine.number("_numbered", "SELECT key FROM _keys")
        result = engine.table("SELECT key, idx FROM _numbered ORDER BY idx")
        numbered[engine.name] = (result.column("key").to_pylist(), result.column("idx").to_pylist())
        engine.drop("_numbered")
    expected = sorted(set(keys), key=lambda k: k.encode())
    assert numbered["embedded"] == numbered["spark"] == (expected, list(range(len(expected))))


@needs_spark
def test_both_engines_make_account_rows_alike_in_account_order(monkeypatch) -> None:
    """Per-account columns kept where each engine keeps them — whole, for some accounts with a fill, from a query
    with a NaN fill, from kernel sums over pairs — reach the row maker alike, and its rows come back in account
    order, on Spark from many partitions, each account's rows spread over Arrow batches of 7 rows."""
    import duckdb
    import pyarrow as pa

    from renown.score import spark as spark_engine
    from renown.score.engine import DuckDBEngine
    from renown.score.features import reaction_counts
    from renown.score.pairs import LocalPairs
    from renown.score.spark import SparkEngine, session

    monkeypatch.setattr(spark_engine, "ACCOUNT_ROW_BYTES", spark_engine.CHUNK_BYTES // 40)  # 40 accounts a partition
    n = 1000
    rng = np.random.default_rng(3)
    keys = pa.array([f"net:{i:05d}" for i in range(n)], pa.string())
    src, dst = rng.integers(0, n, 4000), rng.integers(0, n, 4000)
    src, dst = np.unique(np.stack([src, dst], axis=1), axis=0).T
    pairs = pa.table({"src": src, "dst": dst, "count": rng.integers(1, 5, len(src))})
    some = np.sort(rng.choice(n, 50, replace=False))
    queried = pa.table({"idx": some[:30], "score": rng.uniform(0, 10, 30)})
    rank = rng.uniform(size=n)
    schema = pa.schema([("account", pa.string()), ("idx", pa.int64()), ("rank", pa.float64()),
                        ("flags", pa.string()), ("score", pa.float64()), ("reactions", pa.float64())])

    def make(batch_keys, columns):
        return pa.record_batch([batch_keys, pa.array(np.asarray(columns["idx_copy"]).astype(np.int64)),
                                pa.array(columns["rank"]), pa.array(columns["flags"], pa.string()),
                                pa.array(columns["score"]), pa.array(columns["reactions"])], schema=schema)

    made = {}
    for engine in (DuckDBEngine(duckdb.connect()), SparkEngine(session())):
        engine.register("nodes", pa.table({"key": keys, "idx": pa.array(np.arange(n), pa.int64())}))
        engine.register("_queried", queried)
        engine.register("_pairs", pairs)
        accounts = engine.accounts(keys)
        accounts.add({"idx_copy": np.arange(n), "rank": rank})
        accounts.add({"flags": np.array(["ring"] * len(some), dtype=object)}, at=some, fill="")
        accounts.add_query("SELECT idx, score FROM _queried", {"score": float("nan")})
        source = engine.pair_source(n, "_pairs") or LocalPairs({"src": src, "dst": dst, "count": pairs.column("count").to_numpy()}, n)
        accounts.add_sums(source, "dst", reaction_counts)
        if engine.name == "spark":
            engine.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "7")
        try:
            made[engine.name] = pa.Table.from_batches(list(accounts.rows(make, schema)), schema)
        finally:
            if engine.name == "spark":
                engine.spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
        assert np.array_equal(accounts.column("score"), np.asarray(made[engine.name].column("score")), equal_nan=True)
        if engine.name == "spark":
            engine.close()
    local, spark = made["embedded"], made["spark"]
    assert local.column("account").to_pylist() == keys.to_pylist() and local.column("idx").to_pylist() == list(range(n))
    for name in schema.names:
        x, y = local.column(name).to_numpy(), spark.column(name).to_numpy()
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert local.column("flags").to_pylist().count("ring") == 50
    assert np.isnan(local.column("score").to_numpy()).sum() == n - 30
    assert local.column("reactions").to_numpy().sum() == pairs.column("count").to_numpy().sum()


@needs_spark
def test_joins_with_the_accounts_copy_them_to_every_worker_up_to_a_limit(monkeypatch) -> None:
    """Spark cannot size a checkpointed table, so without a hint it shuffles both sides of a join with the
    accounts; the hint copies the accounts to every worker instead, only while they number at most LOOKUP_ROWS."""
    import pyarrow as pa

    from renown.score import spark as spark_engine
    from renown.score.spark import SparkEngine, session

    engine = SparkEngine(session())
    engine.spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")  # only hints broadcast
    try:
        keys = [f"net:{i}" for i in range(500)]
        engine.register("_keys", pa.table({"key": pa.array(keys, pa.string())}))
        engine.number("_numbered", "SELECT key FROM _keys")

        def plan() -> str:
            query = f"SELECT {engine.lookup_hint('_numbered', 'n')} n.idx FROM _keys k JOIN _numbered n ON n.key = k.key"
            return engine.spark.sql(query)._jdf.queryExecution().executedPlan().toString()

        assert "BroadcastHashJoin" in plan() and "SortMergeJoin" not in plan()
        monkeypatch.setattr(spark_engine, "LOOKUP_ROWS", 499)
        assert engine.lookup_hint("_numbered") == "" and "SortMergeJoin" in plan()
        assert engine.lookup_hint("_unknown") == ""
    finally:
        engine.spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")
        engine.close()
