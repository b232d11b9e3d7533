"""Typed field access for mappers: every failure names the field that failed."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from renown.errors import RecordError

_MISSING = object()


def get(record: Any, path: str, default: Any = _MISSING, at: str = "") -> Any:
    """Follow a dotted path through nested dicts; missing -> ``default`` or RecordError.

    ``at`` prefixes the field name in errors when ``record`` is nested in a
    larger record (``at="tweet."`` reports ``tweet.id_str``)."""
    parts = _PARTS.get(path)
    if parts is None:
        parts = _PARTS[path] = tuple(path.split("."))
    value = record
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            if default is _MISSING:
                raise RecordError(at + path, "missing")
            return default
    return value


#: Dotted paths split once: mappers call :func:`get` several times per record with the same few paths.
_PARTS: dict[str, tuple[str, ...]] = {}


def listed(value: Any) -> list:
    """An optional list of extras (facets, profile fields, link entities): anything but a list reads
    as none, so a malformed extra does not cost the record it decorates."""
    return value if isinstance(value, list) else []


def require_dict(record: Any, what: str = "record") -> dict:
    if not isinstance(record, dict):
        raise RecordError(what, f"expected a JSON object, got {type(record).__name__}")
    return record


def string_id(record: Any, path: str, at: str = "") -> str:
    """An id field; the APIs send ids as strings, archives sometimes as numbers."""
    value = get(record, path, at=at)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(at + path, f"expected a string id, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise RecordError(at + path, "empty id")
    return text


def optional_str(record: Any, path: str, at: str = "") -> str | None:
    value = get(record, path, None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(at + path, f"expected a string, got {type(value).__name__}")
    return value


def native_id(value: Any) -> str | None:
    """``value`` as an id when it is one (a non-empty string, or an integer), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip() or None


def optional_int(record: Any, path: str, at: str = "") -> int | None:
    """An integer that may be absent (numeric strings accepted); it must fit 64 bits, as stored."""
    value = get(record, path, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise RecordError(at + path, f"expected an integer, got {value!r}") from None
    if not -(2**63) <= value < 2**63:
        raise RecordError(at + path, f"integer out of range: {value}")
    return value


_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _checked(dt: datetime, path: str) -> datetime:
    dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    if not (_EARLIEST <= dt < _LATEST):
        raise RecordError(path, f"timestamp out of range: {dt.isoformat()}")
    return dt


def iso_time(value: Any, path: str) -> datetime:
    """ISO 8601 (``2022-11-02T15:04:05.000Z``), as the v2 APIs, Mastodon and Bluesky send."""
    if not isinstance(value, str):
        raise RecordError(path, f"expected an ISO 8601 timestamp, got {type(value).__name__}")
    try:
        return _checked(datetime.fromisoformat(value), path)
    except ValueError:
        raise RecordError(path, f"not an ISO 8601 timestamp: {value!r}") from None


def unix_time(value: Any, path: str, scale: float = 1.0) -> datetime:
    """Seconds (or seconds × ``scale``) since the epoch; accepts numeric strings."""
    if isinstance(value, bool):
        raise RecordError(path, "expected a number, got a boolean")
    try:
        seconds = float(value) / scale
    except (TypeError, ValueError):
        raise RecordError(path, f"not a Unix timestamp: {value!r}") from None
    try:
        return _checked(datetime.fromtimestamp(seconds, tz=timezone.utc), path)
    except (OverflowError, OSError, ValueError):
        raise RecordError(path, f"timestamp out of range: {value!r}") from None


def classic_twitter_time(value: Any, path: str) -> datetime:
    """``Wed Oct 10 20:19:24 +0000 2018`` as in the archive and v1.1 API."""
    if not isinstance(value, str):
        raise RecordError(path, f"expected a timestamp string, got {type(value).__name__}")
    try:
        return _checked(datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y"), path)
    except ValueError:
        pass
    try:
        return _checked(parsedate_to_datetime(value), path)
    except (TypeError, ValueError):
        raise RecordError(path, f"not a Twitter timestamp: {value!r}") from None


def any_time(value: Any, path: str) -> datetime:
    """ISO 8601 or Unix seconds, for CSV and other hand-made exports."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return unix_time(value, path)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise RecordError(path, "missing")
        try:
            float(text)
        except ValueError:
            return iso_time(text, path)
        return unix_time(text, path)
    raise RecordError(path, f"not a timestamp: {value!r}")


def hashtags(values: Any, path: str, key: str = "tag") -> list[str]:
    """Lower-cased hashtag names from a list of ``{key: name}`` objects or strings."""
    if values is None:
        return []
    if not isinstance(values, list):
        raise RecordError(path, f"expected a list, got {type(values).__name__}")
    tags = []
    for item in values:
        name = item.get(key) if isinstance(item, dict) else item
        tag = name.strip().lstrip("#").lower() if isinstance(name, str) else ""
        if tag:  # a bare "#" names no tag
            tags.append(tag)
    return tags
