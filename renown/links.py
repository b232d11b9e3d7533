"""Links to a post on its own network, from what the event log keeps: its author's key and its id.

An explanation names the posts behind a score; a link lets a reader open one. Only posts whose
ids are global get one: a Mastodon status id from the REST API is local to the instance that served
it (the same post has another id on every other instance) — the account archive's status URIs are
global, and open the post on the author's own instance —, and a Reddit comment's address needs its
thread's id, which the comment's own id does not carry.
"""

from __future__ import annotations

import re

_BLUESKY_POST = re.compile(r"at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]+)")
_DIGITS = re.compile(r"[0-9]+")
_REDDIT_SUBMISSION = re.compile(r"t3_([a-z0-9]+)")
_MASTODON_STATUS = re.compile(r"https://([a-z0-9.-]+)/users/[A-Za-z0-9_]+/statuses/[0-9]+")


def post_url(author: str, post_id: str) -> str | None:
    """The public address of post ``post_id`` by account ``author`` (``network:native-id``), or None."""
    network = author.split(":", 1)[0]
    if network == "twitter" and _DIGITS.fullmatch(post_id):
        return f"https://x.com/i/web/status/{post_id}"
    if network == "bluesky" and (match := _BLUESKY_POST.fullmatch(post_id)):
        return f"https://bsky.app/profile/{match.group(1)}/post/{match.group(2)}"
    if network == "reddit" and (match := _REDDIT_SUBMISSION.fullmatch(post_id)):
        return f"https://www.reddit.com/comments/{match.group(1)}/"
    if network == "mastodon" and (match := _MASTODON_STATUS.fullmatch(post_id)) and author.endswith("@" + match.group(1)):
        return post_id  # its ActivityPub id, on the author's instance: a browser is shown the post
    return None
