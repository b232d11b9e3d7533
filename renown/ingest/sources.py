"""Finding and opening source files: directories, zip archives, ``.gz``, ``.zst``, ``.bz2`` and ``.xz``.

Readers yield :class:`RawRecord` items — one per line or per JSON array
element — carrying the position they came from, so every reject can name its
file and line. Parsing errors become records with ``error`` set instead of
exceptions: the caller quarantines them and carries on.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from renown.csvfiles import ENCODING
from renown.errors import RenownError

COMPRESSED_SUFFIXES = (".gz", ".zst", ".bz2", ".xz")  # older Reddit dumps came as .bz2 and .xz
#: Archive formats read only once extracted (the Stack Exchange dump is .7z): named in a clear error.
EXTRACT_FIRST = (".7z", ".rar", ".tar", ".tar.gz", ".tgz")
#: CSV cells up to 16 MiB (the csv module's default, 128 KiB, rejects a long post or CRM comment).
csv.field_size_limit(1 << 24)
#: Rows in a row the CSV parser rejects before a file is taken for something else than CSV.
_CSV_FAILURES_IN_A_ROW = 1000
#: The Reddit dumps (Pushshift, Arctic Shift) are compressed with ``zstd --long=31``: decoding needs a
#: 2 GiB window, above the library's default limit, and takes up to that much memory while it runs.
ZSTD_MAX_WINDOW = 2**31
#: The file that makes a folder or zip one Mastodon account archive, and the archive's own files.
MASTODON_OUTBOX = "outbox.json"
MASTODON_ARCHIVE_FILES = frozenset({MASTODON_OUTBOX, "actor.json", "likes.json", "bookmarks.json"})
#: The tables of a Stack Exchange site dump (those not read are part of it all the same).
_SITE_DUMP_TABLES = tuple(f"{t}.xml" for t in ("badges", "comments", "posthistory", "postlinks", "posts", "tags", "users",
                                                "votes"))


@dataclass(slots=True)
class RawRecord:
    """One record as read, with where it was: ``line`` (None in a binary file) and, for an element of a
    JSON array or a repository, ``item``, its place there (1 = first). Records may share a line (a
    one-line API response, Mastodon's ``outbox.json``), so the item, not the line, tells them apart."""

    line: int | None
    raw: str
    value: Any = None
    error: str | None = None
    #: The file it came from, when a source spans several files (else the source's name).
    source: str | None = None
    item: int | None = None

    @property
    def position(self) -> int:
        """Where the record is in its file, one number per record: the item, else the line (the
        events' ``source_line``, which keys the raw copy)."""
        return self.item if self.item is not None else self.line


@dataclass(frozen=True)
class Source:
    """One readable unit: a file, a member of a zip, or a whole export folder."""

    name: str
    open_binary: Callable[[], IO[bytes]]
    #: Sibling members for multi-file exports (Twitter archive): name -> opener.
    members: tuple[tuple[str, Callable[[], IO[bytes]]], ...] = ()

    @property
    def base_name(self) -> str:
        """The file name without compression suffixes, lower-cased."""
        name = self.name.lower()
        for suffix in COMPRESSED_SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        return name

    def named(self, matches: Callable[[str], object]) -> list[tuple[str, Callable[[], IO[bytes]]]]:
        """The members whose file name (see :func:`file_name`) ``matches``, by name."""
        return sorted(((name, opener) for name, opener in self.members if matches(file_name(name))),
                      key=lambda member: member[0])

    def member(self, suffix: str) -> Callable[[], IO[bytes]] | None:
        for name, opener in self.members:
            if name.endswith(suffix):
                return opener
        return None


def file_name(name: str) -> str:
    """The file name at the end of a source or member name (a path, or ``archive.zip!folder/file``)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def member_records(members: Iterable[tuple[str, Callable[[], IO[bytes]]]],
                   read: Callable[[str, str], Iterator[RawRecord]]) -> Iterator[RawRecord]:
    """The records ``read(text, name)`` finds in each member file of a multi-file export, each naming
    its own file as provenance."""
    for name, opener in members:
        for record in read(decode_text(opener), name):
            record.source = name
            yield record


def _decompressing(path_name: str, opener: Callable[[], IO[bytes]]) -> Callable[[], IO[bytes]]:
    lower = path_name.lower()
    if lower.endswith(".gz"):
        return lambda: gzip.GzipFile(fileobj=opener(), mode="rb")
    if lower.endswith(".bz2"):
        return lambda: bz2.BZ2File(opener(), mode="rb")
    if lower.endswith(".xz"):
        return lambda: lzma.LZMAFile(opener(), mode="rb")
    if lower.endswith(".zst"):
        return lambda: zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
            opener(), read_across_frames=True)
    return opener


def _zip_sources(path: Path) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile as error:  # one source that fails when read: quarantined as unreadable, the rest loads
        reason = f"not a readable zip archive: {error}"

        def unreadable() -> IO[bytes]:
            raise zipfile.BadZipFile(reason)

        return [Source(str(path), unreadable)]

    def opener_for(member: str) -> Callable[[], IO[bytes]]:
        def open_member() -> IO[bytes]:
            data = zipfile.ZipFile(path).read(member)
            return io.BytesIO(data)

        return _decompressing(member, open_member)

    def bundle(main: str, suffix: str) -> list[Source]:
        members = tuple((f"{path}!{n}", opener_for(n)) for n in names if n.endswith(suffix))
        return [Source(f"{path}!{main}", opener_for(main), members)]

    tweets = [n for n in names if n.endswith("data/tweets.js") or n.endswith("data/tweet.js")]
    if tweets:
        return bundle(tweets[0], ".js")
    outbox = [n for n in names if file_name(n) == MASTODON_OUTBOX]
    if outbox:
        rest = [n for n in names if file_name(n) not in MASTODON_ARCHIVE_FILES]
        return bundle(outbox[0], ".json") + [Source(f"{path}!{n}", opener_for(n)) for n in sorted(rest) if _is_data_file(n)]
    return [Source(f"{path}!{n}", opener_for(n)) for n in sorted(names) if _is_data_file(n)]


def _is_data_file(name: str) -> bool:
    lower = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
    return lower.endswith((".json", ".jsonl", ".ndjson", ".csv", ".js", ".txt", ".xml", ".car"))


def _file_source(path: Path) -> Source:
    return Source(str(path), _decompressing(path.name, lambda: open(path, "rb")))


def _bundle_source(main: Path, suffix: str) -> Source:
    """One export made of several files (the Twitter and Mastodon archives): ``main`` is read
    first, the files beside it ending in ``suffix`` are its members."""
    members = tuple((str(p), _file_source(p).open_binary) for p in sorted(main.parent.glob(f"*{suffix}")))
    return Source(str(main), _file_source(main).open_binary, members)


def _archive_dir_source(data_dir: Path) -> Source:
    tweets = data_dir / "tweets.js"
    return _bundle_source(tweets if tweets.exists() else data_dir / "tweet.js", ".js")


def discover(paths: list[Path]) -> list[Source]:
    """Expand paths into sources. A folder holding ``data/tweets.js`` is one
    Twitter archive, one holding ``outbox.json`` one Mastodon archive, one holding
    ``Posts.xml`` one Stack Exchange site — and whatever else it holds is read as well;
    other folders are walked for data files, except renown data directories (``renown
    ingest .`` beside ``./renown-data`` must not read back its own records and quarantine)."""
    from renown.store import Store

    found: list[Source] = []
    for path in paths:
        if not path.exists():
            raise RenownError(f"{path}: no such file or directory")
        if path.is_dir() and Store.holds_data(path):
            raise RenownError(f"{path} is a renown data directory, not an export: give the files to read")
        if path.is_dir():
            children = sorted(p for p in path.iterdir() if not p.name.startswith(".")
                              and not (p.is_dir() and Store.holds_data(p)))
            archive_data = path / "data"
            # an archive's own files are one source; anything beside them is read too
            if (archive_data / "tweets.js").exists() or (archive_data / "tweet.js").exists():
                found.append(_archive_dir_source(archive_data))
                children = [c for c in children if c.name not in ("data", "assets")]  # assets: the archive's viewer
            elif (path / "tweets.js").exists() and (path / "account.js").exists():
                found.append(_archive_dir_source(path))
                children = [c for c in children if c.suffix != ".js"]
            if (path / MASTODON_OUTBOX).exists():
                found.append(_bundle_source(path / MASTODON_OUTBOX, ".json"))
                children = [c for c in children if c.name not in MASTODON_ARCHIVE_FILES]
            site_files = sorted(p for p in path.iterdir() if p.name.lower().startswith(
                ("users.xml", "posts.xml", "comments.xml", "votes.xml")))
            if any(p.name.lower().startswith("posts.xml") for p in site_files):
                members = tuple((str(p), _file_source(p).open_binary) for p in site_files)
                found.append(Source(str(path), members[0][1], members))
                children = [c for c in children if not c.name.lower().startswith(_SITE_DUMP_TABLES)]
            found.extend(discover([c for c in children if c.is_dir() or _is_data_file(c.name) or c.suffix == ".zip"]))
        elif path.suffix.lower() == ".zip":
            found.extend(_zip_sources(path))
        else:
            found.append(_file_source(path))
    return found


def read_text(source: Source) -> str:
    """A whole text file (UTF-8; a byte-order mark before it is skipped, as by every reader here)."""
    return decode_text(source.open_binary)


def decode_text(opener: Callable[[], IO[bytes]]) -> str:
    with opener() as stream:
        return stream.read().decode(ENCODING, errors="replace")


def iter_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Numbered non-empty lines of a binary stream, without line endings."""
    buffered = stream if isinstance(stream, io.BufferedIOBase) and hasattr(stream, "readline") else io.BufferedReader(stream)  # type: ignore[arg-type]
    for number, line in enumerate(buffered, start=1):
        line = line.rstrip(b"\r\n")
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if line.strip():
            yield number, line


def parse_records(lines: Iterable[tuple[int, bytes]], parse_line: Callable[[bytes], Any]) -> Iterator[RawRecord]:
    """Numbered lines through ``parse_line``; a line it cannot parse becomes an error record."""
    for number, line in lines:
        raw = line.decode("utf-8", errors="replace")
        try:
            yield RawRecord(number, raw, parse_line(line))
        except orjson.JSONDecodeError as exc:
            yield RawRecord(number, raw, error=f"invalid JSON: {exc}")
        except ValueError as exc:
            yield RawRecord(number, raw, error=f"unreadable line: {exc}")


def read_lines(source: Source, parse_line: Callable[[bytes], Any]) -> Iterator[RawRecord]:
    """A line-per-record file, streamed."""
    with source.open_binary() as stream:
        yield from parse_records(iter_lines(stream), parse_line)


def read_json_array(text: str, start: int = 0) -> Iterator[RawRecord]:
    """Elements of a JSON array one at a time, with the line each starts on and its place in the array.

    Parsing element by element keeps everything before a truncation or a
    broken element: the rest of the file becomes one error record.
    """
    lines = _LineCounter(text)
    pos = _skip(text, start)
    if pos >= len(text) or text[pos] != "[":
        yield RawRecord(lines.at(pos), text[pos : pos + 80], error="expected a JSON array")
        return
    pos = _skip(text, pos + 1)
    item = 1
    while pos < len(text) and text[pos] != "]":
        line = lines.at(pos)
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield RawRecord(line, text[pos : pos + 200], error=f"invalid JSON: {exc.msg} (line {lines.at(exc.pos)})",
                            item=item)
            return
        yield RawRecord(line, text[pos:end], value, item=item)
        item += 1
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            yield RawRecord(lines.at(pos), text[pos : pos + 80], error="expected ',' or ']' between array elements",
                            item=item)
            return
    if pos >= len(text):
        yield RawRecord(lines.at(pos), "", error="truncated JSON array: missing ']'", item=item)


_DECODER = json.JSONDecoder()  # stdlib: raw_decode reports where each element ends
_WHITESPACE = re.compile(r"[ \t\r\n]*")


def _skip(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()


class _LineCounter:
    """Line numbers of increasing offsets, counting each newline once."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        if pos < self.pos:
            return self.text.count("\n", 0, pos) + 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def read_json_document(source: Source) -> Iterator[RawRecord]:
    """A ``.json`` file holding either one array of records or JSON lines."""
    text = read_text(source)
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from read_json_array(text)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield RawRecord(number, line, orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield RawRecord(number, line, error=f"invalid JSON: {exc}")


def read_csv(source: Source, delimiter: str = ",") -> Iterator[RawRecord]:
    """CSV rows as dicts keyed by the header; line numbers count the header as 1."""
    with source.open_binary() as stream:
        text = io.TextIOWrapper(stream, encoding=ENCODING, errors="replace", newline="")
        reader = csv.DictReader(text, delimiter=delimiter)
        failures = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # this row is rejected (the parser counts lines only of rows it returns)
                yield RawRecord(reader.line_num + 1, "", error=f"CSV syntax: {exc}")
                failures += 1
                if failures >= _CSV_FAILURES_IN_A_ROW:
                    yield RawRecord(reader.line_num + 1, "", error="CSV syntax: stopped reading after "
                                    f"{_CSV_FAILURES_IN_A_ROW:,} unreadable rows in a row")
                    return
                continue
            failures = 0
            line = reader.line_num
            if None in row:
                yield RawRecord(line, delimiter.join(str(v) for v in row.values()), error="more fields than the header names")
                continue
            yield RawRecord(line, delimiter.join("" if v is None else v for v in row.values()), row)
