"""Mastodon statuses and notifications as the REST API returns them.

A file holds a JSON array of ``Status`` entities (``GET /api/v1/accounts/:id/statuses``,
timelines) or of ``Notification`` entities, or one entity per line.
Ids are strings and local to the instance the export came from; ``uri`` is
global, so event ids derive from it. ``content`` is HTML and becomes plain
text. Accounts are keyed ``mastodon:user@instance``: ``acct`` is relative to
the exporting instance, so a bare ``user`` gets the domain of its profile URL.

A status with a ``reblog`` is a repost of the inner status (which also loads
as a post by its author); ``in_reply_to_account_id`` is resolved through the
status's ``mentions``; each other mention is a ``mention`` event.
Notifications add likes (``favourite``) and reposts (``reblog``) by others.
Direct messages (``visibility: direct``) are private conversations: skipped, and counted.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from renown.errors import RecordError
from renown.events import Account, Event, Mapped, json_text, profile_json
from renown.ingest import fields
from renown.ingest.html import html_to_text

NAME = "mastodon"
NETWORK = "mastodon"


def sniff(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("account"), dict) and ("content" in value or "reblog" in value) and "uri" in value:
        return True
    return isinstance(value.get("account"), dict) and value.get("type") in _NOTIFICATION_KINDS


_NOTIFICATION_KINDS = {"favourite": "like", "reblog": "repost", "mention": None, "status": None, "update": None,
                       "follow": "follow", "follow_request": None, "poll": None, "admin.sign_up": None,
                       "admin.report": None, "severed_relationships": None, "moderation_warning": None}


def _acct(acct: Any, url: Any, path: str) -> str:
    if not isinstance(acct, str) or not acct.strip():
        raise RecordError(path, "missing acct")
    acct = acct.strip().lstrip("@").lower()
    if "@" in acct:
        return acct
    domain = urlparse(url).hostname if isinstance(url, str) else None
    if not domain:
        raise RecordError(path, f"acct {acct!r} has no instance and no profile url to take it from")
    return f"{acct}@{domain.lower()}"


def account_from(entity: Any, path: str, observed_at) -> Account:
    entity = fields.require_dict(entity, path)
    acct = _acct(entity.get("acct"), entity.get("url"), f"{path}.acct")
    created = entity.get("created_at")
    return Account(
        key=f"{NETWORK}:{acct}", network=NETWORK, observed_at=observed_at,
        handle=acct, display_name=fields.optional_str(entity, "display_name", at=f"{path}.") or None,
        followers=fields.optional_int(entity, "followers_count", at=f"{path}."),
        created_at=fields.iso_time(created, f"{path}.created_at") if isinstance(created, str) else None,
        bot=entity.get("bot") if isinstance(entity.get("bot"), bool) else None,
        profile=profile_json({"website": field_link(entity.get("fields"), "website"),
                              "location": field_text(entity.get("fields"), "location"),
                              "about": html_to_text(entity["note"]) if isinstance(entity.get("note"), str) else None,
                              "image": entity.get("avatar")}),
    )


_HREF = re.compile(r'href="([^"]+)"')


def field_text(profile_fields, name: str) -> str | None:
    """The value of a profile field (``fields: [{name, value}]``) whose name is ``name``, as text."""
    for item in fields.listed(profile_fields):
        if isinstance(item, dict) and str(item.get("name", "")).strip().lower() == name and item.get("value"):
            return html_to_text(str(item["value"]))
    return None


def field_link(profile_fields, name: str) -> str | None:
    """The link in a profile field named ``name`` (ActivityPub ``attachment`` property values share the shape)."""
    for item in fields.listed(profile_fields):
        if isinstance(item, dict) and str(item.get("name", "")).strip().lower() == name and item.get("value"):
            match = _HREF.search(str(item["value"]))
            return match.group(1) if match else html_to_text(str(item["value"]))
    return None


def _native(status: dict, at: str) -> str:
    uri = status.get("uri") or status.get("url")
    if isinstance(uri, str) and uri:
        return uri
    return fields.string_id(status, "id", at=at)


def map_status(status: Any, path: str = "") -> Mapped:
    status = fields.require_dict(status, path or "status")
    at = f"{path}." if path else ""
    status_id = fields.string_id(status, "id", at=at)
    created = fields.iso_time(fields.get(status, "created_at", at=at), f"{at}created_at")
    author = account_from(fields.get(status, "account", at=at), f"{at}account", created)
    native = _native(status, at)
    record_id = f"{NETWORK}:{native}"
    mentions = status.get("mentions") or []
    if not isinstance(mentions, list):
        raise RecordError(f"{at}mentions", "expected a list")
    mentioned = [(account_from(m, f"{at}mentions[{i}]", created), m.get("id")) for i, m in enumerate(mentions)]
    accounts = [author] + [a for a, _ in mentioned]
    metrics = {k: status[k] for k in ("replies_count", "reblogs_count", "favourites_count") if k in status}
    attrs = json_text(metrics) if metrics else None

    reblog = status.get("reblog")
    if reblog is not None:
        inner = map_status(reblog, f"{at}reblog")
        original_author = inner.accounts[0].key
        repost = Event(
            event_id=record_id, network=NETWORK, kind="repost", actor=author.key, created_at=created,
            target=original_author, post_id=status_id, parent_post_id=fields.string_id(reblog, "id", at=f"{at}reblog."),
            record_id=record_id,
        )
        return Mapped(events=[repost] + inner.events, accounts=[author] + inner.accounts)

    content = status.get("content")
    if content is not None and not isinstance(content, str):
        raise RecordError(f"{at}content", f"expected HTML text, got {type(content).__name__}")
    text = html_to_text(content) if content else None
    lang = fields.optional_str(status, "language", at=at)
    tags = fields.hashtags(status.get("tags"), f"{at}tags", key="name")

    def event(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None) -> Event:
        return Event(
            event_id=record_id + suffix, network=NETWORK, kind=kind, actor=author.key, created_at=created,
            target=target, post_id=status_id, parent_post_id=parent, text=text, lang=lang, tags=tags,
            record_id=record_id, attrs=attrs,
        )

    events: list[Event] = []
    reply_to = status.get("in_reply_to_id")
    primary_target: str | None = None
    if reply_to is not None:
        reply_account = status.get("in_reply_to_account_id")
        if reply_account is not None and str(reply_account) == str(status["account"].get("id")):
            primary_target = author.key
        else:
            primary_target = next((a.key for a, mid in mentioned if mid is not None and str(mid) == str(reply_account)), None)
        events.append(event("reply", target=primary_target, parent=str(reply_to)))
    else:
        events.append(event("post"))
    seen = {primary_target, author.key}
    for account, _ in mentioned:
        if account.key not in seen:
            seen.add(account.key)
            events.append(event("mention", f"#mention:{account.handle}", account.key))
    return Mapped(events=events, accounts=accounts)


def map_notification(note: dict) -> Mapped:
    kind_name = note.get("type")
    created = fields.iso_time(fields.get(note, "created_at"), "created_at")
    if kind_name in ("mention", "status", "update"):
        return map_status(fields.get(note, "status"), "status")
    kind = _NOTIFICATION_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind not in ("like", "repost"):
        return Mapped(skipped=f"notification type {kind_name!r} names no reaction to a known account")
    actor = account_from(fields.get(note, "account"), "account", created)
    status = fields.require_dict(fields.get(note, "status"), "status")
    target_status = map_status(status, "status")
    target = target_status.accounts[0].key
    native = _native(status, "status.")
    like = Event(
        event_id=f"{NETWORK}:{kind}:{actor.handle}:{native}", network=NETWORK, kind=kind, actor=actor.key,
        created_at=created, target=target, parent_post_id=fields.string_id(status, "id", at="status."),
        record_id=f"{NETWORK}:notification:{fields.string_id(note, 'id')}",
    )
    return Mapped(events=[like] + target_status.events, accounts=[actor] + target_status.accounts)


#: Why a direct message is not loaded: it is a private conversation, not a public reaction.
DIRECT_SKIPPED = "direct message: private, not read"


def _is_direct(status: Any) -> bool:
    return isinstance(status, dict) and status.get("visibility") == "direct"


def map_record(value: Any, context: dict) -> list[Mapped]:
    record = fields.require_dict(value)
    if "type" in record and "content" not in record and "status" in record or record.get("type") in ("follow", "follow_request"):
        return [Mapped(skipped=DIRECT_SKIPPED) if _is_direct(record.get("status")) else map_notification(record)]
    return [Mapped(skipped=DIRECT_SKIPPED) if _is_direct(record) else map_status(record, "")]
