"""Calls and complaints are named by (feed, id): two telephony systems that both say "c1" have two
calls, and the migration that brought the feed into their keys carried every existing row over."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from callboard.metrics import Thresholds
from dashboard.data import LiveData
from db.migrate import applied_versions, migrate
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import database_before

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat()


async def write(pool, feed: str, events: list[dict]) -> None:
    frame = [{"id": f"{feed}-{n}", **event} for n, event in enumerate(events)]
    await EventWriter(pool, feed).write([Received(NOW, *parse_message(json.dumps(frame)))])


# Each site numbers its calls and complaints from 1, and both have a "c1" and a "k1".
NORTH = [
    {"type": "agent.state", "ts": ago(900), "agent": "n1", "state": "on_call", "name": "North One"},
    {"type": "call.queued", "ts": ago(600), "call_id": "c1", "queue": "billing", "caller": "+86 138 0000 0001"},
    {"type": "call.answered", "ts": ago(590), "call_id": "c1", "agent": "n1"},
    {"type": "call.hold_started", "ts": ago(300), "call_id": "c1", "agent": "n1"},
    {"type": "complaint.opened", "ts": ago(800), "complaint_id": "k1", "agent": "n1", "call_id": "c1",
     "customer": "Li", "due": ago(-3600)},
]
SOUTH = [
    {"type": "agent.state", "ts": ago(900), "agent": "s1", "state": "available", "name": "South One"},
    {"type": "call.queued", "ts": ago(200), "call_id": "c1", "queue": "billing", "caller": "+86 138 0000 0002"},
    {"type": "call.abandoned", "ts": ago(170), "call_id": "c1"},
    {"type": "call.hold_ended", "ts": ago(100), "call_id": "c1", "agent": "s1"},  # a stray end, of south's c1 only
    {"type": "complaint.opened", "ts": ago(700), "complaint_id": "k1", "agent": "s1", "call_id": "c1",
     "customer": "Wu", "due": ago(60)},
]


async def test_two_feeds_with_the_same_call_and_complaint_ids_have_two_of_each(pool):
    await write(pool, "north", NORTH)
    await write(pool, "south", SOUTH)
    snapshot = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).snapshot(since=NOW - timedelta(hours=1),
                                                                                   now=NOW)
    # north's c1 was answered after 10 s; south's c1 hung up after 30 s: one offered call each.
    [billing] = snapshot["queues"]
    assert (billing["offered"], billing["answered"], billing["abandoned"]) == (2, 1, 1)
    # north's hold runs on (south's hold end names south's c1, not north's): 300 s, over the limit.
    assert [(h["feed"], h["call_id"], h["hold_s"]) for h in snapshot["holds_over_limit"]] == [("north", "c1", 300.0)]
    assert [(a["feed"], a["call_id"]) for a in snapshot["abandoned_calls"]] == [("south", "c1")]
    # Both complaints wait for their callback: south's is a minute overdue, north's due in an hour.
    assert [(k["feed"], k["complaint_id"], k["overdue"]) for k in snapshot["complaints_open"]] == [
        ("south", "k1", True), ("north", "k1", False)]


async def test_a_calls_timeline_is_the_timeline_of_its_own_feed(pool):
    await write(pool, "north", NORTH)
    await write(pool, "south", SOUTH)
    live = LiveData(pool, Thresholds(), UTC, stale_after_s=30)
    assert [(e["type"], e["agent"]) for e in await live.call_timeline("south", "c1")] == [
        ("complaint.opened", "s1"), ("call.queued", None), ("call.abandoned", None), ("call.hold_ended", "s1")]
    assert [(e["type"], e["agent"]) for e in await live.call_timeline("north", "c1")] == [
        ("complaint.opened", "n1"), ("call.queued", None), ("call.answered", "n1"), ("call.hold_started", "n1")]


async def test_the_migration_gives_existing_rows_the_feed_of_their_events(database_url, tmp_path):
    """A database made before calls were keyed by feed: its rows take their events' feed."""
    conn = await database_before(database_url, tmp_path, 5)
    try:
        await conn.execute("""
            INSERT INTO feeds (feed) VALUES ('pbx-a'), ('pbx-b');
            INSERT INTO event_log (feed, event_id, type, ts, call_id, received_at, body) VALUES
                ('pbx-a', 'e1', 'call.queued', now(), 'c1', now(), '{}'),
                ('pbx-b', 'e2', 'call.queued', now(), 'c2', now(), '{}'),
                ('pbx-b', 'e3', 'complaint.opened', now(), 'c2', now(), '{"complaint_id": "k2"}');
            INSERT INTO calls (call_id, queue, queued_at, answered_at) VALUES
                ('c1', 'billing', now(), now()), ('c2', 'sales', now(), now());
            INSERT INTO hold_events (call_id, ts, kind, agent) VALUES ('c2', now(), 'start', 'a1');
            INSERT INTO surveys (call_id, agent, score, ts) VALUES ('c1', 'a1', 5, now());
            INSERT INTO complaints (complaint_id, agent, call_id, due) VALUES ('k2', 'a1', 'c2', now());
        """)
        await migrate(conn)
        assert 5 in await applied_versions(conn)
        assert [tuple(r) for r in await conn.fetch("SELECT feed, call_id FROM calls ORDER BY call_id")] == [
            ("pbx-a", "c1"), ("pbx-b", "c2")]
        assert await conn.fetchval("SELECT feed FROM hold_spans") == "pbx-b"
        assert await conn.fetchval("SELECT feed FROM surveys") == "pbx-a"
        assert await conn.fetchval("SELECT feed FROM complaints") == "pbx-b"
        keys = {r["table_name"]: r["columns"] for r in await conn.fetch("""
            SELECT t.relname AS table_name, array_agg(a.attname ORDER BY k.ord) AS columns
            FROM pg_index i
            JOIN pg_class t ON t.oid = i.indrelid
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE i.indisprimary AND t.relname IN ('calls', 'hold_events', 'surveys', 'complaints')
            GROUP BY t.relname""")}
        assert keys == {"calls": ["feed", "call_id"], "hold_events": ["feed", "call_id", "ts", "kind"],
                        "surveys": ["feed", "call_id"], "complaints": ["feed", "complaint_id"]}
    finally:
        await conn.close()
