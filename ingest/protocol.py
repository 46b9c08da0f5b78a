"""The event protocol v1: turn one websocket message into accepted events and rejects.

A message is one JSON event or a JSON array of events. Each event is checked against
``event_schema.json`` (documented in ``docs/events.md``); anything that fails becomes a
:class:`Rejected` with a readable reason, and the rest of the message still counts.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

SCHEMA_PATH = Path(__file__).with_name("event_schema.json")


# Not frozen: a frozen dataclass costs three times as much to build, and an import builds millions.
@dataclasses.dataclass(slots=True)
class Event:
    id: str
    type: str
    ts: datetime
    seq: int | None
    body: dict[str, Any]
    raw: str  # the event's JSON text, stored as it came


@dataclasses.dataclass(frozen=True, slots=True)
class Rejected:
    kind: str  # see docs/events.md: not_utf8, not_json, not_an_event, unknown_type, schema, bad_timestamp, storage,
    # source (from a source adapter: docs/integrations.md)
    reason: str
    raw: str
    event_id: str | None = None


EVENT_TYPES = frozenset(json.loads(SCHEMA_PATH.read_text())["$defs"])


@cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def parse_message(message: str | bytes) -> tuple[list[Event], list[Rejected]]:
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = message.decode("utf-8", errors="replace")
            return [], [Rejected("not_utf8", f"message is not valid UTF-8 ({exc.reason} at byte {exc.start})", text)]
    try:
        decoded = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        return [], [Rejected("not_json", f"message is not JSON: {exc}", message)]
    items = decoded if isinstance(decoded, list) else [decoded]
    may_hold_nul = "\\u0000" in message
    events, rejects = [], []
    for item in items:
        outcome = parse_event(item, message if item is decoded else None, may_hold_nul)
        (events if isinstance(outcome, Event) else rejects).append(outcome)
    return events, rejects


def parse_event(item: Any, raw: str | None = None, may_hold_nul: bool = True,
                written_from: datetime | None = None) -> Event | Rejected:
    """Check one decoded JSON value; ``raw`` is its original text when known. A translator that
    wrote the event's ``ts`` from a datetime (``datetime.isoformat``, always RFC 3339 with an offset)
    passes it as ``written_from``, which spares reading the text back."""
    if raw is None:
        raw = orjson.dumps(item).decode()
    if not isinstance(item, dict):
        return Rejected("not_an_event", f"expected a JSON object, got {type(item).__name__}", raw)
    if may_hold_nul and _holds_nul(item):
        return Rejected("schema", "a string holds a NUL character (\\u0000), which cannot be stored", raw)
    event_id = item.get("id") if isinstance(item.get("id"), str) else None
    if isinstance(item.get("type"), str) and item["type"] not in EVENT_TYPES:
        return Rejected("unknown_type", f"unknown event type {item['type']!r}", raw, event_id)
    validator = _validator()
    if not validator.is_valid(item):
        error = next(validator.iter_errors(item))
        where = "/".join(str(part) for part in error.instance_path) or "event"
        return Rejected("schema", f"{item.get('type', 'event')}: {where}: {error.message}", raw, event_id)
    try:
        ts = written_from or _timestamp(item["ts"])
        if "due" in item:
            _timestamp(item["due"])
    except ValueError as exc:
        return Rejected("bad_timestamp", f"{item['type']}: {exc}", raw, event_id)
    seq = item.get("seq")
    return Event(item["id"], item["type"], ts, None if seq is None else int(seq), item, raw)  # 5.0 is an integer too


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


# RFC 3339 date-time. Python's ISO 8601 parser alone also takes week dates, hour-only times and
# comma fractions, which PostgreSQL (reading `due`) and many readers of the event log do not.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


def _timestamp(text: str) -> datetime:
    try:
        if not _RFC3339.fullmatch(text):
            raise ValueError
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. 2026-01-31T09:00:00+08:00)")
    return value
