"""Repeat calls: a call from the same number within 24 h after a call that was not resolved, or was
abandoned (docs/metrics.md), counted for the queue and the agent of the call repeated.

Each scenario is worked by hand; the calls are stored by the real ingest writer and read as the
trends and the agents' report read them.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from callboard import shifts
from callboard.metrics import Thresholds
from dashboard.data import LiveData
from dashboard.history import History

from .scenario import NOW, T0, Floor, store

ANNA, BORIS, WITHHELD = "+86 138 0000 0001", "+86 139 1111 2222", "2001"
DAY = 24 * 3600


async def repeats(pool, start=T0, end=NOW, queues=None, team=None) -> tuple[int, dict[str, int]]:
    """The window's repeat calls, and each agent's."""
    trend = await History(pool, Thresholds(), UTC, shifts.parse("07:00,15:00,23:00")).trends(
        start, end, "1d", queues, team, now=end)
    agents = (await LiveData(pool, Thresholds(), UTC, stale_after_s=30).agents(start, end))["agents"]
    return trend["totals"]["repeat_calls"], {a["agent"]: a["repeat_calls"] for a in agents if a["repeat_calls"]}


def agents(floor: Floor) -> Floor:
    floor.add("agent.state", -DAY, agent="a1", state="available", team="East")
    floor.add("agent.state", -DAY, agent="a2", state="available", team="West")
    return floor


async def test_a_call_after_an_unresolved_one_is_its_repeat_for_that_calls_queue_and_agent(pool):
    floor = agents(Floor())
    floor.call("first", "billing", -2 * 3600, answered=-2 * 3600 + 10, agent="a1", ended=-3600, resolved=False,
               caller=ANNA)
    floor.call("again", "sales", 600, answered=610, agent="a2", ended=900, resolved=True, caller=ANNA)
    await store(pool, floor)

    # "again" is offered 2 h 10 min after "first", which a1 ended unresolved, in billing
    assert await repeats(pool) == (1, {"a1": 1})
    assert (await repeats(pool, queues=["billing"]))[0] == 1
    assert (await repeats(pool, queues=["sales"]))[0] == 0  # the repeat is billing's, where "first" was
    assert (await repeats(pool, team="East"))[0] == 1  # a1's team
    assert (await repeats(pool, team="West"))[0] == 0


async def test_a_call_after_a_resolved_one_or_a_day_later_is_no_repeat(pool):
    floor = agents(Floor())
    floor.call("solved", "billing", -3600, answered=-3590, agent="a1", ended=-3000, resolved=True, caller=ANNA)
    floor.call("thanks", "billing", 300, answered=310, agent="a2", ended=400, resolved=False, caller=ANNA)
    floor.call("unsolved", "billing", -DAY - 60, answered=-DAY - 50, agent="a1", ended=-DAY - 10, resolved=False,
               caller=BORIS)
    floor.call("too late", "billing", 120, answered=130, agent="a2", ended=200, caller=BORIS)
    await store(pool, floor)

    # "thanks" follows a resolved call; "too late" comes 24 h 3 min after "unsolved"
    assert await repeats(pool) == (0, {})


async def test_a_call_after_an_abandoned_one_is_its_queues_repeat_with_no_agent(pool):
    floor = agents(Floor())
    floor.call("gave up", "repairs", 100, abandoned=160, caller=ANNA)
    floor.call("tries again", "repairs", 400, answered=405, agent="a1", ended=800, resolved=True, caller=ANNA)
    floor.call("and again", "repairs", 1000, answered=1002, agent="a2", ended=1100, resolved=True, caller=ANNA)
    await store(pool, floor)

    # "tries again" repeats "gave up"; "and again" too: the latest earlier call not resolved within
    # 24 h is still "gave up" ("tries again" was resolved)
    assert await repeats(pool) == (2, {})
    assert (await repeats(pool, queues=["repairs"]))[0] == 2


async def test_each_repeat_counts_once_for_the_latest_unresolved_call_before_it(pool):
    floor = agents(Floor())
    floor.call("one", "billing", 0, answered=5, agent="a1", ended=100, resolved=False, caller=ANNA)
    floor.call("two", "billing", 200, answered=205, agent="a2", ended=300, resolved=False, caller=ANNA)
    floor.call("three", "billing", 400, answered=405, agent="a1", ended=500, resolved=True, caller=ANNA)
    await store(pool, floor)

    # "two" repeats "one" (a1's); "three" repeats "two" (a2's), once although "one" is within 24 h too
    assert await repeats(pool) == (2, {"a1": 1, "a2": 1})


async def test_withheld_numbers_link_no_calls(pool):
    floor = agents(Floor())
    floor.call("short", "billing", 0, answered=5, agent="a1", ended=100, resolved=False, caller=WITHHELD)
    floor.call("short again", "billing", 200, answered=205, agent="a1", ended=300, caller=WITHHELD)
    await store(pool, floor)

    assert await repeats(pool) == (0, {})


async def test_calls_are_linked_by_a_keyed_hash_never_the_number(pool):
    floor = agents(Floor())
    floor.call("c1", "billing", 0, caller="+86 (138) 0000-0001")  # ANNA's digits, written another way
    floor.call("c2", "billing", 10, caller=ANNA)
    await store(pool, floor)

    hashes = await pool.fetch("SELECT call_id, caller_hash FROM calls ORDER BY call_id")
    assert hashes[0]["caller_hash"] == hashes[1]["caller_hash"]
    digits = "8613800000001"
    assert digits.encode() not in hashes[0]["caller_hash"] and len(hashes[0]["caller_hash"]) == 32
    # keyed: not the plain SHA-256 of the digits, which anyone could compute for every number
    assert hashes[0]["caller_hash"] != await pool.fetchval("SELECT sha256(convert_to($1, 'UTF8'))", digits)


async def test_a_repeats_first_call_ending_unresolved_later_makes_it_a_repeat(pool):
    first = agents(Floor())
    first.call("first", "billing", 0, answered=5, agent="a1", caller=ANNA)
    first.call("again", "billing", 600, caller=ANNA)
    await store(pool, first)
    assert await repeats(pool) == (0, {})  # "first" has not ended: not known to be unresolved

    late = Floor()
    late.add("call.ended", 700, call_id="first", agent="a1", released_by="agent", resolved=False)
    await store(pool, late)

    assert await repeats(pool, end=NOW + timedelta(hours=1)) == (1, {"a1": 1})
