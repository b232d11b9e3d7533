"""Topics: what a post is about, from its tags, named after the Klout topic ontology.

A post's topics are its tags (hashtags, Stack Exchange tags, subreddits),
each mapped to a Klout topic when one matches — by slug, by display name or by
either with separators removed (``#QuantumComputing`` → ``quantum-computing``)
— and kept as a free topic named after the tag otherwise. The ontology ships
with renown (``renown/data/klout_topics.csv.gz``, CC BY 3.0, see
``renown/data/ATTRIBUTION.md``).

Post text is matched against the names of topics already in use as tags when
topics are scored (:func:`renown.score.topics.phrases`). Not done yet (issue 6):
an offline embedding model.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize(tag: str) -> str:
    """Lower-case letters and digits only: the key tags and topics are matched on."""
    return _NON_ALNUM.sub("", tag.lower())


def free_topic(tag: str) -> str:
    """A readable topic id for a tag outside the taxonomy (``Open Source`` → ``open-source``)."""
    return _NON_ALNUM.sub("-", tag.lower()).strip("-")


@dataclass(frozen=True)
class Taxonomy:
    names: dict[str, str]  # slug -> display name
    parents: dict[str, str]  # slug -> parent slug ('' at the top)
    keys: dict[str, str]  # normalized slug or display name -> slug

    def topic_of(self, tag: str) -> str:
        return self.keys.get(normalize(tag)) or free_topic(tag)

    def name_of(self, topic: str) -> str:
        return self.names.get(topic, topic)


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    data = resources.files("renown").joinpath("data/klout_topics.csv.gz").read_bytes()
    names, parents, keys = {}, {}, {}
    for row in csv.DictReader(io.StringIO(gzip.decompress(data).decode("utf-8"))):
        slug = row["slug"]
        names[slug], parents[slug] = row["name"], row["parent"]
    for slug, name in names.items():  # display names first, so an exact slug wins a clash
        keys.setdefault(normalize(name), slug)
    for slug in names:
        keys[normalize(slug)] = slug
    return Taxonomy(names, parents, keys)
