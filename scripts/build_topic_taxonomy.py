"""Build renown/data/klout_topics.csv.gz from the Klout Topic Ontology in ../shared.

    .venv/bin/python scripts/build_topic_taxonomy.py [--shared ../shared]

Keeps what topic matching needs — slug, display name, first parent slug — for
every topic. The ontology is CC BY 3.0 (Klout Topic Ontology, klout/opendata;
Ellinger, Bhattacharyya, Bhargava, Spasojevic, arXiv:1710.09824); the
attribution is shipped beside the derived file.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    source = args.shared / "data" / "klout-topics"
    with open(source / "klout_topic_ontology_20180601.csv", newline="", encoding="utf-8") as handle:
        topics = {row["topicId"]: row for row in csv.DictReader(handle)}
    parents: dict[str, str] = {}
    with open(source / "klout_topic_edge_20180601.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            child, parent = row["childTopicSlug"], row["parrentTopicSlug"]
            if parent != "_ROOT_" and child not in parents:
                parents[child] = parent
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["slug", "name", "parent"])
    for row in sorted(topics.values(), key=lambda r: r["topicSlug"]):
        writer.writerow([row["topicSlug"], row["topicDisplayName"], parents.get(row["topicSlug"], "")])
    target = ROOT / "renown" / "data" / "klout_topics.csv.gz"
    target.write_bytes(gzip.compress(out.getvalue().encode("utf-8"), mtime=0))
    print(f"wrote {target} ({len(topics)} topics)")


if __name__ == "__main__":
    main()
