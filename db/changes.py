"""What a change of the floor or of an alert announces, so that no dashboard reads the database for it.

A transaction that changes what the live views show (a batch of events, a feed's heartbeat or
connection, an alert's change or a notification's outcome) ends by reading the rows it touched and
sending them with NOTIFY (:func:`announce_floor`, :func:`announce_alert`). Every dashboard process
applies them to its live state (dashboard/live_state.py): one database read per change, whatever
the number of dashboard processes and pages.

- Floor changes go to ``callboard_changes``: the rows of the calls (with their holds and survey),
  complaints and agents the batch touched, queue members when announced, and the ingest's
  freshness (``live.freshness``). A payload holds at most 7,999 bytes (PostgreSQL's limit), so a
  batch's rows go in as many payloads as they need, ``part`` 1 to ``parts``; one transaction's
  notifications reach every listener together and in order. A batch whose rows would take more
  than ``PARTS_MAX`` payloads (a feed catching up) says ``everything``: each dashboard then reads
  the whole day once. An import announces ``everything`` now and then instead of each of its
  batches (ingest/backfill.py).
- Alert changes go to ``callboard_alerts``: the alert as ``alert_views.alert`` gives it, or only its
  id when it does not fit in one payload (the dashboards then read that alert).

Each announcing transaction takes one lock (``ANNOUNCE_LOCK``) after its writes and before its
reads, held to its commit: the rows a payload carries were read after every change announced before
it had committed, so the last payload naming a row carries its latest state. The lock is taken by a
statement of its own, so the reads after it see what committed while it waited.

Callers' numbers travel masked (callboard.privacy); complaints' customers not at all.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from callboard.privacy import mask_number

from .queries import QUERIES

CHANNEL = "callboard_changes"
ALERTS_CHANNEL = "callboard_alerts"
# Sessions ended (db/migrations/0017: a trigger announces them; dashboard/session_watch.py).
SESSIONS_CHANNEL = "callboard_sessions"
# pg_advisory_xact_lock's key for announcing transactions (a constant of its own; rollup.sql has others).
ANNOUNCE_LOCK = 7362101829450176931
# PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more.
PAYLOAD_MAX = 7999
# A batch whose rows need more payloads than this makes every dashboard read the whole day instead.
PARTS_MAX = 64
# The fields of the rows announced that hold a moment (sent as ISO 8601 text).
MOMENTS = frozenset({"queued_at", "answered_at", "last_answered_at", "requeued_at", "abandoned_at", "ended_at",
                     "ts", "opened_at", "due", "callback_at", "closed_at", "started_at", "last_commit_at",
                     "heartbeat_at", "raised_at", "acknowledged_at", "resolved_at"})

Key = tuple[str, str]  # (feed, call_id) or (feed, complaint_id)
# A call's columns as live.calls_by_key gives them.
_CALL_COLUMNS = ("feed", "call_id", "queue", "caller", "queued_at", "answered_at", "answered_by", "last_answered_at",
                 "requeued_at", "abandoned_at", "ended_at", "last_agent", "released_by", "resolved")
_batches = itertools.count(1)


@dataclasses.dataclass(frozen=True, slots=True)
class CallRows:
    """A call as stored (``live.calls_by_key``, the caller's number masked), its hold events (ts,
    kind, agent) and survey (agent, score, ts)."""

    call: Mapping[str, Any] | None
    holds: Sequence[Mapping[str, Any]]
    survey: Mapping[str, Any] | None


@dataclasses.dataclass(slots=True)
class TouchedRows:
    """Rows of the live floor by key; a key whose row is gone (or never was) maps to None."""

    calls: dict[Key, CallRows] = dataclasses.field(default_factory=dict)
    complaints: dict[Key, Mapping[str, Any] | None] = dataclasses.field(default_factory=dict)
    agents: dict[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)  # live.agents_by_key
    members: dict[str, Sequence[str]] | None = None  # every queue's, when they were announced

    def update(self, later: TouchedRows) -> None:
        """Take ``later``'s rows over these."""
        self.calls.update(later.calls)
        self.complaints.update(later.complaints)
        self.agents.update(later.agents)
        if later.members is not None:
            self.members = later.members


@dataclasses.dataclass(frozen=True, slots=True)
class Touched:
    """The keys a batch touched."""

    feed: str
    calls: Sequence[str] = ()
    complaints: Sequence[str] = ()
    agents: Sequence[str] = ()
    members: bool = False


async def read_rows(conn: asyncpg.Connection, calls: Sequence[Key], complaints: Sequence[Key],
                    agents: Sequence[str] | None, *, members: bool) -> TouchedRows:
    """The rows of ``calls``, ``complaints``, ``agents`` (every agent when None) and, with
    ``members``, every queue's members: the reads behind both an announcement and a dashboard's
    read of the whole day."""
    rows = TouchedRows()
    if agents is None or agents:
        for r in await conn.fetch(QUERIES["live.agents_by_key"], None if agents is None else list(agents)):
            rows.agents[r["agent"]] = dict(r)
    if members:
        rows.members = {r["queue"]: list(r["agents"]) for r in await conn.fetch(QUERIES["live.queue_members"])}
    if calls:
        for r in await conn.fetch(QUERIES["live.calls_by_key"], [k[0] for k in calls], [k[1] for k in calls]):
            call = {column: r[column] for column in _CALL_COLUMNS} if r["stored"] else None
            if call is not None:
                call["caller"] = mask_number(call["caller"])
            survey = ({"agent": r["survey_agent"], "score": r["survey_score"], "ts": r["survey_ts"]}
                      if r["survey_ts"] is not None else None)
            rows.calls[(r["feed"], r["call_id"])] = CallRows(
                call, [{"ts": ts, "kind": kind, "agent": agent} for ts, kind, agent in r["holds"]], survey)
    if complaints:
        found = {(r["feed"], r["complaint_id"]): dict(r) for r in await conn.fetch(
            QUERIES["live.complaints_by_key"], [k[0] for k in complaints], [k[1] for k in complaints])}
        rows.complaints = {key: found.get(key) for key in complaints}
    return rows


async def announce_floor(conn: asyncpg.Connection, header: Mapping[str, Any], touched: Touched | None) -> None:
    """In a transaction that changed the floor, after its writes: send its ``touched`` rows (None:
    the rows are too many to gather, every dashboard reads the whole day) and the ingest's
    freshness to every dashboard, with ``header`` (what was stored, for the logs and benchmarks)."""
    header = {**header, "written_at": time.time(), "freshness": await _locked_freshness(conn)}
    items = None
    if touched is not None:
        rows = await read_rows(conn, [(touched.feed, c) for c in touched.calls],
                               [(touched.feed, c) for c in touched.complaints], touched.agents,
                               members=touched.members)
        items = _items(rows)
    await conn.execute(QUERIES["changes.notify"], CHANNEL, floor_payloads(header, items))


async def announce_freshness(conn: asyncpg.Connection, feed: str) -> None:
    """In a transaction that changed a feed's heartbeat or connection: send the ingest's freshness."""
    freshness = await _locked_freshness(conn)
    await conn.execute(QUERIES["changes.notify"], CHANNEL, [_json({"feed": feed, "freshness": freshness}).decode()])


async def announce_alert(conn: asyncpg.Connection, alert_id: int) -> None:
    """In a transaction that changed alert ``alert_id`` or one of its notifications, after its writes."""
    await conn.execute(QUERIES["changes.take_announce_lock"], ANNOUNCE_LOCK)
    row = await conn.fetchrow(QUERIES["alert_views.alert"], alert_id)
    payload = _json({"alert": dict(row)}) if row is not None else b""
    if not payload or len(payload) > PAYLOAD_MAX:
        payload = _json({"alert_id": alert_id})
    await conn.execute(QUERIES["changes.notify"], ALERTS_CHANNEL, [payload.decode()])


async def _locked_freshness(conn: asyncpg.Connection) -> dict[str, Any]:
    """Take the announce lock, then read the ingest's freshness (``live.freshness``)."""
    await conn.execute(QUERIES["changes.take_announce_lock"], ANNOUNCE_LOCK)
    return dict(await conn.fetchrow(QUERIES["live.freshness"]))


def may_move_the_floor(payload: str) -> bool:
    """Whether a ``callboard_changes`` payload may announce changed floor rows: all but those of a
    heartbeat or a feed's connection, which carry the ingest's freshness alone."""
    try:
        decoded = json.loads(payload)
    except ValueError:
        return True
    return not (isinstance(decoded, dict) and decoded.keys() <= {"feed", "freshness"})


def floor_payloads(header: Mapping[str, Any], items: Sequence[bytes] | None) -> list[str]:
    """The payloads of one floor change: ``header`` in each, with the row ``items`` (JSON) shared out
    among them in order; one payload saying ``everything`` when the items are None or need more
    than PARTS_MAX payloads."""
    if items is not None:
        batch = f"{os.getpid()}.{next(_batches)}"
        room = PAYLOAD_MAX - len(_json({**header, "batch": batch, "part": PARTS_MAX, "parts": PARTS_MAX,
                                        "rows": []}))
        parts: list[list[bytes]] = [[]]
        used = 0
        for item in items:
            size = len(item) + 1
            if size > room:
                break
            if used + size > room:
                parts.append([])
                used = 0
            parts[-1].append(item)
            used += size
        else:
            if len(parts) <= PARTS_MAX:
                return [(_json({**header, "batch": batch, "part": n, "parts": len(parts)})[:-1]
                         + b',"rows":[' + b",".join(part) + b"]}").decode()
                        for n, part in enumerate(parts, 1)]
    return [_json({**header, "everything": True}).decode()]


def decode_floor(payload: Mapping[str, Any]) -> TouchedRows:
    """The rows of one floor payload (its ``rows``), as :func:`read_rows` gives them."""
    rows = TouchedRows()
    for item in payload["rows"]:
        kind = item[0]
        if kind == "call":
            _, feed, call_id, call, holds, survey = item
            rows.calls[(feed, call_id)] = CallRows(moments(call), [moments(h) for h in holds], moments(survey))
        elif kind == "complaint":
            _, feed, complaint_id, complaint = item
            rows.complaints[(feed, complaint_id)] = moments(complaint)
        elif kind == "agent":
            rows.agents[item[1]["agent"]] = moments(item[1])
        elif kind == "members":
            rows.members = item[1]
    return rows


def moments(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``row`` as read from the database: its MOMENTS from ISO 8601 text to datetimes."""
    if row is None:
        return None
    return {field: datetime.fromisoformat(value) if field in MOMENTS and value is not None else value
            for field, value in row.items()}


def _items(rows: TouchedRows) -> list[bytes]:
    """``rows`` as JSON, one item per row (a call with its holds and survey), agents first as a
    dashboard reads them."""
    items: list[tuple[Any, ...]] = [("agent", row) for row in rows.agents.values()]
    if rows.members is not None:
        items.append(("members", rows.members))
    items += [("call", feed, call_id, r.call, r.holds, r.survey) for (feed, call_id), r in rows.calls.items()]
    items += [("complaint", feed, complaint_id, row) for (feed, complaint_id), row in rows.complaints.items()]
    return [_json(item) for item in items]


def _json(value: Any) -> bytes:
    """``value`` as JSON, its moments as ISO 8601 text."""
    return orjson.dumps(value)
