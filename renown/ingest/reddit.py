"""Reddit comments and submissions in Pushshift-style NDJSON dumps.

Submissions (``title``, ``selftext``) are posts with id ``t3_<id>``; comments
(``body``, ``parent_id``, ``link_id``) are replies with id ``t1_<id>`` to the
``t1_``/``t3_`` parent. A comment does not name its parent's author: the
store resolves the reply's target from the parent post when it has it.
``u/name`` in a body is a mention. ``[deleted]``/``[removed]`` authors are
skipped (counted, not quarantined). ``created_utc`` is seconds, as a number
or a numeric string, as the dumps have both. Accounts are keyed by username.
"""

from __future__ import annotations

import re
from typing import Any

from renown.errors import RecordError
from renown.events import Account, Event, Mapped, account_key, json_text
from renown.ingest import fields

NAME = "reddit"
NETWORK = "reddit"
_GONE = {"[deleted]", "[removed]", ""}
_USER_MENTION = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})\b")


def sniff(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "created_utc" in value
        and "author" in value
        and ("body" in value or "title" in value or "subreddit" in value)
    )


def _full_id(value: str, prefix: str) -> str:
    return value if value.startswith(("t1_", "t3_")) else f"{prefix}{value}"


def map_record(value: Any, context: dict) -> list[Mapped]:
    record = fields.require_dict(value)
    author = fields.get(record, "author")
    if not isinstance(author, str):
        raise RecordError("author", f"expected a username, got {type(author).__name__}")
    if author in _GONE:
        return [Mapped(skipped="deleted author")]
    native = fields.string_id(record, "id")
    created = fields.unix_time(fields.get(record, "created_utc"), "created_utc")
    actor = account_key(NETWORK, author)
    subreddit = fields.optional_str(record, "subreddit")
    attrs = json_text({k: record[k] for k in ("subreddit", "score", "num_comments") if k in record})
    is_comment = "body" in record or "parent_id" in record
    post_id = _full_id(native, "t1_" if is_comment else "t3_")
    record_id = f"{NETWORK}:{post_id}"
    if is_comment:
        text = fields.optional_str(record, "body")
        parent = fields.get(record, "parent_id")
        if not isinstance(parent, str) or not parent.startswith(("t1_", "t3_")):
            raise RecordError("parent_id", f"expected a t1_/t3_ id, got {parent!r}")
        kind = "reply"
    else:
        title = fields.optional_str(record, "title") or ""
        body = fields.optional_str(record, "selftext") or ""
        text = f"{title}\n\n{body}".strip() if body not in _GONE else title
        parent = None
        kind = "post"

    def make(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None) -> Event:
        return Event(event_id=record_id + suffix, network=NETWORK, kind=kind, actor=actor, created_at=created,
                     target=target, post_id=post_id, parent_post_id=parent, text=text,
                     tags=[subreddit.lower()] if subreddit else [], record_id=record_id, attrs=attrs)

    events = [make(kind, parent=parent)]
    accounts = [Account(key=actor, network=NETWORK, observed_at=created, handle=author)]
    seen = {actor}
    for name in _USER_MENTION.findall(text or ""):
        target = account_key(NETWORK, name)
        if target not in seen:
            seen.add(target)
            events.append(make("mention", f"#mention:{name}", target))
            accounts.append(Account(key=target, network=NETWORK, observed_at=created, handle=name))
    return [Mapped(events=events, accounts=accounts)]
