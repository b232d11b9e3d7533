"""The X/Twitter "download your data" archive (folder or zip).

``data/tweets.js`` is JavaScript: ``window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]``;
a large archive continues in ``data/tweets-part1.js``, ``tweets-part2.js``… (``part1``, …),
read in order after it.
Tweets carry string ids (``id_str``), classic ``created_at``
(``Wed Oct 10 20:19:24 +0000 2018``), ``full_text`` and ``entities``
(``hashtags[].text``, ``user_mentions[].id_str``). They carry no author: the
owner comes from ``data/account.js`` (``account.accountId``). Retweets are only
recognisable by the ``RT @user:`` prefix, their target by the first
``user_mentions`` entry; quotes by a status link in ``entities.urls``.
``data/like.js`` lists the owner's likes by tweet id, without a time or the liked
tweet's author: they are counted as skipped, not loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from renown.errors import FormatError, RecordError
from renown.events import Account, Event, Mapped, account_key, json_text
from renown.ingest import fields
from renown.ingest.sources import (
    RawRecord,
    Source,
    decode_text,
    file_name,
    member_records,
    read_json_array,
    read_text,
)

NAME = "twitter-archive"
NETWORK = "twitter"
_PREFIX = re.compile(r"^\s*window\.YTD\.[A-Za-z_]+\.part\d+\s*=\s*")
_STATUS_URL = re.compile(r"https?://(?:mobile\.)?(?:twitter|x)\.com/[^/]+/status(?:es)?/(\d+)")
_RETWEET = re.compile(r"^RT @(\w+):")


def sniff_text(text: str) -> bool:
    return bool(_PREFIX.match(text[:200]))


def _array_records(text: str, name: str) -> Iterator[RawRecord]:
    match = _PREFIX.match(text)
    if not match:
        raise FormatError(f"{name}: not a Twitter archive file (expected 'window.YTD.<name>.part0 = [...]')")
    yield from read_json_array(text, match.end())


def read_owner(source: Source) -> dict:
    """The archive owner's account record from ``account.js``."""
    opener = source.member("account.js")
    if opener is None:
        raise FormatError(f"{source.name}: Twitter archive without data/account.js: the tweets' author is unknown")
    for record in _array_records(decode_text(opener), "account.js"):
        if record.error is None and isinstance(record.value, dict) and isinstance(record.value.get("account"), dict):
            account = record.value["account"]
            if fields.native_id(account.get("accountId")):
                return account
    raise FormatError(f"{source.name}: data/account.js has no account.accountId")


_PART_FILE = re.compile(r"tweets?-part(\d+)\.js$")
_LIKE_FILE = re.compile(r"like(?:-part\d+)?\.js")
LIKES_SKIPPED = "X archive likes carry no time and no author (like.js): not loaded"


def _parts(source: Source) -> list[tuple[str, Callable[[], IO[bytes]]]]:
    """The archive's ``tweets-part<N>.js`` files after the first, by N."""
    numbered = [(int(m.group(1)), name, opener) for name, opener in source.members
                if (m := _PART_FILE.search(file_name(name)))]
    return [(name, opener) for _, name, opener in sorted(numbered)]


def _all_records(source: Source) -> Iterator[RawRecord]:
    """The tweets of ``tweets.js`` and its parts, then the likes of ``like.js`` (read to be counted: they
    carry no time)."""
    yield from _array_records(read_text(source), source.name)
    yield from member_records(_parts(source) + source.named(_LIKE_FILE.fullmatch), _array_records)


def read(source: Source) -> tuple[Iterator[RawRecord], dict]:
    owner = read_owner(source)
    return _all_records(source), {"owner": owner}


def map_record(value: Any, context: dict) -> list[Mapped]:
    owner = context["owner"]
    wrapper = fields.require_dict(value)
    if "like" in wrapper and "tweet" not in wrapper:
        return [Mapped(skipped=LIKES_SKIPPED)]
    tweet = fields.require_dict(fields.get(wrapper, "tweet"), "tweet")
    tweet_id = fields.string_id(tweet, "id_str" if "id_str" in tweet else "id", at="tweet.")
    created = fields.classic_twitter_time(fields.get(tweet, "created_at", at="tweet."), "tweet.created_at")
    text = fields.optional_str(tweet, "full_text", at="tweet.") or fields.optional_str(tweet, "text", at="tweet.") or ""
    entities = tweet.get("entities") or {}
    if not isinstance(entities, dict):
        raise RecordError("tweet.entities", "expected an object")
    tags = fields.hashtags(entities.get("hashtags"), "tweet.entities.hashtags", key="text")
    mentions = entities.get("user_mentions") or []
    if not isinstance(mentions, list):
        raise RecordError("tweet.entities.user_mentions", "expected a list")

    actor = account_key(NETWORK, fields.string_id(owner, "accountId", at="account."))
    record_id = f"{NETWORK}:{tweet_id}"
    lang = fields.optional_str(tweet, "lang", at="tweet.")
    metrics = {k: tweet[k] for k in ("retweet_count", "favorite_count") if k in tweet}
    attrs = json_text(metrics) if metrics else None

    def event(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None) -> Event:
        return Event(
            event_id=record_id + suffix, network=NETWORK, kind=kind, actor=actor, created_at=created,
            target=target, post_id=tweet_id, parent_post_id=parent, text=text, lang=lang, tags=tags,
            record_id=record_id, attrs=attrs,
        )

    def mention_id(mention: Any) -> str | None:
        if isinstance(mention, dict):
            raw = fields.native_id(mention.get("id_str")) or fields.native_id(mention.get("id"))
            if raw and raw not in ("-1", "0"):
                return raw
        return None

    events: list[Event] = []
    accounts = [
        Account(
            key=actor, network=NETWORK, observed_at=created, handle=fields.optional_str(owner, "username", at="account."),
            display_name=fields.optional_str(owner, "accountDisplayName", at="account."),
            created_at=fields.iso_time(owner["createdAt"], "account.createdAt") if owner.get("createdAt") else None,
        )
    ]
    for i, mention in enumerate(mentions):
        mid = mention_id(mention)
        if mid:
            at = f"tweet.entities.user_mentions[{i}]."
            accounts.append(Account(key=account_key(NETWORK, mid), network=NETWORK, observed_at=created,
                                    handle=fields.optional_str(mention, "screen_name", at=at),
                                    display_name=fields.optional_str(mention, "name", at=at)))

    retweet = _RETWEET.match(text)
    primary_target: str | None = None
    if retweet:
        handle = retweet.group(1).lower()
        first = next((m for m in mentions if isinstance(m, dict) and str(m.get("screen_name", "")).lower() == handle), None)
        mid = mention_id(first)
        primary_target = account_key(NETWORK, mid) if mid else None
        events.append(event("repost", target=primary_target))
        return [Mapped(events=events, accounts=accounts)]

    reply_to = fields.optional_str(tweet, "in_reply_to_status_id_str", at="tweet.")
    quoted = None
    for url in fields.listed(entities.get("urls")):
        match = _STATUS_URL.match(str(url.get("expanded_url", ""))) if isinstance(url, dict) else None
        if match:
            quoted = match.group(1)
            break
    if reply_to:
        reply_user = fields.optional_str(tweet, "in_reply_to_user_id_str", at="tweet.")
        primary_target = account_key(NETWORK, reply_user) if reply_user else None
        events.append(event("reply", target=primary_target, parent=reply_to))
        if quoted:
            events.append(event("quote", "#quote", parent=quoted))
    elif quoted:
        events.append(event("quote", parent=quoted))
    else:
        events.append(event("post"))
    seen = {primary_target, actor}
    for mention in mentions:
        mid = mention_id(mention)
        if mid and account_key(NETWORK, mid) not in seen:
            seen.add(account_key(NETWORK, mid))
            events.append(event("mention", f"#mention:{mid}", account_key(NETWORK, mid)))
    return [Mapped(events=events, accounts=accounts)]
