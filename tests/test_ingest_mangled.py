"""A mangled record is quarantined, never a crash: every mapper, fed its own fixture records with
values swapped for other JSON types or removed (JSON formats) or text fields swapped for odd text
(CSV, SNAP, Stack Exchange), either maps them into rows the staging schema accepts or raises
:class:`RecordError` (which the pipeline quarantines with file, line and field). Any other
exception would stop the whole ingest on one bad line."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fuzzing import fuzz_settings
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from renown.errors import RecordError
from renown.events import ACCOUNT_SCHEMA, EVENT_SCHEMA, KINDS
from renown.ingest.formats import detect
from renown.ingest.sources import discover

FIXTURES = Path(__file__).parent / "fixtures"
JSON_SOURCES = ["twarc2/flattened.jsonl", "twarc2/search_page.jsonl", "bluesky/jetstream.jsonl",
                "reddit/RC_2023-01.ndjson", "reddit/RS_2023-01.ndjson", "mastodon/statuses.json",
                "mastodon/notifications.json", "twitter-archive", "mastodon-archive", "bluesky-repo/repo.car"]
#: Values of every JSON type, including the awkward ones (huge integers, empty containers).
ODD_VALUES = st.sampled_from([None, True, False, 0, -1, 2**70, 1.5, -1e300, "", " ", "x", "0", "did:x", "at://x",
                              "at://did:x/y", "@", "#", [], [None], [1, "a"], [{}], {}, {"a": None}, {"id": 5}])


@functools.cache
def _fixture(name: str) -> tuple:
    source = discover([FIXTURES / name])[0]
    fmt = detect(source)
    records, context = fmt.read(source)
    values = [r.value for r in records if r.error is None]
    assert values, name
    return fmt, values, context


def _places(value: Any, at: tuple = ()) -> list[tuple]:
    """Every position in a nested JSON value, the value itself first."""
    places = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            places += _places(item, at + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _places(item, at + (index,))
    return places


def _mangled(value: Any, at: tuple, new: Any, remove: bool) -> Any:
    if not at:
        return new
    value = copy.deepcopy(value)
    parent = value
    for step in at[:-1]:
        parent = parent[step]
    if remove and isinstance(parent, dict):
        del parent[at[-1]]
    else:
        parent[at[-1]] = new
    return value


def _stageable(rows: list, schema: pa.Schema) -> None:
    """Convert rows as the staging area does: a wrong type raises here, as it would there."""
    for column, name in enumerate(schema.names):
        pa.array([row[column] for row in rows], schema.field(name).type)


def _check_mapping(fmt, value: Any, context: dict) -> None:
    """``value`` maps into rows the staging schema takes, or raises RecordError; nothing else."""
    try:
        mapped = fmt.map_record(value, copy.deepcopy(context))
    except RecordError:
        return
    events = [e for m in mapped if m.error is None for e in m.events]
    accounts = [a for m in mapped if m.error is None for a in m.accounts]
    for m in mapped:
        assert m.error is None or isinstance(m.error, RecordError), m.error
    assert all(e.kind in KINDS and e.created_at.tzinfo is not None for e in events)
    _stageable([tuple(getattr(e, c) for c in EVENT_SCHEMA.names) for e in events], EVENT_SCHEMA)
    _stageable([tuple(getattr(a, c) for c in ACCOUNT_SCHEMA.names) for a in accounts], ACCOUNT_SCHEMA)


TEXT_SOURCES = ["csv/events.csv", "snap/activity.txt", "stackexchange/ham.radio"]
#: Text fields as CSV cells, SNAP columns and XML attributes carry them: numbers out of range, odd dates, markup.
ODD_TEXT = st.sampled_from(["", " ", "x", "0", "-1", "1.5", "1e400", "NaN", "inf", "9" * 30, "-9223372036854775809",
                            "\x00", "é", "True", "2024-13-45", "2024-03-01T10:00:00Z", "1341100972", "t1_", ";", ";;",
                            "<p>", "&amp;", "RT", "MT", "RE"])


def _text_places(value: Any, at: tuple = ()) -> list[tuple[tuple, bool]]:
    """Positions of the text in a record, and whether it may be absent (a field, not a column);
    the reader's own structure is kept (a Stack Exchange row's table name)."""
    if isinstance(value, dict):
        return [(at + (key,), True) for key, item in value.items() if isinstance(item, str) or item is None]
    if isinstance(value, list):
        return [(at + (index,), False) for index, item in enumerate(value) if isinstance(item, str)]
    if isinstance(value, tuple):
        return [p for index, item in enumerate(value) if index for p in _text_places(item, at + (index,))]
    return []


def _retexted(value: Any, at: tuple, new: str | None) -> Any:
    if not at:
        return new
    if isinstance(value, tuple):
        return tuple(_retexted(item, at[1:], new) if i == at[0] else item for i, item in enumerate(value))
    value = copy.copy(value)
    value[at[0]] = _retexted(value[at[0]], at[1:], new)
    return value


def _json_step(value: Any, data: st.DataObject) -> Any:
    at = data.draw(st.sampled_from(_places(value)))
    return _mangled(value, at, data.draw(ODD_VALUES), data.draw(st.booleans()))


def _text_step(value: Any, data: st.DataObject) -> Any:
    places = _text_places(value)
    if not places:
        return value
    at, optional = data.draw(st.sampled_from(places))
    return _retexted(value, at, data.draw(ODD_TEXT | st.none() if optional else ODD_TEXT))


@pytest.mark.parametrize("name, step", [(n, _json_step) for n in JSON_SOURCES] + [(n, _text_step) for n in TEXT_SOURCES],
                         ids=JSON_SOURCES + TEXT_SOURCES)
@fuzz_settings(150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mangled_record_maps_or_is_rejected_never_crashes(name: str, step, data: st.DataObject) -> None:
    fmt, values, context = _fixture(name)
    value = data.draw(st.sampled_from(values))
    for _ in range(data.draw(st.integers(1, 3))):
        value = step(value, data)
    _check_mapping(fmt, value, context)
