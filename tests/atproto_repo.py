"""Writes Bluesky repository exports (CAR v1) as the AT Protocol specifies them, for fixtures.

DAG-CBOR (canonical: map keys shortest first, then bytewise; links as tag 42), CIDv1 with SHA-256,
a Merkle search tree whose layers come from the leading zero bits of each key's SHA-256 (two bits
per layer, fanout 4) with prefix-compressed keys, a version-3 commit, and the CAR v1 framing. The
reader under test (``renown.ingest.bluesky_repo``) decodes with libipld, an independent
implementation, so the two only agree on files that follow the specifications.

    python tests/atproto_repo.py     # rewrites tests/fixtures/bluesky-repo/repo.car
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "bluesky-repo" / "repo.car"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


class Link(bytes):
    """A CID (raw bytes), encoded as a DAG-CBOR link."""


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes([major << 5 | extra]) + n.to_bytes(width, "big")
    raise ValueError(n)


def dag_cbor(value) -> bytes:
    if value is None:
        return b"\xf6"
    if value is True or value is False:
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, Link):
        return b"\xd8\x2a" + dag_cbor(b"\x00" + bytes(value))
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode()
        return _head(3, len(data)) + data
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(dag_cbor(v) for v in value)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return _head(5, len(value)) + b"".join(dag_cbor(k) + dag_cbor(value[k]) for k in keys)
    raise TypeError(type(value))


def cid_of(block: bytes, codec: int = 0x71) -> Link:
    return Link(bytes([1, codec, 0x12, 32]) + hashlib.sha256(block).digest())


def tid(when: datetime, clock: int = 0) -> str:
    """A TID: microseconds since 1970 above a 10-bit clock id, in 13 base32-sortable characters."""
    value = int(when.timestamp() * 1_000_000) << 10 | clock
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _layer(key: bytes) -> int:
    zeros = 0
    for byte in hashlib.sha256(key).digest():
        if byte:
            zeros += 8 - byte.bit_length()
            break
        zeros += 8
    return zeros // 2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def search_tree(leaves: dict[bytes, Link], nodes: dict[Link, dict]) -> Link:
    """The Merkle search tree of ``leaves`` (key → record CID); its nodes are added to ``nodes``."""
    items = sorted(leaves.items())

    def add(node: dict) -> Link:
        cid = cid_of(dag_cbor(node))
        nodes[cid] = node
        return cid

    def build(part: list, level: int) -> Link | None:
        if not part:
            return None
        cuts = [i for i, (key, _) in enumerate(part) if _layer(key) == level]
        bounds = [-1] + cuts + [len(part)]
        entries, previous = [], b""
        for n, i in enumerate(cuts):
            key, value = part[i]
            shared = next((j for j, (a, b) in enumerate(zip(previous, key)) if a != b), min(len(previous), len(key)))
            entries.append({"p": shared, "k": key[shared:], "v": value, "t": build(part[i + 1:bounds[n + 2]], level - 1)})
            previous = key
        return add({"l": build(part[:bounds[1]] if cuts else part, level - 1), "e": entries})

    root = build(items, max((_layer(key) for key in leaves), default=0))
    return root if root is not None else add({"l": None, "e": []})  # an empty repository has one empty node


def repository_car(did: str, records: dict[str, dict], revision: str) -> bytes:
    """A repository export of ``records`` (``collection/rkey`` → record) for ``did``, its blocks in the
    order a PDS streams them: the commit, then the tree walked depth first, each node before its records."""
    record_blocks = {path.encode(): dag_cbor(record) for path, record in records.items()}
    leaves = {key: cid_of(block) for key, block in record_blocks.items()}
    by_cid = {leaves[key]: block for key, block in record_blocks.items()}
    nodes: dict[Link, dict] = {}
    root = search_tree(leaves, nodes)
    commit = dag_cbor({"did": did, "version": 3, "data": root, "rev": revision, "prev": None, "sig": bytes(64)})
    sections = [(cid_of(commit), commit)]

    def walk(cid: Link | None) -> None:
        if cid is None:
            return
        node = nodes[cid]
        sections.append((cid, dag_cbor(node)))
        walk(node["l"])
        for entry in node["e"]:
            sections.append((entry["v"], by_cid[entry["v"]]))
            walk(entry["t"])

    walk(root)
    return car_of(sections)


def car_of(sections: list[tuple[Link, bytes]]) -> bytes:
    """CAR v1 framing of ``sections`` (CID, block), the first one the root."""
    header = dag_cbor({"roots": [sections[0][0]], "version": 1})
    return _varint(len(header)) + header + b"".join(_varint(len(c) + len(b)) + c + b for c, b in sections)


def commit_block(did: str, root: Link) -> bytes:
    return dag_cbor({"did": did, "version": 3, "data": root, "rev": "3l3qo3zzzzz2b", "prev": None, "sig": bytes(64)})


FAN = "did:plc:ia76kvnndjutgedggx2ibrem"
AUTHOR = "did:plc:wa7b35aakoll7hugkrjtf3xf"
JAZ = "did:plc:eygmaihciaxprqvxpfvl6flk"
ORIGINAL = f"at://{AUTHOR}/app.bsky.feed.post/3l3pte3p2e325"
ORIGINAL_CID = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"


def fan_records() -> dict[str, dict]:
    """The fan's repository: the records the Jetstream fixture shows them creating, a profile, and more
    (likes, posts with mentions, tags and an image, a block that is no interaction)."""
    ref = {"cid": ORIGINAL_CID, "uri": ORIGINAL}
    records = {
        "app.bsky.actor.profile/self": {"$type": "app.bsky.actor.profile", "displayName": "Ia",
                                        "description": "atproto tinkerer",
                                        "avatar": {"$type": "blob", "ref": cid_of(b"avatar", 0x55), "mimeType": "image/jpeg",
                                                   "size": 6}},
        "app.bsky.feed.post/3l3qo3aaaaa2b": {"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:10.000Z",
                                             "langs": ["en"], "text": "congrats!", "reply": {"parent": ref, "root": ref}},
        "app.bsky.feed.post/3l3qo3bbbbb2b": {"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:20.000Z",
                                             "langs": ["en"], "text": "everyone should read this",
                                             "embed": {"$type": "app.bsky.embed.record", "record": ref}},
        "app.bsky.feed.repost/3l3qo3ccccc2b": {"$type": "app.bsky.feed.repost", "createdAt": "2024-09-09T19:46:30.000Z",
                                               "subject": ref},
        "app.bsky.graph.follow/3l3qo3ddddd2b": {"$type": "app.bsky.graph.follow", "createdAt": "2024-09-09T19:46:40.000Z",
                                                "subject": AUTHOR},
        "app.bsky.graph.block/3l3qo3eeeee2b": {"$type": "app.bsky.graph.block", "createdAt": "2024-09-09T19:47:00.000Z",
                                               "subject": "did:plc:spammerspammerspammerxx"},
    }
    start = datetime(2024, 9, 10, 8, 0, tzinfo=timezone.utc).timestamp()
    for i in range(24):
        when = datetime.fromtimestamp(start + 3600 * i, tz=timezone.utc)
        created = when.isoformat().replace("+00:00", ".000Z")
        subject = f"at://{AUTHOR if i % 2 else JAZ}/app.bsky.feed.post/{tid(when, 7)}"
        records[f"app.bsky.feed.like/{tid(when, 1)}"] = {
            "$type": "app.bsky.feed.like", "createdAt": created, "subject": {"cid": ORIGINAL_CID, "uri": subject}}
    when = datetime(2024, 9, 11, 12, 0, tzinfo=timezone.utc)
    records[f"app.bsky.feed.post/{tid(when, 3)}"] = {
        "$type": "app.bsky.feed.post", "createdAt": "2024-09-11T12:00:00.000Z", "langs": ["en"],
        "text": "antenna day with @jaz.bsky.social #hamradio",
        "facets": [{"$type": "app.bsky.richtext.facet", "index": {"byteStart": 17, "byteEnd": 33},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": JAZ}]},
                   {"$type": "app.bsky.richtext.facet", "index": {"byteStart": 34, "byteEnd": 43},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "hamradio"}]}],
        "embed": {"$type": "app.bsky.embed.images", "images": [
            {"alt": "a dipole", "image": {"$type": "blob", "ref": cid_of(b"jpeg bytes", 0x55), "mimeType": "image/jpeg",
                                          "size": 10}}]}}
    return records


def fan_repository() -> bytes:
    return repository_car(FAN, fan_records(), tid(datetime(2024, 9, 12, tzinfo=timezone.utc)))


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_bytes(fan_repository())
    print(FIXTURE)
