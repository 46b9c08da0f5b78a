"""The event log's daily partitions: made ahead and on demand, rows carried over by the migration,
and old days dropped by the retention setting while every figure stays."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from callboard import shifts
from callboard.metrics import Thresholds
from dashboard.data import LiveData
from dashboard.history import History
from db.migrate import applied_versions, migrate
from db.queries import QUERIES
from ingest import partitions
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received
from simulator.floor import CallFloor

from .conftest import database_before

THRESHOLDS = Thresholds()


async def days_held(pool) -> list[date]:
    return [row["day"] for row in await pool.fetch("SELECT day FROM event_log_days ORDER BY day")]


def received(events: list[dict]) -> Received:
    return Received(datetime.now(UTC), *parse_message(json.dumps(events)))


def queued(event_id: str, ts: str) -> dict:
    return {"id": event_id, "type": "call.queued", "ts": ts, "call_id": f"c-{event_id}", "queue": "billing",
            "caller": "+1 555 0100"}


async def test_a_batch_of_a_day_without_a_partition_gets_one_and_is_stored(pool):
    writer = EventWriter(pool, "pbx")
    result = await writer.write([received([queued("e1", "2019-03-04T10:00:00+08:00"),
                                           queued("e2", "2019-03-04T23:30:00+08:00")])])
    assert result.stored == 2
    # 23:30 at +08:00 is 15:30 UTC: both events are of 4 March, UTC.
    assert await days_held(pool) == [date(2019, 3, 4)]
    again = await writer.write([received([queued("e1", "2019-03-04T10:00:00+08:00")])])
    assert (again.stored, again.duplicates) == (0, 1)
    assert await pool.fetchval("SELECT count(*) FROM calls") == 2


async def test_partitions_are_made_ahead_once_however_many_makers_at_once(pool):
    await asyncio.gather(*(partitions.maintain(pool, keep_days=None) for _ in range(3)))
    today = partitions.today()
    assert await days_held(pool) == [today + timedelta(days=n) for n in range(-1, partitions.DAYS_AHEAD + 1)]


async def test_days_past_the_retention_are_dropped_and_every_figure_stays(pool):
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=4)
    events = CallFloor(seed=11, start=start, agents=12).events_until(end)
    writer = EventWriter(pool, "pbx")
    for first in range(0, len(events), 2000):
        await writer.write([received(events[first:first + 2000])])
    live = LiveData(pool, THRESHOLDS, UTC, stale_after_s=30)
    history = History(pool, THRESHOLDS, UTC, shifts.parse("07:00,15:00,23:00"))

    async def figures() -> dict:
        return {"agents": await live.agents(start, end), "trends": await history.trends(start, end, "1d", now=end)}

    before = await figures()
    stored_before = await pool.fetchval("SELECT count(*) FROM event_log")
    await partitions.maintain(pool, keep_days=2)

    first_kept = partitions.today() - timedelta(days=2)
    assert min(await days_held(pool)) == first_kept
    assert await pool.fetchval("SELECT count(*) FROM event_log WHERE ts < $1", end - timedelta(days=2)) == 0
    assert 0 < await pool.fetchval("SELECT count(*) FROM event_log") < stored_before
    assert not await pool.fetchval("SELECT count(*) FROM pg_tables WHERE tablename = $1",
                                   f"event_log_{start:%Y%m%d}")
    assert await figures() == before


async def test_a_partition_left_half_detached_is_finished_at_the_next_round(pool):
    old = partitions.today() - timedelta(days=30)
    await partitions.make_partitions(pool, [old])
    name = f"event_log_{old:%Y%m%d}"
    async with pool.acquire() as reader, pool.acquire() as dropper:
        # A report reading the log holds the detach's second step; the detach is stopped there.
        reading = reader.transaction(isolation="repeatable_read")
        await reading.start()
        await reader.fetchval("SELECT count(*) FROM event_log")
        await dropper.execute("SET statement_timeout = '2s'")  # well after the first step's commit
        with pytest.raises(asyncpg.QueryCanceledError):
            await dropper.execute(f"ALTER TABLE event_log DETACH PARTITION {name} CONCURRENTLY")
        await dropper.execute("RESET statement_timeout")
        await reading.rollback()
    assert [r["partition"] for r in await pool.fetch(QUERIES["partitions.detaching"])] == [name]
    await partitions.maintain(pool, keep_days=7)
    assert not await pool.fetchval("SELECT count(*) FROM pg_tables WHERE tablename = $1", name)
    assert await pool.fetch(QUERIES["partitions.detaching"]) == []


async def test_the_migration_moves_existing_events_into_their_days(database_url, tmp_path):
    conn = await database_before(database_url, tmp_path, 11)
    try:
        await conn.execute("""
            INSERT INTO event_log (feed, event_id, type, ts, call_id, received_at, body) VALUES
                ('pbx', 'e1', 'call.queued', '2026-01-30 23:59:59+00', 'c1', now(), '{"id": "e1"}'),
                ('pbx', 'e2', 'call.answered', '2026-02-01 00:00:00+00', 'c1', now(), '{"id": "e2"}');
        """)
        await migrate(conn)
        assert 11 in await applied_versions(conn)
        rows = await conn.fetch("SELECT tableoid::regclass::text AS partition, event_id, body::text AS body "
                                "FROM event_log ORDER BY ts")
        assert [tuple(r) for r in rows] == [("event_log_20260130", "e1", '{"id": "e1"}'),
                                            ("event_log_20260201", "e2", '{"id": "e2"}')]
        assert [r["day"] for r in await conn.fetch("SELECT day FROM event_log_days ORDER BY day")] == [
            date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1)]
        assert await conn.fetchval("SELECT to_regclass('event_log_unpartitioned')") is None
    finally:
        await conn.close()


async def test_a_day_comes_with_the_months_of_the_tables_partitioned_by_month(pool):
    monthly = {r["parent"] for r in await pool.fetch("SELECT parent FROM monthly_tables")}
    assert partitions.PARTITIONED_BY_TIME == monthly | {"event_log"}
    await partitions.make_partitions(pool, [date(2019, 3, 31)])
    made = {r["relname"] for r in await pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent::regclass::text = ANY($1::text[])", sorted(monthly))}
    assert {f"{parent}_201903" for parent in monthly} <= made
    assert await pool.fetchval("SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                               "WHERE relname = 'agent_day_counts_201903'") == \
        "FOR VALUES FROM ('2019-03-01') TO ('2019-04-01')"
    # The month's bounds are UTC, whatever the session's time zone: the last microsecond of March
    # is March's, the first of April has no partition yet.
    async with pool.acquire() as conn:
        await conn.execute("SET TIME ZONE 'America/New_York'")
        await conn.execute("INSERT INTO agent_states (agent, started_at, state) "
                           "VALUES ('a1', '2019-03-31 23:59:59.999999+00', 'available')")
        assert await conn.fetchval("SELECT tableoid::regclass::text FROM agent_states") == "agent_states_201903"
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO agent_states (agent, started_at, state) "
                               "VALUES ('a1', '2019-04-01 00:00:00+00', 'available')")


async def test_a_batch_of_a_month_without_its_partitions_gets_them(pool):
    """An agent's state of a day whose log partition exists but whose month does not (made before the
    months were) is stored: the batch has the month made and is written again."""
    await pool.execute("SELECT event_log_partition('2019-05-02')")
    await pool.execute("DROP TABLE agent_states_201905")
    writer = EventWriter(pool, "pbx")
    await writer.write([received([{"id": "s1", "type": "agent.state", "ts": "2019-05-02T10:00:00+00:00",
                                   "agent": "a1", "state": "available"}])])
    assert await pool.fetchval("SELECT count(*) FROM agent_states WHERE agent = 'a1'") == 1


async def test_the_migration_moves_agents_states_and_totals_into_their_months(database_url, tmp_path):
    conn = await database_before(database_url, tmp_path, 16)
    try:
        await conn.execute("""
            INSERT INTO agent_states (agent, started_at, state) VALUES
                ('a1', '2026-01-31 23:59:59+00', 'available'), ('a1', '2026-02-01 00:00:00+00', 'on_call');
            INSERT INTO agent_days (day, answer_target_s, hold_limit_s, holds_open, short_abandon_s)
                VALUES ('2026-02-01', 15, 60, 0, 5);
            INSERT INTO queue_quarter_counts (day, quarter, queue, offered, answered, answered_on_time,
                                              answer_seconds, abandoned, short_abandoned)
                VALUES ('2026-02-01', '2026-02-01 00:15+00', 'billing', 3, 2, 2, 11.5, 1, 0);
        """)
        await migrate(conn)
        rows = await conn.fetch("SELECT tableoid::regclass::text AS partition, state FROM agent_states "
                                "ORDER BY started_at")
        assert [tuple(r) for r in rows] == [("agent_states_202601", "available"), ("agent_states_202602", "on_call")]
        quarter = await conn.fetchrow("SELECT tableoid::regclass::text AS partition, offered, answer_seconds "
                                      "FROM queue_quarter_counts")
        assert tuple(quarter) == ("queue_quarter_counts_202602", 3, Decimal("11.5"))
        # The roll-ups still go with their day.
        await conn.execute("DELETE FROM agent_days WHERE day = '2026-02-01'")
        assert await conn.fetchval("SELECT count(*) FROM queue_quarter_counts") == 0
        assert await conn.fetchval("SELECT to_regclass('agent_states_whole')") is None
    finally:
        await conn.close()
