"""The JSON API over real HTTP: good answers, and 400s that name the bad parameter."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from .live_stack import running_dashboard, settings_for_test
from .scenario import NOW, T0, Floor, at, store


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize("since, reason", [
    ("yesterday", "is not an RFC 3339 timestamp"),
    ("2026-11-23T09:00:00", "needs a UTC offset"),
    ((datetime.now(UTC) - timedelta(days=40)).isoformat(), "at most 31 days ago"),
    ((datetime.now(UTC) + timedelta(hours=1)).isoformat(), "must be in the past"),
])
async def test_bad_since_gets_400_naming_the_parameter(database_url, since, reason):
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/live?since={quote(since)}")
    assert status == 400 and body["parameter"] == "since" and reason in body["error"]


async def test_live_for_a_window_and_the_health_checks(database_url):
    since = quote((datetime.now(UTC) - timedelta(hours=2)).isoformat())
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/live?since={since}")
        health = await asyncio.to_thread(get, f"{base_url}/healthz")
        ready = await asyncio.to_thread(get, f"{base_url}/readyz")
    assert status == 200 and body["queues"] == [] and body["totals"]["offered"] == 0
    assert health == (200, {"status": "ok"})
    assert ready[0] == 503 and ready[1]["status"] == "stale"  # nothing has been ingested yet


def agents_floor() -> Floor:
    """Two agents' hour, worked by hand in test_agents_report_for_a_window."""
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="available", name="王芳", team="East 1")
    floor.add("agent.state", 0, agent="a2", state="available", name="Chloe Jones", team="East 1")
    floor.call("before", "billing", -100, answered=-90, agent="a1", ended=-10, resolved=False)  # before the window
    floor.call("k1", "billing", 100, answered=110, agent="a1", ended=400, resolved=True, released_by="agent")
    floor.call("k2", "billing", 500, answered=520, agent="a1", ended=900, resolved=True)
    floor.add("call.hold_started", 150, call_id="k1", agent="a1")
    floor.add("call.hold_ended", 211, call_id="k1", agent="a1")
    floor.add("survey.completed", 950, call_id="k1", agent="a1", score=4)
    floor.add("survey.completed", 960, call_id="k2", agent="a1", score=3)
    floor.add("complaint.opened", 910, complaint_id="p1", agent="a1", customer="李娜", due=at(1800))
    floor.add("complaint.callback_made", 1700, complaint_id="p1", agent="a1")
    floor.call("k3", "sales", 100, answered=115, agent="a2", ended=200, released_by="agent")
    floor.call("after", "sales", 3700, answered=3705, agent="a2", ended=3800)  # after the window
    return floor


async def test_agents_report_for_a_window(database_url, pool):
    await store(pool, agents_floor())
    window = f"from={quote(T0.isoformat())}&to={quote(NOW.isoformat())}"
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/agents?{window}")
        _, live = await asyncio.to_thread(get, f"{base_url}/api/v1/live?since={quote(T0.isoformat())}")
    assert status == 200 and (body["from"], body["to"]) == (T0.isoformat(), NOW.isoformat())
    # sorted by name: "Chloe Jones" before "王芳"; "before" and "after" are outside [T0, NOW)
    a2, a1 = body["agents"]
    # a1: k1 answered after 10 s, k2 after 20 s -> answered 2, ASA 15 s, on time 1/2
    assert (a1["agent"], a1["name"], a1["answered"], a1["asa_s"], a1["on_time_rate"]) == ("a1", "王芳", 2, 15, 0.5)
    # surveys 4 (satisfied) and 3 -> CSAT 1/2; both calls resolved -> 2/2; hung up first on k1 -> 1/2
    assert (a1["surveys"], a1["csat"], a1["resolution_rate"], a1["agent_hangup_rate"]) == (2, 0.5, 1.0, 0.5)
    # one hold of 61 s: over the 60 s limit -> discipline 1 - 1/1 = 0
    assert (a1["holds"], a1["holds_over_limit"], a1["hold_discipline"]) == (1, 1, 0.0)
    # p1 called back at 1700 s, due at 1800 s: on time, 1/1
    assert (a1["callbacks_due"], a1["callbacks_on_time"], a1["callbacks_on_time_rate"]) == (1, 1, 1.0)
    # score = (25·0.5 + 25·0.5 + 25·1.0 + 15·0 + 10·1.0) / 100 · 100 = 60
    assert a1["score"] == pytest.approx(60)
    # a2: k3 answered after exactly 15 s: on time; nothing else but the hang-up (1/1) -> score 100
    assert (a2["agent"], a2["answered"], a2["on_time_rate"], a2["csat"], a2["agent_hangup_rate"]) == \
        ("a2", 1, 1.0, None, 1.0)
    assert a2["score"] == pytest.approx(100)
    # The wall's figures since T0 come from the same code (a1 has nothing after NOW; a2 has "after")
    live_a1 = next(a for a in live["agents"] if a["agent"] == "a1")
    assert {k: live_a1[k] for k in a1} == a1


async def test_agents_report_defaults_to_today(database_url):
    async with running_dashboard(database_url, settings_for_test(CALLBOARD_TIMEZONE="Asia/Shanghai")) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/agents")
    start = datetime.fromisoformat(body["from"])
    local_now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert status == 200 and body["agents"] == []
    assert start == local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert start.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("query, parameter, reason", [
    ("from=yesterday", "from", "is not an RFC 3339 timestamp"),
    ("to=2026-11-23T09:00:00", "to", "needs a UTC offset"),
    (f"from={quote(NOW.isoformat())}&to={quote(T0.isoformat())}", "from", "must be before to"),
    (f"from={quote(T0.isoformat())}&to={quote(T0.isoformat())}", "from", "must be before to"),
    (f"from={quote((NOW - timedelta(days=93)).isoformat())}&to={quote(NOW.isoformat())}", "from",
     "more than 92 days"),
])
async def test_bad_agents_window_gets_400_naming_the_parameter(database_url, query, parameter, reason):
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/agents?{query}")
    assert status == 400 and body["parameter"] == parameter and reason in body["error"]
