"""A Bluesky account's repository, as "Export my data" downloads it (a ``.car`` file).

The file is a CAR v1 archive: a varint-prefixed DAG-CBOR header whose root is
the repository's signed commit, then varint-prefixed blocks, each a CID and the
DAG-CBOR bytes it names. The commit's ``data`` is the root of a Merkle search
tree: nodes ``{l, e: [{p, k, v, t}]}`` whose keys (``k`` after the first ``p``
bytes of the previous key) are ``collection/rkey`` and whose values ``v`` are
record CIDs; walking it in order yields every current record (atproto
repository spec, version 3). Deleted records are simply absent.

Records map exactly like Jetstream creates (:func:`renown.ingest.bluesky.map_repo_record`),
so a record read from both loads once. A record without a valid ``createdAt``
is dated by its record key when that is a TID (a timestamp id). Records have no
line: each is numbered by its position in key order (``item``), and the raw copy kept for
audit names its ``at://`` URI and CID. Blocks are decoded one by one, so a
missing or corrupt block (checked against its SHA-256 CID) costs only the
records it holds, each quarantined with the reason. The commit's signature is not
checked: that needs the account's DID document, fetched online; the block hashes are.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import libipld
import orjson

from renown.errors import FormatError, RecordError
from renown.events import Mapped
from renown.ingest import fields
from renown.ingest.bluesky import map_repo_record
from renown.ingest.sources import RawRecord, Source

NAME = "bluesky-repo"
SUFFIX = ".car"
_SHA256 = 0x12
#: CIDv1 with a SHA-256 digest of DAG-CBOR (records, tree nodes) or raw bytes (blobs): what links look like.
_CID_PREFIXES = (b"\x01\x71\x12\x20", b"\x01\x55\x12\x20")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


class _Truncated(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise _Truncated
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise FormatError("malformed varint in the CAR framing")


def _cid_end(data: bytes, pos: int) -> tuple[int, int | None, bytes]:
    """Where the CID at ``pos`` ends, its hash function and digest (CIDv1, or a bare SHA-256 CIDv0)."""
    if data[pos:pos + 2] == b"\x12\x20":
        return pos + 34, _SHA256, data[pos + 2:pos + 34]
    _version, p = _varint(data, pos)
    _codec, p = _varint(data, p)
    code, p = _varint(data, p)
    size, p = _varint(data, p)
    if p + size > len(data):
        raise _Truncated
    return p + size, code, data[p:p + size]


def read_car(data: bytes, name: str) -> tuple[list[bytes], dict[bytes, bytes], set[bytes], list[str]]:
    """The roots, the blocks by CID bytes, the CIDs of blocks that do not match their hash, and what
    was wrong with the framing (a truncated file)."""
    try:
        length, pos = _varint(data, 0)
        header = libipld.decode_dag_cbor(data[pos:pos + length])
    except (_Truncated, ValueError) as exc:
        raise FormatError(f"{name}: not a CAR file (unreadable header: {exc or 'file too short'})") from None
    if not isinstance(header, dict) or header.get("version") != 1 or not isinstance(header.get("roots"), list):
        raise FormatError(f"{name}: not a CAR v1 file (header {str(header)[:80]!r}); Bluesky exports CAR v1")
    pos += length
    blocks: dict[bytes, bytes] = {}
    corrupt: set[bytes] = set()
    problems: list[str] = []
    while pos < len(data):
        try:
            size, start = _varint(data, pos)
            end = start + size
            if end > len(data):
                raise _Truncated
            cid_end, code, digest = _cid_end(data, start)
        except _Truncated:
            problems.append(f"the file ends inside a block at byte {pos:,} (truncated download?): the records "
                            "of the blocks after it are reported missing")
            break
        block = data[cid_end:end]
        if code == _SHA256 and hashlib.sha256(block).digest() != digest:
            corrupt.add(data[start:cid_end])
        else:
            blocks[data[start:cid_end]] = block
        pos = end
    return [r for r in header["roots"] if isinstance(r, bytes)], blocks, corrupt, problems


def _cid_text(cid: Any) -> str:
    if not isinstance(cid, bytes):
        return repr(cid)[:80]
    try:
        return libipld.encode_cid(cid)
    except ValueError:
        return cid.hex()


def _jsonable(value: Any) -> Any:
    """A decoded record in atproto's JSON form, for the raw copy: links as ``{"$link"}``, bytes as ``{"$bytes"}``."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        if len(value) == 36 and value[:4] in _CID_PREFIXES:
            return {"$link": _cid_text(value)}
        return {"$bytes": base64.b64encode(value).decode()}
    return value


class _Walk:
    """The records of a repository's search tree, in key order, as raw records."""

    def __init__(self, did: str, blocks: dict[bytes, bytes], corrupt: set[bytes]) -> None:
        self.did, self.blocks, self.corrupt, self.position = did, blocks, corrupt, 0
        self.visited: set[bytes] = set()  # hash links cannot loop, but an unchecked hash function could

    def absent(self, cid: bytes) -> str:
        return "does not match its hash (corrupt file)" if cid in self.corrupt else "is missing from the file"

    def node(self, cid: bytes | None) -> Iterator[RawRecord]:
        if cid is None:
            return
        node, problem = self._tree_node(cid)
        if node is None:
            yield RawRecord(None, _cid_text(cid), item=self.position + 1, error=f"repository tree node {_cid_text(cid)} unreadable "
                            f"({problem}): the records under it are lost")
            return
        entries = node["e"]
        yield from self.node(node.get("l"))
        key = b""
        for entry in entries:
            try:
                key = key[:entry["p"]] + entry["k"]
                value = entry["v"]
                subtree = entry.get("t")
            except (KeyError, TypeError) as exc:
                yield RawRecord(None, _cid_text(cid), item=self.position + 1, error=f"repository tree node {_cid_text(cid)} has a "
                                f"malformed entry ({exc!r}): the records after it in that node are lost")
                return
            yield self.record(key, value)
            yield from self.node(subtree)

    def _tree_node(self, cid: Any) -> tuple[dict | None, str]:
        """The decoded node ``cid`` links, or None and why not."""
        if not isinstance(cid, bytes):
            return None, "the link to it is not a CID"
        if cid in self.visited:
            return None, "reached twice: the tree loops"
        self.visited.add(cid)
        block = self.blocks.get(cid)
        if block is None:
            return None, self.absent(cid)
        try:
            node = libipld.decode_dag_cbor(block)
        except ValueError as exc:
            return None, f"not DAG-CBOR: {exc}"
        if not isinstance(node, dict) or not isinstance(node.get("e"), list):
            return None, "no list of entries"
        return node, ""

    def record(self, key: bytes, cid: Any) -> RawRecord:
        self.position += 1
        path = key.decode("utf-8", errors="replace")
        uri = f"at://{self.did}/{path}"
        if not isinstance(cid, bytes):
            return RawRecord(None, uri, item=self.position, error=f"the tree entry of {uri} does not link a record block")
        block = self.blocks.get(cid)
        if block is None:
            return RawRecord(None, uri, item=self.position, error=f"the record block of {uri} {self.absent(cid)}")
        try:
            record = libipld.decode_dag_cbor(block)
        except ValueError as exc:
            return RawRecord(None, uri, item=self.position, error=f"record {uri} is not DAG-CBOR: {exc}")
        collection, _, rkey = path.partition("/")
        raw = orjson.dumps({"uri": uri, "cid": _cid_text(cid), "value": _jsonable(record)}).decode()
        return RawRecord(None, raw, item=self.position, value={"did": self.did, "collection": collection, "rkey": rkey, "record": record})


def read(source: Source) -> tuple[Iterator[RawRecord], dict]:
    with source.open_binary() as stream:
        data = stream.read()
    roots, blocks, corrupt, problems = read_car(data, source.name)
    if not roots or roots[0] not in blocks:
        state = "does not match its hash" if roots and roots[0] in corrupt else "is missing"
        raise FormatError(f"{source.name}: the repository's commit block {state}: nothing in the file can be placed")
    try:
        commit = libipld.decode_dag_cbor(blocks[roots[0]])
    except ValueError as exc:
        raise FormatError(f"{source.name}: the repository's commit block is not DAG-CBOR ({exc})") from None
    did = commit.get("did") if isinstance(commit, dict) else None
    if not isinstance(did, str) or not did.startswith("did:") or not isinstance(commit.get("data"), bytes):
        raise FormatError(f"{source.name}: the CAR root is not an atproto repository commit")

    def records() -> Iterator[RawRecord]:
        yield from (RawRecord(None, "", error=problem) for problem in problems)
        yield from _Walk(did, blocks, corrupt).node(commit["data"])

    revision = commit.get("rev")
    return records(), {"revised": tid_time(revision) if isinstance(revision, str) else None}


def tid_time(rkey: str) -> datetime | None:
    """The time in a TID record key (13 base32-sortable characters: microseconds since 1970 above a
    10-bit clock id), or None when ``rkey`` is not a TID."""
    if len(rkey) != 13 or rkey[0] not in _TID_ALPHABET[:16] or any(c not in _TID_ALPHABET for c in rkey):
        return None
    value = 0
    for char in rkey:
        value = value * 32 + _TID_ALPHABET.index(char)
    try:
        return fields.unix_time(value >> 10, "rkey", scale=1e6)
    except RecordError:
        return None


def map_record(value: Any, context: dict) -> list[Mapped]:
    item = fields.require_dict(value)
    did, collection, rkey = item.get("did"), item.get("collection"), item.get("rkey")
    if not isinstance(did, str) or not isinstance(rkey, str) or not rkey:
        raise RecordError("uri", "expected a record path collection/rkey")
    record = fields.require_dict(item.get("record"), "value")
    # dated by its key when a TID, else by the export's last commit (a profile's key is "self")
    return [map_repo_record(did, collection, rkey, record, tid_time(rkey) or context.get("revised"), "value.")]
