"""Bluesky Jetstream events (JSON lines, as the Jetstream websocket sends them).

``{"did", "time_us", "kind": "commit", "commit": {"operation", "collection",
"rkey", "record"}}``. Collections read: ``app.bsky.feed.post`` (replies via
``record.reply.parent.uri``, quotes via an ``app.bsky.embed.record`` embed,
mentions and tags via ``facets``), ``app.bsky.feed.like``,
``app.bsky.feed.repost`` (``record.subject.uri``) and
``app.bsky.graph.follow`` (``record.subject`` is a DID). ``kind: identity``
events carry handles. A ``delete`` commit becomes a ``delete`` event whose
``record_id`` is the removed record's: the store hides what it deletes.
Accounts are keyed by DID; records by their ``at://`` URI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from renown.errors import RecordError
from renown.events import Account, Event, Mapped, account_key
from renown.ingest import fields

NAME = "bluesky"
NETWORK = "bluesky"
_COLLECTIONS = {
    "app.bsky.feed.post": "post",
    "app.bsky.feed.like": "like",
    "app.bsky.feed.repost": "repost",
    "app.bsky.graph.follow": "follow",
}


def sniff(value: Any) -> bool:
    return isinstance(value, dict) and "did" in value and "time_us" in value and "kind" in value


def _did_of(uri: Any, path: str) -> str:
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise RecordError(path, f"expected an at:// URI, got {uri!r}")
    did = uri[5:].split("/", 1)[0]
    if not did.startswith("did:"):
        raise RecordError(path, f"at:// URI without a DID authority: {uri!r}")
    return did


def _created(record: dict, fallback: datetime) -> datetime:
    value = record.get("createdAt")
    if isinstance(value, str):
        try:
            return fields.iso_time(value, "commit.record.createdAt")
        except RecordError:
            return fallback
    return fallback


def _quoted_uri(embed: Any) -> Any:
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return fields.get(embed, "record.uri", None)
    if kind == "app.bsky.embed.recordWithMedia":
        return fields.get(embed, "record.record.uri", None)
    return None


def map_record(value: Any, context: dict) -> list[Mapped]:
    event = fields.require_dict(value)
    did = fields.get(event, "did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise RecordError("did", f"expected a DID, got {did!r}")
    seen_at = fields.unix_time(fields.get(event, "time_us"), "time_us", scale=1e6)
    actor = account_key(NETWORK, did)
    kind = event.get("kind")
    if kind == "identity":
        handle = fields.optional_str(event, "identity.handle")
        return [Mapped(accounts=[Account(key=actor, network=NETWORK, observed_at=seen_at, handle=handle)])]
    if kind != "commit":
        return [Mapped(skipped=f"jetstream kind {kind!r} carries no interaction")]
    commit = fields.require_dict(fields.get(event, "commit"), "commit")
    operation = fields.get(commit, "operation")
    collection = fields.get(commit, "collection")
    rkey = fields.get(commit, "rkey")
    if not isinstance(rkey, str) or not rkey:
        raise RecordError("commit.rkey", "expected a record key")
    if not isinstance(collection, str) or collection not in _COLLECTIONS:
        return [Mapped(skipped=f"collection {collection!r} is not an interaction")]
    uri = f"at://{did}/{collection}/{rkey}"
    record_id = f"{NETWORK}:{uri}"
    base_account = Account(key=actor, network=NETWORK, observed_at=seen_at)

    if operation == "delete":
        gone = Event(event_id=f"{record_id}#delete", network=NETWORK, kind="delete", actor=actor,
                     created_at=seen_at, post_id=uri, record_id=record_id)
        return [Mapped(events=[gone], accounts=[base_account])]
    if operation != "create":
        return [Mapped(skipped=f"operation {operation!r} is not a new interaction")]

    record = fields.require_dict(fields.get(commit, "record"), "commit.record")
    created = _created(record, seen_at)
    kind = _COLLECTIONS[collection]

    def make(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None, **extra) -> Event:
        return Event(event_id=record_id + suffix, network=NETWORK, kind=kind, actor=actor, created_at=created,
                     target=target, parent_post_id=parent, record_id=record_id, **extra)

    if kind in ("like", "repost"):
        subject = fields.get(record, "subject.uri")
        target = account_key(NETWORK, _did_of(subject, "commit.record.subject.uri"))
        post_id = uri if kind == "repost" else None
        return [Mapped(events=[make(kind, target=target, parent=subject, post_id=post_id)], accounts=[base_account])]
    if kind == "follow":
        subject = fields.get(record, "subject")
        if not isinstance(subject, str) or not subject.startswith("did:"):
            raise RecordError("commit.record.subject", f"expected a DID, got {subject!r}")
        return [Mapped(events=[make("follow", target=account_key(NETWORK, subject))], accounts=[base_account])]

    text = fields.optional_str(record, "text")
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    mentions: list[str] = []
    tags: list[str] = []
    for facet in fields.listed(record.get("facets")):
        for feature in fields.listed(facet.get("features")) if isinstance(facet, dict) else []:
            if not isinstance(feature, dict):
                continue
            if feature.get("$type") == "app.bsky.richtext.facet#mention" and isinstance(feature.get("did"), str):
                mentions.append(feature["did"])
            elif feature.get("$type") == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"].lstrip("#").lower())
    tags += fields.hashtags(record.get("tags"), "commit.record.tags")
    common = {"post_id": uri, "text": text, "lang": lang, "tags": tags}

    events: list[Event] = []
    primary_target = None
    parent = fields.get(record, "reply.parent.uri", None)
    quoted = _quoted_uri(record.get("embed"))
    if parent:
        primary_target = account_key(NETWORK, _did_of(parent, "commit.record.reply.parent.uri"))
        events.append(make("reply", target=primary_target, parent=parent, **common))
        if quoted:
            events.append(make("quote", "#quote", account_key(NETWORK, _did_of(quoted, "commit.record.embed")), quoted, **common))
    elif quoted:
        primary_target = account_key(NETWORK, _did_of(quoted, "commit.record.embed.record.uri"))
        events.append(make("quote", target=primary_target, parent=quoted, **common))
    else:
        events.append(make("post", **common))
    seen = {primary_target, actor}
    for mention in mentions:
        target = account_key(NETWORK, mention)
        if target not in seen:
            seen.add(target)
            events.append(make("mention", f"#mention:{mention}", target, **common))
    return [Mapped(events=events, accounts=[base_account])]
