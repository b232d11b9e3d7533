"""The supported source formats and how a file's format is recognised."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import orjson

from renown.csvfiles import ENCODING
from renown.errors import FormatError
from renown.events import Mapped
from renown.ingest import (bluesky, bluesky_repo, csv_events, mastodon, mastodon_archive, reddit, snap, stackexchange,
                           twarc, twitter_archive)
from renown.ingest.sources import (EXTRACT_FIRST, RawRecord, Source, file_name, read_csv, read_json_array,
                                   read_json_document, read_lines)

Reader = Callable[[Source], tuple[Iterator[RawRecord], dict]]


@dataclass(frozen=True)
class Format:
    name: str
    read: Reader
    map_record: Callable[[Any, dict], list[Mapped]]
    sniff: Callable[[Any], bool] | None
    description: str
    #: For formats of independent lines: turns one line into the value ``map_record`` takes.
    #: Such formats may be split into blocks and mapped in parallel.
    parse_line: Callable[[bytes], Any] | None = None


def _line_reader(parse_line: Callable[[bytes], Any]) -> Reader:
    def read(source: Source) -> tuple[Iterator[RawRecord], dict]:
        return read_lines(source, parse_line), {}

    return read


def _plain(reader: Callable[[Source], Iterator[RawRecord]]) -> Reader:
    return lambda source: (reader(source), {})


def _read_csv(source: Source) -> tuple[Iterator[RawRecord], dict]:
    with source.open_binary() as stream:
        header = stream.readline().decode(ENCODING, errors="replace")
    return read_csv(source, csv_events.delimiter_of(header, source.name)), {}


def _module_format(module: ModuleType, read: Reader | None, description: str,
                   parse_line: Callable[[bytes], Any] | None = None) -> Format:
    read = read or _line_reader(parse_line)
    return Format(module.NAME, read, module.map_record, getattr(module, "sniff", None), description, parse_line)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        _module_format(twarc, None, "X/Twitter API v2 JSONL from twarc2 (pages or flattened)", orjson.loads),
        _module_format(twitter_archive, twitter_archive.read, "X/Twitter archive folder or zip (data/tweets.js)"),
        _module_format(mastodon, _plain(read_json_document), "Mastodon statuses/notifications (REST API JSON)"),
        _module_format(mastodon_archive, mastodon_archive.read,
                       "Mastodon account archive, zip or folder (outbox.json, actor.json, likes.json)"),
        _module_format(bluesky, None, "Bluesky Jetstream events (JSONL)", orjson.loads),
        _module_format(bluesky_repo, bluesky_repo.read, "Bluesky account repository, as \"Export my data\" saves it (.car)"),
        _module_format(reddit, None, "Reddit Pushshift-style comments/submissions (NDJSON)", orjson.loads),
        _module_format(csv_events, _read_csv, "CSV events (event_id,network,kind,actor,target,created_at,...)"),
        _module_format(snap, None, "SNAP activity lines: actor target unix_seconds RT|MT|RE", snap.parse_line),
        _module_format(stackexchange, stackexchange.read, "Stack Exchange site dump folder (Posts, Comments, Votes, Users .xml, compressed or not)"),
    )
}

#: Formats of independent lines, which the pipeline may split across processes.
LINE_FORMATS = frozenset(name for name, f in FORMATS.items() if f.parse_line is not None)

_PEEK_BYTES = 256 * 1024
_PEEK_RECORDS = 20


def _peek_values(source: Source) -> tuple[str, list[Any]]:
    with source.open_binary() as stream:
        head = stream.read(_PEEK_BYTES).decode(ENCODING, errors="replace")
    stripped = head.lstrip()
    if stripped.startswith("["):
        values = [r.value for r in itertools.islice(read_json_array(head), _PEEK_RECORDS) if r.error is None]
        return head, values
    values = []
    for line in head.splitlines()[:_PEEK_RECORDS]:
        try:
            values.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return head, values


def detect(source: Source) -> Format | None:
    """The format of ``source``, or None for an empty file. Raises FormatError
    when the content matches no format or more than one."""
    base = source.base_name
    suffix = next((s for s in EXTRACT_FIRST if source.name.lower().endswith(s)), None)
    if suffix is not None:
        raise FormatError(f"{source.name}: a {suffix} archive is not read directly: extract it (e.g. `7z x` or "
                          "`tar xf`) and ingest the folder")
    if source.member("account.js") and base.endswith((".js",)):
        return FORMATS[twitter_archive.NAME]
    if any(file_name(name).lower().startswith("posts.xml") for name, _ in source.members):
        return FORMATS[stackexchange.NAME]
    if base.endswith((".csv", ".tsv")):
        return FORMATS[csv_events.NAME]
    if base.endswith(bluesky_repo.SUFFIX):
        return FORMATS[bluesky_repo.NAME]
    head, values = _peek_values(source)
    if not head.strip():
        return None
    if twitter_archive.sniff_text(head):
        return FORMATS[twitter_archive.NAME]
    if mastodon_archive.sniff_text(head):
        return FORMATS[mastodon_archive.NAME]
    if snap.sniff_text(head):
        return FORMATS[snap.NAME]
    hint = f"pass --format with one of: {', '.join(FORMATS)}"
    if not values:
        raise FormatError(f"{source.name}: unknown format (no JSON records found in the first lines); {hint}")
    votes = {name: sum(1 for v in values if f.sniff(v)) for name, f in FORMATS.items() if f.sniff}
    best = max(votes.values())
    winners = [name for name, count in votes.items() if count == best and count > 0]
    if not winners:
        raise FormatError(f"{source.name}: unknown format (records match no supported format); {hint}")
    if len(winners) > 1:
        raise FormatError(f"{source.name}: ambiguous format (could be {' or '.join(winners)}); {hint}")
    return FORMATS[winners[0]]
