"""The normalized event log: the one definition every stage reads.

An *event* is one thing one account did, possibly to another account:

=================  ==========================================================
column             meaning
=================  ==========================================================
``event_id``       stable id ``network:native-id[#derived]``; re-ingesting the
                   same record yields the same id, so the store dedupes on it
``network``        ``twitter``, ``mastodon``, ``bluesky``, ``reddit`` or any
                   name a CSV gives
``kind``           one of :data:`KINDS`
``actor``          account key (``network:native-id``) of whoever acted
``target``         account key of whoever was acted upon; empty for a plain
                   post. Sources that only name the parent post (Reddit) leave
                   it empty and the store resolves it from the parent's author
``post_id``        native id of the post this event *created* (post, reply,
                   quote, the repost itself, the post containing a mention)
``parent_post_id`` native id of the post this event *reacts to* (the replied,
                   quoted, reposted or liked post)
``created_at``     UTC, timezone-aware
``text``           plain text where the source has it
``lang``           language tag where the source has it
``tags``           hashtags, lower-cased, without ``#``
``record_id``      ``network:native-id`` of the source record; a ``delete``
                   event carries the record id it removes
``source_file``,   provenance: where the record was read — its line, or for
``source_line``    an element of a JSON array (X archive, Mastodon) or of a
                   repository export its place there (1 = first), since such
                   records may share a line; the raw copy is kept under it
``attrs``          JSON object of source extras (public metrics, CSV columns)
=================  ==========================================================

A reaction whose actor the source does not name (Stack Exchange up-votes)
has the actor ``<network>:anonymous`` (:data:`ANONYMOUS`): it is kept in the
log, but it is nobody, so scoring does not count it as a person.

An *account* row: ``key``, ``network``, ``handle``, ``display_name``,
``followers`` (when the source has it), ``created_at``, ``bot`` (source flag
when present), ``profile`` (JSON of public profile fields) and ``observed_at``
(the time of the record it came from, so the newest observation wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

#: Online interaction kinds.
SOCIAL_KINDS = ("post", "reply", "repost", "quote", "like", "mention", "follow", "delete")
#: Offline kinds, reserved for CRM imports.
OFFLINE_KINDS = ("referral", "purchase", "nps", "support")
KINDS = SOCIAL_KINDS + OFFLINE_KINDS
#: Kinds in which the actor reacts to the target; the raw material of influence.
REACTION_KINDS = ("reply", "repost", "quote", "like", "mention")

EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("network", pa.string()),
        ("kind", pa.string()),
        ("actor", pa.string()),
        ("target", pa.string()),
        ("post_id", pa.string()),
        ("parent_post_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("record_id", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("attrs", pa.string()),
    ]
)
EVENT_COLUMNS = tuple(EVENT_SCHEMA.names)

ACCOUNT_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("network", pa.string()),
        ("handle", pa.string()),
        ("display_name", pa.string()),
        ("followers", pa.int64()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("bot", pa.bool_()),
        ("profile", pa.string()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
    ]
)
ACCOUNT_COLUMNS = tuple(ACCOUNT_SCHEMA.names)


#: Native id of the unknown actor of anonymous reactions.
ANONYMOUS = "anonymous"


def json_text(value: dict) -> str:
    """``value`` as compact JSON text (``attrs``, ``profile``): orjson, or the standard library
    for what orjson refuses (integers beyond 64 bits, which sources do send)."""
    import orjson

    try:
        return orjson.dumps(value).decode()
    except TypeError:
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def profile_json(fields: dict) -> str | None:
    """Profile fields as the JSON ``Account.profile`` holds, empty values dropped."""
    kept = {k: v for k, v in fields.items() if isinstance(v, str) and v.strip()}
    return json_text(kept) if kept else None


def account_key(network: str, native_id: str) -> str:
    """``network:native-id``, the address of an account everywhere in renown."""
    return f"{network}:{native_id}"


def networks_of(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The network of each account key (the part before the first ``:``), split in Arrow."""
    import pyarrow.compute as pc  # not at import: every command would load it

    networks = pc.list_element(pc.split_pattern(keys, ":", max_splits=1), 0)
    return np.asarray(networks.to_numpy(zero_copy_only=False), dtype=object)


@dataclass(slots=True)
class Event:
    event_id: str
    network: str
    kind: str
    actor: str
    created_at: datetime
    target: str | None = None
    post_id: str | None = None
    parent_post_id: str | None = None
    text: str | None = None
    lang: str | None = None
    tags: list[str] = field(default_factory=list)
    record_id: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    attrs: str | None = None


@dataclass(slots=True)
class Account:
    key: str
    network: str
    observed_at: datetime
    handle: str | None = None
    display_name: str | None = None
    followers: int | None = None
    created_at: datetime | None = None
    bot: bool | None = None
    #: JSON object of public profile fields (``website``, ``location``, ``about``, ``image``…), the evidence
    #: identity linking weighs.
    profile: str | None = None


@dataclass(slots=True)
class Mapped:
    """What a mapper makes of one source record."""

    events: list[Event] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    #: Why the record produced nothing on purpose (e.g. a deleted author), or None.
    skipped: str | None = None
    #: Set when this (sub-)record is malformed; it is quarantined, the rest loads.
    error: Exception | None = None
    #: Where inside a multi-record line this came from (e.g. ``data[3]``).
    where: str = ""


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime; naive datetimes are taken as UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
