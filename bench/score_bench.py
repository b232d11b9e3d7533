"""Scoring throughput end to end from the stored event log.

    python bench/score_bench.py [--sizes 1000000:100000 10000000:1000000] [--workdir bench/out]

For each size (events:accounts) it writes a synthetic heavy-tailed event log
straight into a data directory (DuckDB SQL, seeded; popularity and activity
follow power laws; with ``--topics K`` each author has one of K taxonomy topics
and tags 60 % of its posts with it, so the run scores topics too), then runs ``renown score --json`` in a fresh process and
reports wall time, events/s per stage, peak RSS, and the ratio of total
scoring time to a bare DuckDB per-target ``count(*), count(DISTINCT actor)``
over the same Parquet files in the same run — a number that stays comparable
on noisy machines.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from ingest_bench import machine  # noqa: E402
from measure import measured  # noqa: E402

KINDS = "['like', 'like', 'like', 'like', 'repost', 'repost', 'reply', 'reply', 'quote', 'mention']"


def topic_slugs(k: int) -> list[str]:
    """``k`` taxonomy topics spread over the alphabet (deterministic)."""
    from renown.topics import taxonomy

    slugs = sorted(taxonomy().names)
    return slugs[:: max(1, len(slugs) // k)][:k] if k else []


def generate(data_dir: Path, events: int, accounts: int, topics: int = 0) -> None:
    if (data_dir / "events").exists():
        return
    (data_dir / "events").mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    posts = events // 5
    reactions = events - posts
    # authors of posts and targets of reactions: power law (a few accounts get most attention)
    con.execute(f"""
        CREATE TABLE posts AS
        SELECT 'bench:' || CAST(floor({accounts} * pow(random(), 2.5)) AS BIGINT) AS actor,
               'p' || CAST(i AS VARCHAR) AS post_id,
               TIMESTAMPTZ '2026-06-30 23:00:00+00' - to_seconds(CAST(random() * 89 * 86400 AS BIGINT)) AS created_at
        FROM range({posts}) t(i)""")
    con.execute(f"""
        CREATE TABLE picks AS
        SELECT i, CAST(floor({posts} * pow(random(), 2.0)) AS BIGINT) AS post_index,
               'bench:' || CAST(floor({accounts} * random()) AS BIGINT) AS actor,
               {KINDS}[1 + CAST(floor(random() * 10) AS INTEGER)] AS kind,
               random() AS lag
        FROM range({reactions}) t(i)""")
    con.execute("CREATE TABLE numbered AS SELECT row_number() OVER (ORDER BY post_id) - 1 AS n, * FROM posts")
    slugs = topic_slugs(topics)
    # an author's home topic follows from its name; 60 % of its posts carry it as their tag
    tags = (f"CASE WHEN random() < 0.6 THEN [{slugs!r}[1 + CAST(hash(actor) % {len(slugs)} AS INTEGER)]] "
            "ELSE []::VARCHAR[] END") if slugs else "[]::VARCHAR[]"
    con.execute(f"""
        COPY (
          SELECT 'bench:p' || CAST(n AS VARCHAR) AS event_id, 'post' AS kind, actor, NULL::VARCHAR AS target,
                 post_id, NULL::VARCHAR AS parent_post_id, created_at, NULL::VARCHAR AS text, NULL::VARCHAR AS lang,
                 {tags} AS tags, 'bench:' || post_id AS record_id, 'bench' AS source_file,
                 CAST(n AS BIGINT) AS source_line, NULL::VARCHAR AS attrs, 'bench' AS network,
                 CAST(created_at AS DATE) AS day
          FROM numbered
          UNION ALL
          SELECT 'bench:r' || CAST(k.i AS VARCHAR), k.kind, k.actor, p.actor, 'r' || CAST(k.i AS VARCHAR),
                 p.post_id, least(p.created_at + to_seconds(CAST(k.lag * 86400 AS BIGINT)), TIMESTAMPTZ '2026-06-30 23:59:00+00'),
                 NULL, NULL, []::VARCHAR[], 'bench:r' || CAST(k.i AS VARCHAR), 'bench', CAST(k.i AS BIGINT), NULL,
                 'bench', CAST(least(p.created_at + to_seconds(CAST(k.lag * 86400 AS BIGINT)), TIMESTAMPTZ '2026-06-30 23:59:00+00') AS DATE)
          FROM picks k JOIN numbered p ON p.n = k.post_index
        ) TO '{data_dir / "events"}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (network, day), FILENAME_PATTERN 'part-bench-{{i}}')""")
    con.close()


def dataset(workdir: Path, size: str, topics: int = 0) -> tuple[int, Path]:
    """The event log for ``size`` ("events:accounts") with ``topics`` topics under ``workdir``, generated once."""
    events, accounts = (int(x) for x in size.split(":"))
    data_dir = workdir / (f"score-{events}-{accounts}" + (f"-topics{topics}" if topics else ""))
    t = time.perf_counter()
    generate(data_dir, events, accounts, topics)
    print(f"event log {data_dir} ready in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return events, data_dir


def bare_count(data_dir: Path) -> float:
    con = duckdb.connect()
    files = f"'{data_dir}/events/*/*/*.parquet'"
    start = time.perf_counter()
    con.execute(f"SELECT target, count(*), count(DISTINCT actor) FROM read_parquet({files}) WHERE target IS NOT NULL GROUP BY target").fetchall()
    return time.perf_counter() - start


def run(data_dir: Path) -> dict:
    shutil.rmtree(data_dir / "snapshots", ignore_errors=True)
    out, figures = measured([sys.executable, "-m", "renown", "--data-dir", str(data_dir), "score", "--json"])
    return {**orjson.loads(out), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000000:100000", "10000000:1000000"])
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument("--topics", type=int, default=0, help="topics the authors tag their posts with")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    print("| events | topics | accounts scored | pairs | wall s | features s | graph+model s | topics s | evidence s "
          "| snapshot s | events/s | peak RSS MiB | bare count s | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        events, data_dir = dataset(args.workdir, size, args.topics)
        bare = bare_count(data_dir)
        r = run(data_dir)
        s = r["seconds"]
        print(f"| {events:,} | {args.topics} | {r['accounts']:,} | {r['pairs']:,} | {r['wall']:.1f} | {s['features']:.1f} | "
              f"{s['graph+model']:.1f} | {s['topics']:.1f} | {s['evidence']:.1f} | {s['snapshot']:.1f} | {events / r['wall']:,.0f} | "
              f"{r['rss_mb']:.0f} | {bare:.2f} | {r['wall'] / bare:.1f} |")


if __name__ == "__main__":
    main()
