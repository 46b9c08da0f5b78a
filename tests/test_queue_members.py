"""Who takes each queue's calls: ``queue.members`` stored, the latest announcement winning whatever
the arrival order, and carried over from the event log by the migration that made its table."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

from db.migrate import available, migrate
from db.pool import connect
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .scenario import at

RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def members(event_id: str, seconds: float, queue: str, agents: list[str]) -> dict:
    return {"id": event_id, "type": "queue.members", "ts": at(seconds), "queue": queue, "agents": agents}


async def write(pool, *messages: list[dict], feed: str = "pbx") -> None:
    """Each message in a batch of its own, in the order given."""
    writer = EventWriter(pool, feed)
    for events in messages:
        parsed, rejects = parse_message(json.dumps(events))
        assert rejects == []
        await writer.write([Received(RECEIVED, parsed, rejects)])


async def stored(pool) -> list[tuple]:
    async with pool.acquire() as conn:
        return [tuple(r) for r in await conn.fetch("SELECT queue, agents, set_at FROM queue_members ORDER BY queue")]


async def test_a_late_older_announcement_does_not_override_the_newer_one(pool):
    newer = members("e2", 60, "billing", ["a2", "a3"])
    older = members("e1", 0, "billing", ["a1"])
    await write(pool, [newer], [older])
    assert await stored(pool) == [("billing", ["a2", "a3"], datetime.fromisoformat(at(60)))]


async def test_a_later_announcement_replaces_the_whole_list_and_an_empty_one_empties_it(pool):
    await write(pool, [members("e1", 0, "billing", ["a1", "a2"]), members("e2", 0, "sales", ["a1"])],
                [members("e3", 30, "billing", ["a3"])], [members("e4", 60, "sales", [])])
    assert await stored(pool) == [("billing", ["a3"], datetime.fromisoformat(at(30))),
                                  ("sales", [], datetime.fromisoformat(at(60)))]


async def test_within_one_batch_the_latest_announcement_of_each_queue_wins(pool):
    await write(pool, [members("e3", 60, "billing", ["a3"]), members("e1", 120, "billing", ["a1"]),
                       members("e2", 30, "billing", ["a2"])])
    assert await stored(pool) == [("billing", ["a1"], datetime.fromisoformat(at(120)))]


async def test_two_announcements_at_the_same_instant_settle_alike_in_either_order(pool):
    first, second = members("e1", 0, "billing", ["a1"]), members("e2", 0, "billing", ["a2"])
    await write(pool, [first], [second])
    one_way = await stored(pool)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE queue_members, event_log")
    await write(pool, [second], [first])
    assert await stored(pool) == one_way == [("billing", ["a2"], datetime.fromisoformat(at(0)))]


async def test_an_announcement_repeated_changes_nothing(pool):
    announcement = members("e1", 0, "billing", ["a2", "a1"])
    await write(pool, [announcement], [announcement, announcement])
    assert await stored(pool) == [("billing", ["a1", "a2"], datetime.fromisoformat(at(0)))]


async def test_the_migration_takes_the_announcements_the_event_log_already_holds(database_url, tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    for migration in available():
        if migration.version < 12:
            shutil.copy(migration.path, before / migration.path.name)
    conn = await connect(database_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await migrate(conn, before)
        await conn.execute("""
            INSERT INTO event_log (feed, event_id, type, ts, call_id, received_at, body) VALUES
                ('pbx', 'e1', 'queue.members', '2026-11-23T09:00:00Z', NULL, now(),
                 '{"queue": "billing", "agents": ["a2", "a1"]}'),
                ('pbx', 'e2', 'queue.members', '2026-11-23T09:05:00Z', NULL, now(),
                 '{"queue": "billing", "agents": ["a3"]}'),
                ('pbx', 'e3', 'queue.members', '2026-11-23T09:01:00Z', NULL, now(),
                 '{"queue": "billing", "agents": []}'),
                ('pbx', 'e4', 'queue.members', '2026-11-23T09:00:00Z', NULL, now(),
                 '{"queue": "sales", "agents": ["a2", "a1"]}'),
                ('pbx', 'e5', 'agent.state', '2026-11-23T09:00:00Z', NULL, now(),
                 '{"agent": "a1", "state": "available"}')""")
        await migrate(conn)
        rows = await conn.fetch("SELECT queue, agents, set_at, feed, event_id FROM queue_members ORDER BY queue")
        assert [tuple(r) for r in rows] == [
            ("billing", ["a3"], datetime(2026, 11, 23, 9, 5, tzinfo=UTC), "pbx", "e2"),
            ("sales", ["a1", "a2"], datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "pbx", "e4")]
        key = await conn.fetchval("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                  "WHERE conname = 'queue_members_pkey'")
        assert key == "PRIMARY KEY (queue)"
    finally:
        await conn.close()
