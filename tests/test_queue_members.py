"""Who takes each queue's calls: ``queue.members`` stored, the latest announcement winning whatever
the arrival order, and carried over from the event log by the migration that made its table; then
each queue's agents counted by state, in the live snapshot, the API, and on the wall and the floor."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from callboard.metrics import Thresholds
from dashboard.data import LiveData
from db.migrate import migrate
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import browser_errors, database_before, wait_for
from .live_stack import running_dashboard, settings_for_test
from .scenario import NOW, T0, Floor, at, store
from .test_api import get
from .test_wall import shown, text_of

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
    conn = await database_before(database_url, tmp_path, 12)
    try:
        await conn.execute("SELECT event_log_partition('2026-11-23')")
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


# --- The figures: each queue's agents by state ---------------------------------------------------

def members_floor() -> Floor:
    """Billing's and sales' members announced (billing twice), technical's never; worked by hand in
    the tests below."""
    floor = Floor()
    for agent, state in (("a1", "on_call"), ("a2", "on_call"), ("a3", "available"), ("a4", "after_call_work"),
                         ("a5", "break"), ("a6", "not_ready"), ("a7", "logged_out")):
        floor.add("agent.state", 0, agent=agent, state=state, name=agent.upper())
    floor.add("queue.members", 10, queue="billing", agents=["a1", "a2", "a3"])
    floor.add("queue.members", 20, queue="billing", agents=["a1", "a2", "a4", "a7", "a9"])  # the latest
    floor.add("queue.members", 10, queue="sales", agents=["a2", "a5", "a6"])
    floor.call("t1", "billing", 3000, answered=3005, agent="a1")
    floor.add("call.hold_started", 3500, call_id="t1", agent="a1")       # a1 has a call on hold now
    floor.call("t2", "technical", 3000, answered=3005, agent="a2")      # a2 is on a technical call
    floor.call("w1", "technical", 3300)
    return floor


async def test_each_queue_counts_its_logged_in_members_by_state_and_a_queue_never_announced_has_none(pool):
    await store(pool, members_floor())
    snap = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).snapshot(since=T0, now=NOW)
    tiles = {q["queue"]: q for q in snap["queues"]}
    # billing's latest members: a1, a2, a4, a7, a9. a7 is logged out and a9 never logged in: not
    # counted. a1 and a2 are on call (a2 on another queue's call: still on call), a1 with a call on
    # hold; a4 in wrap-up.
    assert tiles["billing"]["members"] == {"available": 0, "on_call": 2, "after_call_work": 1, "break": 0,
                                           "not_ready": 0, "on_hold": 1}
    # sales: a2 on call, a5 on break, a6 not ready; no calls today, yet a tile for its members
    assert tiles["sales"]["members"] == {"available": 0, "on_call": 1, "after_call_work": 0, "break": 1,
                                         "not_ready": 1, "on_hold": 0}
    assert (tiles["sales"]["offered"], tiles["sales"]["waiting"]) == (0, 0)
    # technical: calls, but nobody said who takes them
    assert tiles["technical"]["members"] is None
    # every agent of the floor, as before: a2 counted once although a member of two queues
    assert snap["agent_counts"] == {"available": 1, "on_call": 2, "after_call_work": 1, "break": 1,
                                    "not_ready": 1, "on_hold": 1}
    assert "members" not in snap["totals"]


async def test_the_api_gives_each_queues_members_by_state_and_null_when_never_announced(database_url, pool):
    await store(pool, members_floor())
    since = quote((datetime.now(UTC) - timedelta(hours=2)).isoformat())  # members do not depend on the window
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/live?since={since}")
    assert status == 200
    members = {q["queue"]: q["members"] for q in body["queues"]}
    # as worked in the test above, "break" spelt as the protocol spells the state
    assert members == {
        "billing": {"available": 0, "on_call": 2, "after_call_work": 1, "break": 0, "not_ready": 0, "on_hold": 1},
        "sales": {"available": 0, "on_call": 1, "after_call_work": 0, "break": 1, "not_ready": 1, "on_hold": 0},
        "technical": None}


async def test_the_wall_and_floor_show_each_queues_agents_by_state_in_english_and_chinese(
        database_url, pool, browser):
    now = datetime.now(UTC)
    events = [
        {"type": "agent.state", "agent": "a1", "state": "on_call", "name": "王芳"},
        {"type": "agent.state", "agent": "a2", "state": "available", "name": "Chloe Jones"},
        {"type": "agent.state", "agent": "a3", "state": "break", "name": "司马相如", "reason": "lunch"},
        {"type": "queue.members", "queue": "billing", "agents": ["a1", "a2", "a3"]},
        {"type": "call.queued", "call_id": "c1", "queue": "billing", "caller": "+86 138 0000 0001", "ago": 60},
        {"type": "call.answered", "call_id": "c1", "agent": "a1", "ago": 50},
        {"type": "call.queued", "call_id": "c2", "queue": "sales", "caller": "+86 138 0000 0002", "ago": 30},
    ]
    frame = [{"id": f"m{n}", "ts": (now - timedelta(seconds=e.pop("ago", 0))).isoformat(), **e}
             for n, e in enumerate(events)]
    await EventWriter(pool, "wall").write([Received(now, *parse_message(json.dumps(frame)))])
    billing = '.tile[data-queue="billing"] .tile-members'
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall")
        await wait_for(lambda: shown(browser, billing), 15, "billing's agents")
        # billing: a2 available, a1 on call, a3 on break
        counts = {state: text_of(browser, f'{billing} [data-count="{state}"] .value')
                  for state in ("available", "on_call", "on_hold", "after_call_work", "break", "not_ready")}
        assert counts == {"available": "1", "on_call": "1", "on_hold": "0", "after_call_work": "0", "break": "1",
                          "not_ready": "0"}
        assert text_of(browser, f"{billing} .members-head") == "Its agents"
        assert text_of(browser, f'{billing} [data-count="available"] .label') == "Available"
        # sales has a caller waiting but no members announced: no such line, not zeros
        assert await shown(browser, '.tile[data-queue="sales"] [data-figure="waiting"]')
        assert not await shown(browser, '.tile[data-queue="sales"] .tile-members')
        assert not await shown(browser, '.tile[data-queue="all"] .tile-members')

        await asyncio.to_thread(browser.get, base_url + "/?lang=zh-Hans")
        row = '.queue-table tr[data-queue="billing"] td.members'
        await wait_for(lambda: shown(browser, f'{row} [data-count="break"]'), 15, "billing's agents on the floor")
        assert text_of(browser, f'{row} [data-count="available"]') == "1 空闲"
        assert text_of(browser, f'{row} [data-count="break"]') == "1 休息"
        assert text_of(browser, '.queue-table th.members') == "本队列坐席"
        assert text_of(browser, '.queue-table tr[data-queue="sales"] td.members') == ""
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)
