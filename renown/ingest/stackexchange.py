"""Stack Exchange data dumps: one site's folder of ``Users``, ``Posts``,
``Comments`` and ``Votes`` XML files (gzipped or not), one ``<row .../>`` per line.

Accounts live in the network ``se-<site>`` (the folder name), keyed by user
``Id``. Mapping:

* question (``PostTypeId=1``) → ``post``, its ``Tags`` as tags;
* answer (``PostTypeId=2``) → ``reply`` to the question's owner;
* comment → ``reply`` to the commented post's owner (post id ``c<Id>``);
* accepted answer (vote type 1) → ``like`` by the question's owner on the
  answer (the strongest endorsement a site has), dated by the vote;
* favourite (vote type 5, voter known) → ``like`` by that user;
* up-vote (vote type 2) → ``like`` whose actor is ``se-<site>:anonymous``:
  the dump does not name voters (see :data:`renown.events.ANONYMOUS`);
* other vote types (down-votes, close votes, bounties…) are skipped, counted.

Targets are resolved through an index of the site's posts built while
reading ``Posts`` (files are read Users, Posts, Comments, Votes). Rows without
an owner (deleted users) are skipped, counted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone

import orjson

from renown.errors import FormatError, RecordError
from renown.events import ANONYMOUS, Account, Event, Mapped, account_key
from renown.ingest.html import html_to_text
from renown.ingest.sources import COMPRESSED_SUFFIXES, RawRecord, Source, file_name, iter_lines

NAME = "stackexchange"
FILES = ("Users", "Posts", "Comments", "Votes")
_TAG = re.compile(r"<([^<>]+)>|\|([^|]+)(?=\|)")


def network_of(site_folder: str) -> str:
    site = re.sub(r"[^a-z0-9]+", "-", site_folder.lower()).strip("-") or "site"
    return f"se-{site}"


def _time(row: dict, field: str) -> datetime:
    value = row.get(field)
    if not value:
        raise RecordError(field, "missing")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(field, f"not an ISO 8601 timestamp: {value!r}") from None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _tags(value: str | None) -> list[str]:
    if not value:
        return []
    return [(a or b).strip().lower() for a, b in _TAG.findall(value) if (a or b).strip()]


def read(source: Source) -> tuple[Iterator[RawRecord], dict]:
    """Rows of the site's files in dependency order; ``context["posts"]`` fills as Posts is read."""
    members = {}
    for member_name, opener in source.members:
        base = file_name(member_name)
        for name in FILES:
            if base in [f"{name}.xml{suffix}" for suffix in ("", *COMPRESSED_SUFFIXES)]:
                members[name] = (member_name, opener)
    if "Posts" not in members:
        raise FormatError(f"{source.name}: a Stack Exchange site folder needs Posts.xml")
    site = source.name.rstrip("/").split("/")[-1]
    context = {"network": network_of(site), "posts": {}}

    def records() -> Iterator[RawRecord]:
        for name in FILES:
            if name not in members:
                continue
            file_name, opener = members[name]
            with opener() as stream:
                for number, line in iter_lines(stream):
                    raw = line.decode("utf-8", errors="replace").strip()
                    if not raw.startswith("<row"):
                        continue  # the XML declaration and the root element's own lines
                    try:
                        row = dict(ET.fromstring(raw).attrib)
                    except ET.ParseError as exc:
                        yield RawRecord(number, raw, error=f"invalid XML row: {exc}", source=file_name)
                        continue
                    if name == "Posts" and row.get("Id"):
                        context["posts"][row["Id"]] = (row.get("OwnerUserId"), row.get("ParentId"), row.get("PostTypeId"))
                    yield RawRecord(number, raw, (name, row), source=file_name)

    return records(), context


def map_record(value, context: dict) -> list[Mapped]:
    kind, row = value
    network = context["network"]
    return [{"Users": _user, "Posts": _post, "Comments": _comment, "Votes": _vote}[kind](row, network, context["posts"])]


def _user(row: dict, network: str, posts: dict) -> Mapped:
    if not row.get("Id"):
        raise RecordError("Id", "missing")
    created = _time(row, "CreationDate")
    seen = _time(row, "LastAccessDate") if row.get("LastAccessDate") else created
    profile = {k: v for k, v in {
        "website": row.get("WebsiteUrl"), "location": row.get("Location"), "image": row.get("ProfileImageUrl"),
        "about": html_to_text(row["AboutMe"])[:500] if row.get("AboutMe") else None,
        "account_id": row.get("AccountId"),  # the network-wide identity; kept to measure linking, never used by it
    }.items() if v}
    return Mapped(accounts=[Account(key=account_key(network, row["Id"]), network=network, observed_at=seen,
                                    handle=row.get("DisplayName"), display_name=row.get("DisplayName"), created_at=created,
                                    profile=orjson.dumps(profile).decode() if profile else None)])


def _owner_key(network: str, owner: str | None) -> str | None:
    return account_key(network, owner) if owner and owner != "-1" else None


def _post(row: dict, network: str, posts: dict) -> Mapped:
    post_id = row.get("Id") or _missing("Id")
    post_type = row.get("PostTypeId")
    if post_type not in ("1", "2"):
        return Mapped(skipped=f"post type {post_type} (wiki or other) is not a question or an answer")
    owner = _owner_key(network, row.get("OwnerUserId"))
    if owner is None:
        return Mapped(skipped="post without an owner (deleted user)")
    created = _time(row, "CreationDate")
    record_id = f"{network}:post-{post_id}"
    text = row.get("Title") or None
    if post_type == "1":
        event = Event(event_id=record_id, network=network, kind="post", actor=owner, created_at=created,
                      post_id=post_id, text=text, tags=_tags(row.get("Tags")), record_id=record_id)
    else:
        parent = row.get("ParentId") or _missing("ParentId")
        question_owner = (posts.get(parent) or (None,))[0]
        event = Event(event_id=record_id, network=network, kind="reply", actor=owner, created_at=created,
                      target=_owner_key(network, question_owner), post_id=post_id, parent_post_id=parent,
                      record_id=record_id)
    return Mapped(events=[event], accounts=[Account(key=owner, network=network, observed_at=created)])


def _comment(row: dict, network: str, posts: dict) -> Mapped:
    comment_id = row.get("Id") or _missing("Id")
    actor = _owner_key(network, row.get("UserId"))
    if actor is None:
        return Mapped(skipped="comment without a user (deleted user)")
    post = row.get("PostId") or _missing("PostId")
    created = _time(row, "CreationDate")
    record_id = f"{network}:comment-{comment_id}"
    event = Event(event_id=record_id, network=network, kind="reply", actor=actor, created_at=created,
                  target=_owner_key(network, (posts.get(post) or (None,))[0]), post_id=f"c{comment_id}",
                  parent_post_id=post, record_id=record_id)
    return Mapped(events=[event], accounts=[Account(key=actor, network=network, observed_at=created)])


def _vote(row: dict, network: str, posts: dict) -> Mapped:
    vote_id = row.get("Id") or _missing("Id")
    vote_type = row.get("VoteTypeId")
    post = row.get("PostId") or _missing("PostId")
    owner, parent, _ = posts.get(post) or (None, None, None)
    target = _owner_key(network, owner)
    record_id = f"{network}:vote-{vote_id}"
    if vote_type == "1":
        actor = _owner_key(network, (posts.get(parent or "") or (None,))[0])
        if actor is None or target is None:
            return Mapped(skipped="accepted answer whose question or answer owner is unknown")
    elif vote_type == "5":
        actor = _owner_key(network, row.get("UserId"))
        if actor is None or target is None:
            return Mapped(skipped="favourite whose user or post owner is unknown")
    elif vote_type == "2":
        actor = account_key(network, ANONYMOUS)
        if target is None:
            return Mapped(skipped="up-vote on a post whose owner is unknown")
    else:
        return Mapped(skipped=f"vote type {vote_type} is not a positive reaction between accounts")
    event = Event(event_id=record_id, network=network, kind="like", actor=actor, target=target,
                  created_at=_time(row, "CreationDate"), parent_post_id=post, record_id=record_id)
    return Mapped(events=[event])


def _missing(field: str):
    raise RecordError(field, "missing")
