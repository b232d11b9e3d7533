"""Bluesky Jetstream events (JSON lines, as the Jetstream websocket sends them).

``{"did", "time_us", "kind": "commit", "commit": {"operation", "collection",
"rkey", "record"}}``. Collections read: ``app.bsky.feed.post`` (replies via
``record.reply.parent.uri``, quotes via an ``app.bsky.embed.record`` embed,
mentions and tags via ``facets``), ``app.bsky.feed.like``,
``app.bsky.feed.repost`` (``record.subject.uri``) and
``app.bsky.graph.follow`` (``record.subject`` is a DID); ``app.bsky.actor.profile``
gives the display name and description. ``kind: identity`` events carry handles.
A ``delete`` commit becomes a ``delete`` event whose ``record_id`` is the removed
record's: the store hides what it deletes. A repository export (``.car``) maps its
records with the same :func:`map_repo_record`.
Accounts are keyed by DID; records by their ``at://`` URI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from renown.errors import RecordError
from renown.events import Account, Event, Mapped, account_key, profile_json
from renown.ingest import fields

NAME = "bluesky"
NETWORK = "bluesky"
_COLLECTIONS = {
    "app.bsky.feed.post": "post",
    "app.bsky.feed.like": "like",
    "app.bsky.feed.repost": "repost",
    "app.bsky.graph.follow": "follow",
}
#: The profile record (``rkey: self``): display name and description.
PROFILE = "app.bsky.actor.profile"


def sniff(value: Any) -> bool:
    return isinstance(value, dict) and "did" in value and "time_us" in value and "kind" in value


def _did_of(uri: Any, path: str) -> str:
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise RecordError(path, f"expected an at:// URI, got {uri!r}")
    did = uri[5:].split("/", 1)[0]
    if not did.startswith("did:"):
        raise RecordError(path, f"at:// URI without a DID authority: {uri!r}")
    return did


def _created(record: dict, fallback: datetime | None, at: str) -> datetime:
    """The record's own ``createdAt``; ``fallback`` (when the record was seen) when it lacks a valid one."""
    value = record.get("createdAt")
    if isinstance(value, str):
        try:
            return fields.iso_time(value, at + "createdAt")
        except RecordError:
            if fallback is None:
                raise
    if fallback is None:
        raise RecordError(at + "createdAt", "missing")
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
    """One Jetstream event."""
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
    if collection == PROFILE and operation in ("create", "update"):
        record = fields.require_dict(fields.get(commit, "record"), "commit.record")
        return [map_repo_record(did, collection, rkey, record, seen_at, "commit.record.")]
    if not isinstance(collection, str) or collection not in _COLLECTIONS:
        return [Mapped(skipped=f"collection {collection!r} is not an interaction")]
    if operation == "delete":
        record_id = f"{NETWORK}:at://{did}/{collection}/{rkey}"
        gone = Event(event_id=f"{record_id}#delete", network=NETWORK, kind="delete", actor=actor,
                     created_at=seen_at, post_id=f"at://{did}/{collection}/{rkey}", record_id=record_id)
        return [Mapped(events=[gone], accounts=[Account(key=actor, network=NETWORK, observed_at=seen_at)])]
    if operation != "create":
        return [Mapped(skipped=f"operation {operation!r} is not a new interaction")]
    record = fields.require_dict(fields.get(commit, "record"), "commit.record")
    return [map_repo_record(did, collection, rkey, record, seen_at, "commit.record.")]


def map_repo_record(did: str, collection: Any, rkey: str, record: dict, seen_at: datetime | None, at: str) -> Mapped:
    """One record of ``did``'s repository — created on the Jetstream, or read from an exported repo —
    as events. ``seen_at``, when the record was seen, dates a record without a valid ``createdAt``
    (None: such a record is rejected) and the account observation; ``at`` prefixes field names in errors."""
    actor = account_key(NETWORK, did)
    created = _created(record, seen_at, at)
    observed = seen_at or created
    if collection == PROFILE:
        about = record.get("description")
        return Mapped(accounts=[Account(
            key=actor, network=NETWORK, observed_at=observed,
            display_name=record["displayName"] if isinstance(record.get("displayName"), str) and record["displayName"].strip() else None,
            profile=profile_json({"about": about if isinstance(about, str) else None}))])
    if not isinstance(collection, str) or collection not in _COLLECTIONS:
        return Mapped(skipped=f"collection {collection!r} is not an interaction")
    uri = f"at://{did}/{collection}/{rkey}"
    record_id = f"{NETWORK}:{uri}"
    base_account = Account(key=actor, network=NETWORK, observed_at=observed)
    kind = _COLLECTIONS[collection]

    def make(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None, **extra) -> Event:
        return Event(event_id=record_id + suffix, network=NETWORK, kind=kind, actor=actor, created_at=created,
                     target=target, parent_post_id=parent, record_id=record_id, **extra)

    if kind in ("like", "repost"):
        subject = fields.get(record, "subject.uri", at=at)
        target = account_key(NETWORK, _did_of(subject, at + "subject.uri"))
        post_id = uri if kind == "repost" else None
        return Mapped(events=[make(kind, target=target, parent=subject, post_id=post_id)], accounts=[base_account])
    if kind == "follow":
        subject = fields.get(record, "subject", at=at)
        if not isinstance(subject, str) or not subject.startswith("did:"):
            raise RecordError(at + "subject", f"expected a DID, got {subject!r}")
        return Mapped(events=[make("follow", target=account_key(NETWORK, subject))], accounts=[base_account])

    text = fields.optional_str(record, "text", at=at)
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
    tags += fields.hashtags(record.get("tags"), at + "tags")
    common = {"post_id": uri, "text": text, "lang": lang, "tags": tags}

    events: list[Event] = []
    primary_target = None
    parent = fields.get(record, "reply.parent.uri", None)
    quoted = _quoted_uri(record.get("embed"))
    if parent:
        primary_target = account_key(NETWORK, _did_of(parent, at + "reply.parent.uri"))
        events.append(make("reply", target=primary_target, parent=parent, **common))
        if quoted:
            events.append(make("quote", "#quote", account_key(NETWORK, _did_of(quoted, at + "embed")), quoted, **common))
    elif quoted:
        primary_target = account_key(NETWORK, _did_of(quoted, at + "embed.record.uri"))
        events.append(make("quote", target=primary_target, parent=quoted, **common))
    else:
        events.append(make("post", **common))
    seen = {primary_target, actor}
    for mention in mentions:
        target = account_key(NETWORK, mention)
        if target not in seen:
            seen.add(target)
            events.append(make("mention", f"#mention:{mention}", target, **common))
    return Mapped(events=events, accounts=[base_account])
