"""CSV events, for any network without a dedicated mapper and for CRM exports.

Header row with at least ``event_id,network,kind,actor,target,created_at``
(separated by commas, or by semicolons or tabs as spreadsheets export them in
many locales: the header decides);
optional ``post_id,parent_post_id,text,tags,lang``. ``actor`` and ``target``
are native ids of ``network`` (``target`` empty for a plain post);
``created_at`` is ISO 8601 or Unix seconds; ``tags`` are ``;``-separated.
Any other column is kept in ``attrs``. ``kind`` is one of
:data:`renown.events.KINDS`.

Offline (CRM) signals use the same columns, with the network ``crm`` (or any
name) and the customer id as ``actor``:

=========== ============================== ====================================
kind        target                         extra columns
=========== ============================== ====================================
referral    the referred customer          ``value``: revenue it brought (number)
purchase    (empty)                        ``value``: amount (number)
nps         (empty)                        ``score``: 0–10 (required), ``comment``
support     (empty)                        ``channel``, ``comment``
=========== ============================== ====================================
"""

from __future__ import annotations

from typing import Any

import orjson

from renown.csvfiles import columns, delimiter_for
from renown.errors import FormatError, RecordError
from renown.events import KINDS, Account, Event, Mapped, account_key
from renown.ingest import fields

NAME = "csv"
REQUIRED = ("event_id", "network", "kind", "actor", "target", "created_at")
OPTIONAL = ("post_id", "parent_post_id", "text", "tags", "lang")


def delimiter_of(header: str, name: str) -> str:
    """The separator under which ``header`` names every required column; FormatError if none does."""
    delimiter = delimiter_for(header, REQUIRED)
    if delimiter is not None:
        return delimiter
    missing = [c for c in REQUIRED if c not in columns(header)]
    raise FormatError(f"{name}: CSV header lacks required column(s) {', '.join(missing)}; need {','.join(REQUIRED)} "
                      "(separated by commas, semicolons or tabs)")


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def map_record(value: Any, context: dict) -> list[Mapped]:
    row = fields.require_dict(value, "row")
    for column in ("event_id", "network", "kind", "actor"):
        if not _cell(row, column):
            raise RecordError(column, "missing")
    network = _cell(row, "network").lower()
    kind = _cell(row, "kind").lower()
    if kind not in KINDS:
        raise RecordError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    created = fields.any_time(_cell(row, "created_at"), "created_at")
    actor = account_key(network, _cell(row, "actor"))
    target = account_key(network, _cell(row, "target")) if _cell(row, "target") else None
    tags = [t.strip().lstrip("#").lower() for t in _cell(row, "tags").split(";") if t.strip()]
    extras = {k: v for k, v in row.items() if k not in REQUIRED and k not in OPTIONAL and k is not None and v not in (None, "")}
    if kind in ("referral", "purchase") and "value" in extras:
        try:
            extras["value"] = float(extras["value"])
        except ValueError:
            raise RecordError("value", f"expected a number, got {extras['value']!r}") from None
    if kind == "nps":
        try:
            extras["score"] = int(extras.get("score", ""))
        except ValueError:
            raise RecordError("score", f"expected an NPS answer 0-10, got {extras.get('score')!r}") from None
        if not 0 <= extras["score"] <= 10:
            raise RecordError("score", f"expected an NPS answer 0-10, got {extras['score']}")
    if kind == "referral" and target is None:
        raise RecordError("target", "a referral needs the referred customer")
    record_id = f"{network}:{_cell(row, 'event_id')}"
    event = Event(
        event_id=record_id, network=network, kind=kind, actor=actor, created_at=created, target=target,
        post_id=_cell(row, "post_id") or None, parent_post_id=_cell(row, "parent_post_id") or None,
        text=_cell(row, "text") or None, lang=_cell(row, "lang") or None, tags=tags, record_id=record_id,
        attrs=orjson.dumps(extras).decode() if extras else None,
    )
    accounts = [Account(key=actor, network=network, observed_at=created)]
    if target:
        accounts.append(Account(key=target, network=network, observed_at=created))
    return [Mapped(events=[event], accounts=accounts)]
