"""Stanford SNAP activity files (e.g. the Higgs Twitter dataset).

One interaction per line, space-separated, no header: ``actor target
unix_seconds type`` where ``type`` is ``RT`` (retweet → ``repost``), ``MT``
(mention) or ``RE`` (reply). Ids are anonymised integers, so accounts live in
their own network, ``snap`` (they are not Twitter ids). Records carry no id of
their own: the event id is the line's content, so re-ingesting dedupes and two
identical lines are one event.
"""

from __future__ import annotations

import re

from renown.errors import RecordError
from renown.events import Account, Event, Mapped, account_key
from renown.ingest import fields

NAME = "snap"
NETWORK = "snap"
KINDS = {"RT": "repost", "MT": "mention", "RE": "reply"}
_LINE = re.compile(rb"^\s*\d+\s+\d+\s+\d+\s+(RT|MT|RE)\s*$")


def sniff_text(head: str) -> bool:
    lines = [line for line in head.splitlines()[:20] if line.strip()]
    return bool(lines) and all(_LINE.match(line.encode()) for line in lines[:-1] or lines)


def parse_line(line: bytes) -> list[str]:
    return line.decode("utf-8", errors="replace").split()


def map_record(value, context: dict) -> list[Mapped]:
    if not isinstance(value, list) or len(value) != 4:
        raise RecordError("line", f"expected 4 space-separated fields (actor target unix_seconds type), got {len(value) if isinstance(value, list) else value!r}")
    actor_id, target_id, seconds, kind_code = value
    for name, item in (("actor", actor_id), ("target", target_id)):
        if not (item.isascii() and item.isdigit()):
            raise RecordError(name, f"expected an integer id, got {item!r}")
    if kind_code not in KINDS:
        raise RecordError("type", f"expected RT, MT or RE, got {kind_code!r}")
    created = fields.unix_time(seconds, "unix_seconds")
    actor, target = account_key(NETWORK, actor_id), account_key(NETWORK, target_id)
    record_id = f"{NETWORK}:{actor_id}-{target_id}-{seconds}-{kind_code}"
    event = Event(event_id=record_id, network=NETWORK, kind=KINDS[kind_code], actor=actor, target=target,
                  created_at=created, record_id=record_id)
    return [Mapped(events=[event], accounts=[Account(key=actor, network=NETWORK, observed_at=created),
                                             Account(key=target, network=NETWORK, observed_at=created)])]
