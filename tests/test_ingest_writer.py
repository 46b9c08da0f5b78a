"""The writer: events into the log and the floor state in one transaction, idempotent, order-free."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

T0 = "2026-11-23T09:00:00+00:00"


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(datetime.fromisoformat(T0).timestamp() + seconds, UTC).isoformat()


def received(*events: dict) -> Received:
    return Received(datetime.now(UTC), *parse_message(json.dumps(list(events))))


CALL = [
    {"id": "e1", "seq": 1, "type": "agent.state", "ts": ts(0), "agent": "a1", "state": "available",
     "name": "王芳", "team": "east"},
    {"id": "e2", "seq": 2, "type": "call.queued", "ts": ts(10), "call_id": "c1", "queue": "billing",
     "caller": "+86 138 0000 0001"},
    {"id": "e3", "seq": 3, "type": "call.answered", "ts": ts(22), "call_id": "c1", "agent": "a1"},
    {"id": "e4", "seq": 4, "type": "call.hold_started", "ts": ts(40), "call_id": "c1", "agent": "a1"},
    {"id": "e5", "seq": 5, "type": "call.hold_ended", "ts": ts(115), "call_id": "c1", "agent": "a1"},
    {"id": "e6", "seq": 6, "type": "call.ended", "ts": ts(200), "call_id": "c1", "agent": "a1",
     "released_by": "agent", "resolved": False},
    {"id": "e7", "seq": 7, "type": "complaint.opened", "ts": ts(201), "complaint_id": "k1", "agent": "a1",
     "call_id": "c1", "customer": "李娜", "due": ts(201 + 7200), "severity": "high"},
    {"id": "e8", "seq": 8, "type": "survey.completed", "ts": ts(260), "call_id": "c1", "agent": "a1", "score": 2},
    {"id": "e9", "seq": 9, "type": "complaint.callback_made", "ts": ts(3000), "complaint_id": "k1", "agent": "a1"},
]


async def floor_state(pool) -> dict:
    async with pool.acquire() as conn:
        return {
            table: [dict(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in ("calls", "hold_spans", "agents", "agent_states", "complaints", "surveys")
        }


async def test_a_call_lands_in_the_log_and_the_floor_state(pool):
    result = await EventWriter(pool, "pbx").write([received(*CALL)])
    assert (result.stored, result.duplicates, result.dead_lettered) == (9, 0, 0)
    state = await floor_state(pool)
    [call] = state["calls"]
    assert (call["queue"], call["answered_by"]) == ("billing", "a1")
    assert (call["released_by"], call["resolved"]) == ("agent", False)
    assert (call["answered_at"] - call["queued_at"]).total_seconds() == 12
    [hold] = state["hold_spans"]
    assert (hold["ended_at"] - hold["started_at"]).total_seconds() == 75
    assert state["agents"] == [{"agent": "a1", "name": "王芳", "team": "east"}]
    [complaint] = state["complaints"]
    assert complaint["customer"] == "李娜" and complaint["callback_agent"] == "a1"
    assert state["surveys"][0]["score"] == 2
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT last_seq FROM feeds WHERE feed = 'pbx'") == 9


async def test_repeated_events_are_stored_once(pool):
    writer = EventWriter(pool, "pbx")
    await writer.write([received(*CALL)])
    before = await floor_state(pool)
    again = await writer.write([received(*CALL), received(*CALL[:3])])
    assert (again.stored, again.duplicates) == (0, 12)
    assert await floor_state(pool) == before
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_log") == 9


async def test_order_of_arrival_does_not_change_the_floor_state(pool, database_url):
    await EventWriter(pool, "pbx").write([received(*CALL)])
    in_order = await floor_state(pool)
    async with pool.acquire() as conn:
        for table in ("event_log", "calls", "hold_events", "agents", "agent_states", "complaints", "surveys"):
            await conn.execute(f"DELETE FROM {table}")
    shuffled = CALL[:]
    random.Random(7).shuffle(shuffled)
    writer = EventWriter(pool, "pbx")
    for event in shuffled:  # one transaction per event, in a scrambled order
        await writer.write([received(event)])
    assert await floor_state(pool) == in_order


async def test_bad_input_is_dead_lettered_and_good_events_still_stored(pool):
    good = CALL[1]
    batch = [
        Received(datetime.now(UTC), *parse_message("not json at all")),
        Received(datetime.now(UTC), *parse_message(b"\xff\xfe\x00")),
        received({"id": "x1", "type": "call.queued", "ts": ts(1), "call_id": "c9", "queue": "billing"}),
        received({"id": "x2", "type": "call.teleported", "ts": ts(1), "call_id": "c9"}),
        received({"id": "x3", "type": "survey.completed", "ts": ts(1), "call_id": "c9", "agent": "a1", "score": "5"}),
        received({"id": "x4", "type": "call.abandoned", "ts": "yesterday", "call_id": "c9"}),
        received(good),
    ]
    result = await EventWriter(pool, "pbx").write(batch)
    assert (result.stored, result.dead_lettered) == (1, 6)
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT kind, reason, event_id, raw FROM dead_letters ORDER BY id")
    assert [r["kind"] for r in rows] == ["not_json", "not_utf8", "schema", "unknown_type", "schema", "bad_timestamp"]
    assert '"caller" is a required property' in rows[2]["reason"]
    assert "call.teleported" in rows[3]["reason"]
    assert rows[4]["event_id"] == "x3" and "score" in rows[4]["reason"]
    assert rows[0]["raw"] == "not json at all"


async def test_a_call_answered_but_never_queued_is_dead_lettered_after_the_grace_period(pool):
    writer = EventWriter(pool, "pbx")
    orphan = [
        {"id": "o1", "seq": 20, "type": "call.answered", "ts": ts(30), "call_id": "ghost", "agent": "a1"},
        {"id": "o2", "seq": 21, "type": "call.hold_started", "ts": ts(40), "call_id": "ghost", "agent": "a1"},
        {"id": "o3", "seq": 22, "type": "call.ended", "ts": ts(90), "call_id": "ghost", "agent": "a1",
         "released_by": "customer"},
    ]
    await writer.write([received(*CALL), received(*orphan)])
    assert await writer.dead_letter_calls_never_queued(after_s=3600) == []  # still within the grace period
    assert await writer.dead_letter_calls_never_queued(after_s=0) == ["ghost"]
    async with pool.acquire() as conn:
        letters = await conn.fetch("SELECT kind, reason, event_id FROM dead_letters ORDER BY event_id")
        calls = [r["call_id"] for r in await conn.fetch("SELECT call_id FROM calls")]
        logged = await conn.fetchval("SELECT count(*) FROM event_log WHERE call_id = 'ghost'")
    assert [(r["kind"], r["event_id"]) for r in letters] == [
        ("impossible_transition", "o1"), ("impossible_transition", "o2"), ("impossible_transition", "o3")]
    assert letters[0]["reason"].startswith("call.answered for call ghost, which was never queued")
    assert calls == ["c1"] and logged == 0  # the real call is untouched; the ghost is gone


async def test_a_seq_written_as_a_whole_float_is_an_integer(pool):
    # JSON Schema counts 5.0 as an integer; feeds that write numbers as doubles send seqs like that.
    event = {"id": "f1", "seq": 5.0, "type": "call.queued", "ts": ts(0), "call_id": "c9", "queue": "billing",
             "caller": "+86 139 0000 0000"}
    result = await EventWriter(pool, "doubles").write([received(event)])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT seq FROM event_log WHERE event_id = 'f1'") == 5
        assert await conn.fetchval("SELECT last_seq FROM feeds WHERE feed = 'doubles'") == 5
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0
    assert result.stored == 1


async def test_iso_8601_forms_outside_rfc_3339_are_bad_timestamps(pool):
    # Python's ISO 8601 parser takes these; PostgreSQL and the protocol (RFC 3339) do not.
    due_forms = ["2026-W48-1T09:00:00+08:00", "2026-11-23T09+08:00", "2026-11-23T09:00:00,5+08:00"]
    events = [{"id": f"k{n}", "type": "complaint.opened", "ts": ts(0), "complaint_id": f"K{n}", "agent": "a1",
               "customer": "+86 139 0000 0000", "due": due} for n, due in enumerate(due_forms)]
    events.append({"id": "k9", "type": "complaint.opened", "ts": ts(0), "complaint_id": "K9", "agent": "a1",
                   "customer": "+86 139 0000 0000", "due": "2026-11-23T11:00:00.123456789+08:00"})
    await EventWriter(pool, "iso").write([received(*events)])
    async with pool.acquire() as conn:
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM dead_letters ORDER BY event_id")]
        stored = await conn.fetchval("SELECT count(*) FROM complaints")
    assert kinds == ["bad_timestamp"] * 3
    assert stored == 1  # nanoseconds are RFC 3339 too


async def test_the_agent_directory_follows_names_and_teams_and_waits_on_no_row_it_leaves_alone(pool):
    def state(event_id: str, seconds: float, agent: str, **directory: str) -> dict:
        return {"id": event_id, "type": "agent.state", "ts": ts(seconds), "agent": agent, "state": "available",
                **directory}

    writer = EventWriter(pool, "pbx")
    await writer.write([received(state("d1", 0, "a1", name="Ann", team="east"))])
    await writer.write([received(state("d2", 10, "a1"), state("d3", 11, "a2"))])
    assert (await floor_state(pool))["agents"] == [{"agent": "a1", "name": "Ann", "team": "east"},
                                                   {"agent": "a2", "name": None, "team": None}]
    await writer.write([received(state("d4", 20, "a1", team="west"))])
    assert (await floor_state(pool))["agents"][0] == {"agent": "a1", "name": "Ann", "team": "west"}

    # Another batch (a history import's, say) holds a1's row as its upsert would, until its commit.
    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT FROM agents WHERE agent = 'a1' FOR NO KEY UPDATE")
        await asyncio.wait_for(writer.write([received(state("d5", 30, "a1", name="Ann", team="west"))]), 5)
    assert (await floor_state(pool))["agents"][0] == {"agent": "a1", "name": "Ann", "team": "west"}
