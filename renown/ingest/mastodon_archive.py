"""The Mastodon account archive ("Request your archive": a zip, or its folder).

``outbox.json`` is an ActivityStreams ``OrderedCollection`` written on one line
whose ``orderedItems`` are the owner's activities: ``Create`` with a ``Note``
(a post; ``inReplyTo`` names the replied post by URI; ``tag`` holds ``Mention``
and ``Hashtag`` objects; ``quote``/``quoteUri``/``_misskey_quote`` a quoted post)
and ``Announce`` (a boost; ``object`` is the boosted post's URI, ``cc`` names
its author first). ``actor.json`` is the owner's ActivityPub actor (profile
fields, bio); without it the owner is taken from each activity's ``actor``.
``likes.json`` lists liked posts by URI *without a time*: they are counted as
skipped, not loaded. ``bookmarks.json`` is private and not read. A page of an
outbox fetched over ActivityPub (``OrderedCollectionPage``, e.g. ``curl -H 'Accept:
application/activity+json' https://INSTANCE/users/NAME/outbox?page=true``) reads
the same way.

Accounts are keyed ``mastodon:user@instance`` like the REST-API mapper's, and
event ids are the status URIs, so a status read from both sources loads once.
Post ids are URIs here (the REST API gives instance-local ids). An actor URI
becomes ``user@instance`` through the activity's ``Mention`` tags, else through
any mention of that actor elsewhere in the archive, else through its path
(``/users/NAME`` or ``/@NAME``, as Mastodon, Pleroma/Akkoma and GoToSocial write
them); a reply or boost whose author cannot be named that way keeps its parent
post but no target. Direct messages (addressed to neither the
public nor the followers) are private conversations and are skipped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import ParseResult, urlparse

import orjson

from renown.errors import FormatError, RecordError
from renown.events import Account, Event, Mapped, profile_json
from renown.ingest import fields
from renown.ingest.html import html_to_text
from renown.ingest.mastodon import DIRECT_SKIPPED, NETWORK, field_link, field_text
from renown.ingest.sources import (
    RawRecord,
    Source,
    decode_text,
    member_records,
    read_json_array,
    read_text,
)

NAME = "mastodon-archive"
_ITEMS = re.compile(r'(?<!\\)"orderedItems"\s*:\s*')
_COLLECTION = re.compile(r'"type"\s*:\s*"OrderedCollection(?:Page)?"')
_PUBLIC = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
_ACTOR_PATH = re.compile(r"^/(?:users/|@)([^/@]+)/?$")
_STATUS_PATH = re.compile(r"^(/(?:users/|@)[^/@]+)/(?:statuses/)?[^/]+/?$")
_QUOTE_KEYS = ("quote", "quoteUri", "quoteUrl", "_misskey_quote")
LIKES_SKIPPED = "Mastodon archive likes carry no time (likes.json): not loaded"


def sniff_text(head: str) -> bool:
    """Whether a file's first characters look like an ActivityStreams outbox collection."""
    return bool(_COLLECTION.search(head) and _ITEMS.search(head))


def _items(text: str, name: str) -> Iterator[RawRecord]:
    match = _ITEMS.search(text)
    if not match:
        raise FormatError(f"{name}: not a Mastodon archive outbox (no \"orderedItems\" list)")
    yield from read_json_array(text, match.end())


def _read_owner(source: Source) -> tuple[dict | None, list[RawRecord]]:
    """The actor of ``actor.json``, or None with the reason quarantined: the outbox loads either way
    (each activity names its actor)."""
    found = source.named("actor.json".__eq__)
    if not found:
        return None, []
    name, opener = found[0]
    text = decode_text(opener)
    try:
        actor = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, [RawRecord(1, text[:200], error=f"invalid JSON: {exc}", source=name)]
    if not isinstance(actor, dict) or not isinstance(actor.get("id"), str):
        return None, [RawRecord(1, text[:200], error="not an ActivityPub actor (no \"id\"); the owner's profile is "
                                "left out", source=name)]
    return actor, []



def read(source: Source) -> tuple[Iterator[RawRecord], dict]:
    owner, rejected = _read_owner(source)
    text = read_text(source)
    records = itertools.chain(rejected, _items(text, source.name), member_records(source.named("likes.json".__eq__), _items))
    return records, {"owner": _owner_profile(owner) if owner is not None else None, "named": _named(text)}


_MENTION = re.compile(r'\{\s*"type"\s*:\s*"Mention"\s*,\s*"href"\s*:\s*"([^"\\]+)"\s*,\s*"name"\s*:\s*"([^"\\]+)"\s*\}')


def _named(text: str) -> dict[str, str]:
    """Actor URI → ``user@instance`` for everyone the archive's posts mention (Mastodon writes a ``Mention``
    as ``{"type", "href", "name"}``): the name of a boosted author whose URI does not carry it (Misskey's
    ``/users/<id>``), when the owner mentioned them somewhere."""
    return _mentions({"tag": [{"type": "Mention", "href": href, "name": name} for href, name in _MENTION.findall(text)]})


def _owner_profile(actor: dict) -> dict:
    """What actor.json adds to the owner's account rows. Read leniently: a malformed profile field is
    left out rather than costing every record of the archive."""
    def text(key: str) -> str | None:
        value = actor.get(key)
        return value if isinstance(value, str) and value.strip() else None

    try:
        created = fields.iso_time(actor.get("published"), "published")
    except RecordError:
        created = None
    summary = text("summary")
    return {
        "username": text("preferredUsername"),
        "display_name": text("name"),
        "created_at": created,
        "bot": actor["type"] == "Service" if isinstance(actor.get("type"), str) else None,
        "profile": profile_json({"website": field_link(actor.get("attachment"), "website"),
                                 "location": field_text(actor.get("attachment"), "location"),
                                 "about": html_to_text(summary) if summary else None}),
    }


def _parsed(uri: Any) -> ParseResult | None:
    """``uri`` split into its parts, or None when it is not a URL with a host."""
    if not isinstance(uri, str):
        return None
    try:
        parsed = urlparse(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    return parsed if parsed.hostname else None


def _acct_of(uri: Any, known: dict[str, str], named: dict[str, str] | None = None) -> str | None:
    """``user@instance`` of an actor URI: from the activity's mention tags (``known``) or the archive's
    (``named``), else from its path."""
    if isinstance(uri, str) and uri in known:
        return known[uri]
    if isinstance(uri, str) and named and uri in named:
        return named[uri]
    parsed = _parsed(uri)
    match = _ACTOR_PATH.match(parsed.path) if parsed else None
    return f"{match.group(1).lower()}@{parsed.hostname.lower()}" if match else None


def _author_of(post_uri: Any, known: dict[str, str], named: dict[str, str] | None = None) -> str | None:
    """``user@instance`` of the author of a post URI (``…/users/NAME/statuses/ID``, ``…/@NAME/ID``)."""
    parsed = _parsed(post_uri)
    match = _STATUS_PATH.match(parsed.path) if parsed else None
    if not match:
        return None
    return _acct_of(f"{parsed.scheme}://{parsed.netloc}{match.group(1)}", known, named)


def _owner_account(owner: dict | None, actor_uri: str, observed_at) -> Account:
    parsed = _parsed(actor_uri)
    if owner is not None and owner["username"] and parsed:
        acct = f"{owner['username'].lower()}@{parsed.hostname.lower()}"
    else:
        acct = _acct_of(actor_uri, {})
    if acct is None:
        raise RecordError("actor", f"cannot name the account of actor {actor_uri!r}")
    extra = {k: v for k, v in owner.items() if k != "username"} if owner is not None else {}
    return Account(key=f"{NETWORK}:{acct}", network=NETWORK, observed_at=observed_at, handle=acct, **extra)


def _mentions(note: dict) -> dict[str, str]:
    """Actor URI → ``user@instance`` for the note's ``Mention`` tags (a bare ``@user`` is local to the href's host)."""
    known: dict[str, str] = {}
    for tag in fields.listed(note.get("tag")):
        if not isinstance(tag, dict) or tag.get("type") != "Mention":
            continue
        href, name = tag.get("href"), tag.get("name")
        if not isinstance(href, str) or not isinstance(name, str) or not name.strip("@ "):
            continue
        acct = name.strip().lstrip("@").lower()
        parsed = _parsed(href)
        if "@" not in acct:
            if not parsed:
                continue
            acct = f"{acct}@{parsed.hostname.lower()}"
        known[href] = acct
    return known


def _addressed(activity: dict, note: dict) -> list[str]:
    return [a for thing in (activity, note) for key in ("to", "cc")
            for a in ([thing.get(key)] if isinstance(thing.get(key), str) else fields.listed(thing.get(key)))
            if isinstance(a, str)]


def _is_direct(activity: dict, note: dict) -> bool:
    audience = _addressed(activity, note)
    return bool(audience) and not any(a in _PUBLIC or a.endswith("/followers") for a in audience)


def map_record(value: Any, context: dict) -> list[Mapped]:
    if isinstance(value, str):
        return [Mapped(skipped=LIKES_SKIPPED)]
    activity = fields.require_dict(value)
    kind = activity.get("type")
    actor_uri = fields.get(activity, "actor")
    if not isinstance(actor_uri, str):
        raise RecordError("actor", f"expected an actor URI, got {type(actor_uri).__name__}")
    if kind == "Announce":
        return [_announce(activity, actor_uri, context.get("owner"), context.get("named"))]
    if kind != "Create":
        return [Mapped(skipped=f"activity type {kind!r} is not a post or a boost")]
    note = fields.require_dict(fields.get(activity, "object"), "object")
    if _is_direct(activity, note):
        return [Mapped(skipped=DIRECT_SKIPPED)]
    return [_create(activity, note, actor_uri, context.get("owner"), context.get("named"))]


def _announce(activity: dict, actor_uri: str, owner: dict | None, named: dict[str, str] | None) -> Mapped:
    activity_id = fields.string_id(activity, "id")
    created = fields.iso_time(fields.get(activity, "published"), "published")
    author = _owner_account(owner, actor_uri, created)
    boosted = activity.get("object")
    known: dict[str, str] = {}
    if isinstance(boosted, dict):  # a boost of one's own followers-only post carries it inline
        known = _mentions(boosted)
        boosted = boosted.get("id")
    if not isinstance(boosted, str) or not boosted:
        raise RecordError("object", "expected the boosted post's URI")
    target = _author_of(boosted, known, named)
    if target is None:
        target = next((acct for uri in fields.listed(activity.get("cc"))
                       if isinstance(uri, str) and uri not in _PUBLIC and not uri.endswith("/followers")
                       and uri != actor_uri and (acct := _acct_of(uri, known, named))), None)
    record_id = f"{NETWORK}:{activity_id}"
    repost = Event(event_id=record_id, network=NETWORK, kind="repost", actor=author.key, created_at=created,
                   target=f"{NETWORK}:{target}" if target else None, post_id=activity_id, parent_post_id=boosted,
                   record_id=record_id)
    accounts = [author] + ([Account(key=f"{NETWORK}:{target}", network=NETWORK, observed_at=created, handle=target)]
                           if target else [])
    return Mapped(events=[repost], accounts=accounts)


def _create(activity: dict, note: dict, actor_uri: str, owner: dict | None, named: dict[str, str] | None) -> Mapped:
    post_uri = fields.string_id(note, "id", at="object.")
    published = note.get("published") if note.get("published") is not None else activity.get("published")
    created = fields.iso_time(published, "object.published")
    author = _owner_account(owner, actor_uri, created)
    known = _mentions(note)
    content = note.get("content")
    if content is not None and not isinstance(content, str):
        raise RecordError("object.content", f"expected HTML text, got {type(content).__name__}")
    languages = note.get("contentMap")
    lang = next(iter(languages), None) if isinstance(languages, dict) else None
    tags = fields.hashtags([t for t in fields.listed(note.get("tag")) if isinstance(t, dict) and t.get("type") == "Hashtag"],
                           "object.tag", key="name")
    record_id = f"{NETWORK}:{post_uri}"
    text = html_to_text(content) if content else None

    def event(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None) -> Event:
        return Event(event_id=record_id + suffix, network=NETWORK, kind=kind, actor=author.key, created_at=created,
                     target=f"{NETWORK}:{target}" if target else None, post_id=post_uri, parent_post_id=parent,
                     text=text, lang=lang, tags=tags, record_id=record_id)

    own = author.handle
    mentions = list(dict.fromkeys(known.values()))
    known.setdefault(actor_uri, own)
    events: list[Event] = []
    reply_to = note.get("inReplyTo")
    quoted = next((note[k] for k in _QUOTE_KEYS if isinstance(note.get(k), str) and note[k]), None)
    primary: str | None = None
    if isinstance(reply_to, str) and reply_to:
        primary = _author_of(reply_to, known, named)
        events.append(event("reply", target=primary, parent=reply_to))
        if quoted:
            events.append(event("quote", "#quote", _author_of(quoted, known, named), quoted))
    elif quoted:
        primary = _author_of(quoted, known, named)
        events.append(event("quote", target=primary, parent=quoted))
    else:
        events.append(event("post"))
    seen = {primary, own}
    for acct in mentions:
        if acct not in seen:
            seen.add(acct)
            events.append(event("mention", f"#mention:{acct}", acct))
    others = dict.fromkeys(e.target for e in events if e.target and e.target != author.key)
    accounts = [Account(key=key, network=NETWORK, observed_at=created, handle=key.split(":", 1)[1]) for key in others]
    return Mapped(events=events, accounts=[author] + accounts)

