"""X/Twitter API v2 as collected by twarc2 (JSON lines).

Two shapes are read: raw API pages (``data`` + ``includes.users`` /
``includes.tweets`` + ``meta``), and the flattened one-tweet-per-line form
(``twarc2 flatten``: ``author``, ``in_reply_to_user``, referenced tweets and
mentions expanded inline, ``__twarc`` metadata). Ids are strings, times ISO 8601.

A tweet becomes one primary event — ``repost`` (``referenced_tweets`` type
``retweeted``), ``reply`` (``replied_to``), ``quote`` (``quoted``) or
``post`` — plus one ``mention`` per mentioned account (none for retweets,
whose mentions belong to the original). Tweets in ``includes.tweets`` are
real tweets by their authors and load as well. What a page's ``errors`` name
(tweets or users the API could not return: deleted, protected, suspended) and
empty result pages are counted as skipped with the API's reason.
"""

from __future__ import annotations

from typing import Any

from renown.errors import RecordError
from renown.events import Account, Event, Mapped, account_key, json_text, profile_json
from renown.ingest import fields

NAME = "twarc2"
NETWORK = "twitter"


EMPTY_PAGE = "twarc2 page with no results"


def sniff(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("data"), list) and ("includes" in value or "meta" in value):
        return True
    if isinstance(value.get("__twarc"), dict) and "data" not in value and ("errors" in value or "meta" in value):
        return True  # a page of API errors, or an empty one
    return "author_id" in value and "id" in value and "text" in value and "content" not in value


def map_record(value: Any, context: dict) -> list[Mapped]:
    record = fields.require_dict(value)
    if isinstance(record.get("data"), list):
        return _map_page(record) + _unavailable(record)
    if isinstance(record.get("data"), dict):  # single-tweet lookup response
        return _map_page({**record, "data": [record["data"]]}) + _unavailable(record)
    if "data" not in record and (isinstance(record.get("errors"), list) or isinstance(record.get("meta"), dict)):
        return _unavailable(record) or [Mapped(skipped=EMPTY_PAGE)]
    return [_guard(lambda: map_tweet(record, {}, {}), "")]


def _unavailable(page: dict) -> list[Mapped]:
    """One skipped record per tweet or user the API could not return, with its reason: the page's
    ``errors`` (deleted, protected, suspended) are what was asked for and is not there, not bad input."""
    errors = page.get("errors")
    if not isinstance(errors, list):
        return []
    out = []
    for error in errors:
        error = error if isinstance(error, dict) else {}
        kind = error.get("resource_type") if isinstance(error.get("resource_type"), str) else "record"
        title = error.get("title") if isinstance(error.get("title"), str) else "an error"
        out.append(Mapped(skipped=f"{kind} the API could not return: {title}"))
    return out


def _guard(fn, where: str) -> Mapped:
    try:
        mapped = fn()
    except RecordError as exc:
        mapped = Mapped(error=exc)
    mapped.where = where
    return mapped


def _included(includes: Any, name: str, problems: list[Mapped]) -> list:
    """``includes.<name>``; when it is not a list, a rejected part of the page (added to ``problems``)
    while the page's own tweets still load. Of its items, tweets that are not objects are rejected
    one by one, users without an id are left out."""
    items = includes.get(name) if isinstance(includes, dict) else None
    if items is not None and not isinstance(items, list):
        problems.append(Mapped(error=RecordError(f"includes.{name}", f"expected a list, got {type(items).__name__}")))
        return []
    return items or []


def _by_id(items: list) -> dict[str, dict]:
    return {key: item for item in items if isinstance(item, dict) and (key := fields.native_id(item.get("id")))}


def _map_page(page: dict) -> list[Mapped]:
    includes = page.get("includes")
    out: list[Mapped] = []
    included_tweets = _included(includes, "tweets", out)
    users, tweets = _by_id(_included(includes, "users", out)), _by_id(included_tweets)
    out += [_guard(lambda t=t: map_tweet(t, users, tweets), f"data[{i}]") for i, t in enumerate(page["data"])]
    out += [
        _guard(lambda t=t: map_tweet(t, users, tweets), f"includes.tweets[{i}]")
        for i, t in enumerate(included_tweets)
    ]
    # the page's users are mapped once, observed when the newest tweet of the page was made
    observed = max((e.created_at for m in out for e in m.events), default=None)
    if observed is not None:
        page_accounts = []
        for i, user in enumerate(users.values()):
            mapped = _guard(lambda u=user: Mapped(accounts=[_user_account(u, observed, "includes.users.")]), f"includes.users[{i}]")
            if mapped.error is None:
                page_accounts += mapped.accounts
            else:
                out.append(mapped)
        out.append(Mapped(accounts=page_accounts))
    return out


def _user_account(user: dict, observed_at, at: str = "user.") -> Account:
    created = user.get("created_at")
    return Account(
        key=account_key(NETWORK, fields.string_id(user, "id", at=at)),
        network=NETWORK,
        observed_at=observed_at,
        handle=fields.optional_str(user, "username", at=at),
        display_name=fields.optional_str(user, "name", at=at),
        followers=fields.optional_int(user, "public_metrics.followers_count", at=at),
        created_at=fields.iso_time(created, f"{at}created_at") if isinstance(created, str) else None,
        profile=profile_json({"website": user.get("url"), "location": user.get("location"),
                              "about": user.get("description"), "image": user.get("profile_image_url")}),
    )


def _referenced_author(ref: dict, tweets: dict) -> str | None:
    """Author id of a referenced tweet: expanded inline, in ``includes``, or unknown."""
    inline = ref.get("tweet") if isinstance(ref.get("tweet"), dict) else ref
    author = fields.native_id(inline.get("author_id")) or fields.native_id(fields.get(inline, "author.id", None))
    if not author and (included := tweets.get(fields.native_id(ref.get("id")) or "")):
        author = fields.native_id(included.get("author_id"))
    return author


def map_tweet(tweet: dict, users: dict, tweets: dict) -> Mapped:
    tweet = fields.require_dict(tweet, "tweet")
    tweet_id = fields.string_id(tweet, "id")
    author_id = fields.string_id(tweet, "author_id")
    created = fields.iso_time(fields.get(tweet, "created_at"), "created_at")
    # a post longer than 280 characters has its whole text, and the entities in all of it, in note_tweet
    # (``text`` and ``entities`` cover only the first 280 characters)
    text = fields.optional_str(tweet, "note_tweet.text") or fields.optional_str(tweet, "text")
    lang = fields.optional_str(tweet, "lang")
    long_entities = fields.get(tweet, "note_tweet.entities", None)
    at = "note_tweet.entities" if isinstance(long_entities, dict) else "entities"
    entities = long_entities if isinstance(long_entities, dict) else (tweet.get("entities") or {})
    if not isinstance(entities, dict):
        raise RecordError("entities", "expected an object")
    tags = fields.hashtags(entities.get("hashtags"), f"{at}.hashtags")
    refs = tweet.get("referenced_tweets") or []
    if not isinstance(refs, list) or not all(isinstance(r, dict) and fields.native_id(r.get("id")) for r in refs):
        raise RecordError("referenced_tweets", "expected a list of {type, id}")
    by_type = {r["type"]: r for r in refs if isinstance(r.get("type"), str)}
    mentions = entities.get("mentions") or []
    if not isinstance(mentions, list):
        raise RecordError(f"{at}.mentions", "expected a list")

    actor = account_key(NETWORK, author_id)
    record_id = f"{NETWORK}:{tweet_id}"
    attrs = json_text({"public_metrics": tweet["public_metrics"]}) if isinstance(tweet.get("public_metrics"), dict) else None

    def event(kind: str, suffix: str = "", target: str | None = None, parent: str | None = None) -> Event:
        return Event(
            event_id=record_id + suffix, network=NETWORK, kind=kind, actor=actor, created_at=created,
            target=target, post_id=tweet_id, parent_post_id=parent, text=text, lang=lang, tags=tags,
            record_id=record_id, attrs=attrs,
        )

    events: list[Event] = []
    primary_target: str | None = None
    if "retweeted" in by_type:
        ref = by_type["retweeted"]
        author = _referenced_author(ref, tweets) or _first_mention_id(mentions)
        primary_target = account_key(NETWORK, author) if author else None
        events.append(event("repost", target=primary_target, parent=fields.native_id(ref["id"])))
    elif "replied_to" in by_type:
        ref = by_type["replied_to"]
        author = fields.optional_str(tweet, "in_reply_to_user_id") or _referenced_author(ref, tweets)
        primary_target = account_key(NETWORK, author) if author else None
        events.append(event("reply", target=primary_target, parent=fields.native_id(ref["id"])))
        if "quoted" in by_type:
            quoted = by_type["quoted"]
            q_author = _referenced_author(quoted, tweets)
            events.append(event("quote", "#quote", account_key(NETWORK, q_author) if q_author else None,
                                fields.native_id(quoted["id"])))
    elif "quoted" in by_type:
        ref = by_type["quoted"]
        author = _referenced_author(ref, tweets)
        primary_target = account_key(NETWORK, author) if author else None
        events.append(event("quote", target=primary_target, parent=fields.native_id(ref["id"])))
    else:
        events.append(event("post"))

    if "retweeted" not in by_type:
        seen = {primary_target, actor}
        for mention in mentions:
            mention_id = fields.native_id(mention.get("id")) if isinstance(mention, dict) else None
            if not mention_id:
                username = mention.get("username") if isinstance(mention, dict) else None
                mention_id = next((key for key, u in users.items() if u.get("username") == username), None)
            if not mention_id:
                continue  # a mention of a handle the API did not resolve to an account
            target = account_key(NETWORK, str(mention_id))
            if target in seen:
                continue
            seen.add(target)
            events.append(event("mention", f"#mention:{mention_id}", target))

    # flattened tweets carry their users inline; a page's users are mapped once by _map_page
    accounts: list[Account] = []
    inline = [tweet.get("author"), tweet.get("in_reply_to_user")]
    inline += [m for m in mentions if isinstance(m, dict) and "name" in m]
    for user in inline:
        if isinstance(user, dict) and user.get("id"):
            accounts.append(_user_account(user, created))
    if author_id not in users and not any(a.key == actor for a in accounts):
        accounts.append(Account(key=actor, network=NETWORK, observed_at=created))
    return Mapped(events=events, accounts=accounts)


def _first_mention_id(mentions: list) -> str | None:
    for mention in mentions:
        if isinstance(mention, dict) and fields.native_id(mention.get("id")):
            return fields.native_id(mention["id"])
    return None
