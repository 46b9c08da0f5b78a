"""The agents' scorecards (/api/v1/agents/days): each agent's figures over a window, their place by
score and its change since the window before, and their figures of each day, worked by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from callboard.metrics import Thresholds, rank_change, score_ranks
from dashboard.data import LiveData
from db.queries import QUERIES
from ingest.rollup import AgentDayTotals

from .live_stack import running_dashboard, settings_for_test
from .scenario import T0, Floor, store
from .test_api import get

DAY = 86400
START, END = T0.replace(hour=0) - timedelta(days=1), T0.replace(hour=0) + timedelta(days=1)  # the 22nd and 23rd
WINDOW = f"from={quote(START.isoformat())}&to={quote(END.isoformat())}"


def two_days() -> Floor:
    """Sunday 22 and Monday 23 November 2026 (UTC), and the two days before them. Only the on-time
    answer rate (answered within 15 s) and the resolution rate have data, so each score is the
    mean of the two, weighted 25 and 25."""
    floor = Floor()
    for agent, name, team in (("a1", "Ann", "Blue"), ("a2", "Bo", "Red"), ("a3", "Cy", "Red")):
        floor.add("agent.state", -3 * DAY, agent=agent, state="available", name=name, team=team)
    # Saturday 21st, the period before: a1 late and unresolved (score 0), a2 on time and resolved (100)
    floor.call("p1", "billing", -2 * DAY, answered=-2 * DAY + 30, agent="a1", ended=-2 * DAY + 100, resolved=False)
    floor.call("p2", "billing", -2 * DAY + 200, answered=-2 * DAY + 205, agent="a2", ended=-2 * DAY + 300,
               resolved=True)
    # Sunday 22nd: a1 on time and resolved (100)
    floor.call("c1", "billing", -DAY, answered=-DAY + 5, agent="a1", ended=-DAY + 100, resolved=True)
    # Monday 23rd: a1 on time, unresolved (50); a2 late, resolved (50); a3 on time, resolved (100)
    floor.call("c2", "billing", 0, answered=5, agent="a1", ended=100, resolved=False)
    floor.call("c3", "sales", 200, answered=230, agent="a2", ended=300, resolved=True)
    floor.call("c4", "sales", 400, answered=405, agent="a3", ended=500, resolved=True)
    return floor


def test_equal_scores_share_a_place_and_no_score_has_none():
    agents = [{"agent": "a", "score": 80.0}, {"agent": "b", "score": 90.0}, {"agent": "c", "score": 80.0},
              {"agent": "d", "score": None}, {"agent": "e", "score": 70.0}]
    assert score_ranks(agents) == {"b": 1, "a": 2, "c": 2, "e": 4, "d": None}
    assert (rank_change(2, 5), rank_change(3, 1), rank_change(1, None), rank_change(None, 2)) == (3, -2, None, None)


async def test_scorecards_rank_agents_and_say_how_their_place_changed(pool):
    await store(pool, two_days())
    answer = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).agent_days(START, END)
    assert (answer["from"], answer["to"]) == ("2026-11-22T00:00:00+00:00", "2026-11-24T00:00:00+00:00")
    assert answer["previous"] == {"from": "2026-11-20T00:00:00+00:00", "to": "2026-11-22T00:00:00+00:00"}
    by_agent = {a["agent"]: a for a in answer["agents"]}
    assert [a["agent"] for a in answer["agents"]] == ["a1", "a2", "a3"]  # by name
    # a1: 2 answered, both on time (1.0); 1 of 2 resolved (0.5): (25·1 + 25·0.5) / 50 = 75
    # a2: 1 answered late (0.0), resolved (1.0): 50; a3: on time and resolved: 100
    assert [(a["score"], a["rank"]) for a in answer["agents"]] == [(75, 2), (50, 3), (100, 1)]
    # the period before: a2 100 (1st), a1 0 (2nd), a3 nothing
    assert [(a["previous_score"], a["previous_rank"], a["rank_change"]) for a in answer["agents"]] == [
        (0, 2, 0), (100, 1, -2), (None, None, None)]
    # each day: a1 100 on Sunday, 50 on Monday; a2 and a3 nothing on Sunday
    assert [(d["start"][:10], d["answered"], d["score"]) for d in by_agent["a1"]["days"]] == [
        ("2026-11-22", 1, 100), ("2026-11-23", 1, 50)]
    assert [(d["answered"], d["score"]) for d in by_agent["a2"]["days"]] == [(0, None), (1, 50)]
    # the whole window's figures are the agents report's
    report = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).agents(START, END)
    assert [{key: a[key] for key in r} for a, r in zip(answer["agents"], report["agents"], strict=True)] == \
        report["agents"]


async def test_scorecards_read_from_per_day_totals_are_the_same_as_from_the_calls(pool):
    await store(pool, two_days())
    live = LiveData(pool, Thresholds(), UTC, stale_after_s=30)
    from_calls = await live.agent_days(START, END)
    totals = AgentDayTotals(pool, Thresholds())
    await totals.mark_days_without_totals((datetime.now(UTC).date() - START.date()).days + 3)
    await totals.roll_up_stale()
    async with pool.acquire() as conn:
        rolled_up = await conn.fetch(QUERIES["rollup.days_with_totals"], (START - timedelta(days=2)).date(),
                                     END.date(), 15.0, 60.0)
    assert [row["day"].isoformat() for row in rolled_up] == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    assert await live.agent_days(START, END) == from_calls


async def test_days_follow_the_site_clock(pool):
    await store(pool, two_days())
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")  # 09:00 UTC is 17:00 there: every call falls on the same local days
    start = datetime(2026, 11, 22, tzinfo=shanghai)
    answer = await LiveData(pool, Thresholds(), shanghai, stale_after_s=30).agent_days(start, start + timedelta(days=2))
    a1 = next(a for a in answer["agents"] if a["agent"] == "a1")
    assert [(d["start"], d["score"]) for d in a1["days"]] == [
        ("2026-11-22T00:00:00+08:00", 100), ("2026-11-23T00:00:00+08:00", 50)]


async def test_the_api_serves_the_scorecards_and_names_a_bad_window(database_url, pool):
    await store(pool, two_days())
    async with running_dashboard(database_url, settings_for_test()) as base:
        status, body = await asyncio.to_thread(get, f"{base}/api/v1/agents/days?{WINDOW}")
        bad, error = await asyncio.to_thread(get, f"{base}/api/v1/agents/days?from=2026-01-01T00:00:00Z&to="
                                                  f"{quote(END.isoformat())}")
    assert status == 200 and [(a["agent"], a["rank"], a["rank_change"]) for a in body["agents"]] == [
        ("a1", 2, 0), ("a2", 3, -2), ("a3", 1, None)]
    assert body["agents"][0]["days"][0]["score"] == pytest.approx(100)
    assert (bad, error["parameter"]) == (400, "from") and "92 days" in error["error"]
