"""The JSON API over real HTTP: good answers, and 400s that name the bad parameter."""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from callboard.metrics import Thresholds
from dashboard.data import LiveData

from .live_stack import running_dashboard, settings_for_test, signed_in
from .scenario import NOW, T0, Floor, at, store


def get(url: str, role: str = "admin") -> tuple[int, dict]:
    """GET ``url`` signed in as the test user of ``role``: the status and the JSON answered."""
    try:
        with urllib.request.urlopen(signed_in(url, role), timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize("since, reason", [
    ("yesterday", "is not an RFC 3339 timestamp"),
    ("2026-11-23T09:00:00", "needs a UTC offset"),
    (-timedelta(days=40), "at most 31 days ago"),  # from now, when the test runs
    (timedelta(hours=1), "must be in the past"),
])
async def test_bad_since_gets_400_naming_the_parameter(database_url, since, reason):
    if isinstance(since, timedelta):
        since = (datetime.now(UTC) + since).isoformat()
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


# The hour [T0, NOW) of the hand-worked scenarios.
THE_HOUR = f"from={quote(T0.isoformat())}&to={quote(NOW.isoformat())}"


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
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/agents?{THE_HOUR}")
    # what /api/v1/live?since=T0 answers while T0 is within its 31 days
    live = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).snapshot(since=T0)
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
    # Every call is from one number; a1 ended "before" (at -10 s) unresolved, so k1, k2 and k3, offered
    # within 24 h after it, are its repeats (none of the later calls was unresolved): 3 in the hour
    assert (a1["repeat_calls"], a2["repeat_calls"]) == (3, 0)
    # The wall's figures since T0 come from the same code (a1 has nothing after NOW; a2 has "after");
    # the live snapshot does not count repeats
    live_a1 = next(a for a in live["agents"] if a["agent"] == "a1")
    assert {k: live_a1[k] for k in a1} == {**a1, "repeat_calls": None}


async def test_agents_report_defaults_to_today(database_url):
    async with running_dashboard(database_url, settings_for_test(CALLBOARD_TIMEZONE="Asia/Shanghai")) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/agents")
    start = datetime.fromisoformat(body["from"])
    local_now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert status == 200 and body["agents"] == []
    assert start == local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert start.utcoffset() == timedelta(hours=8)


def trends_floor() -> Floor:
    """An hour of two queues, worked by hand in test_trends_per_quarter_hour."""
    floor = Floor()
    floor.call("c0", "billing", -30, answered=-20, ended=60)      # decided before the window
    floor.call("c1", "billing", 0, answered=10, ended=100)        # 09:00:00 -> 09:00:10, 10 s
    floor.call("c2", "billing", 800, answered=920, ended=1000)    # 09:13:20 -> 09:15:20, 120 s
    floor.call("c3", "sales", 1000, abandoned=1003)               # 09:16:40, hung up after 3 s: short
    floor.call("c4", "sales", 1100, abandoned=1200)               # 09:18:20, hung up after 100 s
    floor.call("c5", "billing", 2800, answered=2815, ended=2900)  # 09:46:40 -> 09:46:55, exactly 15 s
    return floor


def figures(bucket: dict) -> tuple:
    return (bucket["offered"], bucket["answered"], bucket["abandoned"], bucket["asa_s"], bucket["on_time_rate"],
            bucket["service_level"], bucket["abandon_rate"])


async def test_trends_per_quarter_hour(database_url, pool):
    await store(pool, trends_floor())
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{THE_HOUR}&bucket=15m")
        _, sales = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{THE_HOUR}&bucket=15m&queue=sales")
        _, hourly = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{THE_HOUR}&bucket=1h")
    assert status == 200
    quarters = [T0 + timedelta(minutes=m) for m in (0, 15, 30, 45, 60)]
    assert [(b["start"], b["end"]) for b in body["buckets"]] == [
        (start.isoformat(), end.isoformat()) for start, end in itertools.pairwise(quarters)]
    q1, q2, q3, q4 = body["buckets"]
    # 09:00-09:15: offered c1, c2; answered c1 (10 s, on time); service level 1/1, abandon rate 0/1
    assert figures(q1) == (2, 1, 0, 10, 1.0, 1.0, 0.0)
    # 09:15-09:30: offered c3, c4; answered c2 (120 s, late); abandoned c3 (short), c4:
    # service level 0 / (1 + 2 - 1) = 0; abandon rate (2 - 1) / (1 + 2 - 1) = 0.5
    assert figures(q2) == (2, 1, 2, 120, 0.0, 0.0, 0.5)
    assert q2["short_abandoned"] == 1
    # 09:30-09:45: nothing happened: present, with counts 0 and no rates
    assert figures(q3) == (0, 0, 0, None, None, None, None)
    # 09:45-10:00: c5 offered and answered at exactly T = 15 s: on time
    assert figures(q4) == (1, 1, 0, 15, 1.0, 1.0, 0.0)
    # sales only, 09:15-09:30: c3 (short) and c4 abandoned, nothing answered:
    # service level 0 / (0 + 2 - 1) = 0, abandon rate 1 / 1
    assert [figures(b) for b in sales["buckets"]] == [
        (0, 0, 0, None, None, None, None), (2, 0, 2, None, None, 0.0, 1.0),
        (0, 0, 0, None, None, None, None), (0, 0, 0, None, None, None, None)]
    # the hour: offered 5, answered 3 (10 + 120 + 15 s, 2 on time), abandoned 2 (1 short):
    # ASA 145 / 3; service level 2 / (3 + 2 - 1) = 0.5; abandon rate 1 / 4
    [hour] = hourly["buckets"]
    assert figures(hour) == (5, 3, 2, pytest.approx(145 / 3), pytest.approx(2 / 3), 0.5, 0.25)


async def test_trends_buckets_follow_the_clock_and_are_clipped_to_the_window(database_url):
    start, end = T0 + timedelta(minutes=10), NOW + timedelta(minutes=10)
    window = f"from={quote(start.isoformat())}&to={quote(end.isoformat())}"
    settings = settings_for_test(CALLBOARD_SHIFTS="09:30,21:30")
    async with running_dashboard(database_url, settings) as base_url:
        _, hourly = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{window}&bucket=1h")
        _, shifts = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{window}&bucket=shift")
    assert [(b["start"][11:16], b["end"][11:16]) for b in hourly["buckets"]] == [("09:10", "10:00"),
                                                                                  ("10:00", "10:10")]
    assert [(b["start"][11:16], b["end"][11:16]) for b in shifts["buckets"]] == [("09:10", "09:30"),
                                                                                  ("09:30", "10:10")]


TOO_LONG = f"from={quote((NOW - timedelta(days=93)).isoformat())}&to={quote(NOW.isoformat())}"
TOO_LONG_FOR_TRENDS = f"from={quote((NOW - timedelta(days=367)).isoformat())}&to={quote(NOW.isoformat())}"


@pytest.mark.parametrize("route, query, parameter, reason", [
    ("agents", "from=yesterday", "from", "is not an RFC 3339 timestamp"),
    ("agents", "to=2026-11-23T09:00:00", "to", "needs a UTC offset"),
    ("agents", f"from={quote(NOW.isoformat())}&to={quote(T0.isoformat())}", "from", "must be before to"),
    ("agents", f"from={quote(T0.isoformat())}&to={quote(T0.isoformat())}", "from", "must be before to"),
    ("agents", TOO_LONG, "from", "more than 92 days"),
    ("trends", "bucket=2h", "bucket", "is not one of 15m, 1h, 1d, 1w, 1mo, shift"),
    ("trends", "from=soon", "from", "is not an RFC 3339 timestamp"),
    ("trends", TOO_LONG_FOR_TRENDS, "from", "more than 366 days"),
    ("trends", "shift=Evening", "shift", "is not one of the shifts: 07:00, 15:00, 23:00"),
])
async def test_bad_report_parameters_get_400_naming_them(database_url, route, query, parameter, reason):
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/{route}?{query}")
    assert status == 400 and body["parameter"] == parameter and reason in body["error"]


async def test_complaints_open_overdue_and_all_with_their_customers(database_url, pool):
    now = datetime.now(UTC)
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="available", name="王芳")
    floor.add("complaint.opened", -100, complaint_id="k-old", agent="a1", customer="赵敏",
              due=(now + timedelta(hours=3)).isoformat(), severity="low")        # opened before the hour, waiting
    floor.add("complaint.opened", 100, complaint_id="k-soon", agent="a1", customer="李娜",
              due=(now + timedelta(hours=1)).isoformat(), severity="high")       # waiting, due in an hour
    floor.add("complaint.opened", 200, complaint_id="k-late", agent="a2", customer="张伟", due=at(1000))  # past due
    floor.add("complaint.opened", 300, complaint_id="k-called", agent="a1", customer="王强",
              due=(now + timedelta(hours=2)).isoformat())
    floor.add("complaint.callback_made", 400, complaint_id="k-called", agent="a1")
    floor.add("complaint.opened", 500, complaint_id="k-closed", agent="a1", customer="刘洋", due=at(4000))
    floor.add("complaint.callback_made", 600, complaint_id="k-closed", agent="a1")
    floor.add("complaint.closed", 700, complaint_id="k-closed", resolved=True)
    await store(pool, floor)
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        replies = {status: await asyncio.to_thread(get, f"{base_url}/api/v1/complaints?status={status}")
                   for status in ("open", "overdue")}
        replies["all"] = await asyncio.to_thread(get, f"{base_url}/api/v1/complaints?status=all&{THE_HOUR}")
        default = await asyncio.to_thread(get, f"{base_url}/api/v1/complaints")
    replies["default"] = default
    assert {status for status, _ in replies.values()} == {200}
    listed = {status: [(c["complaint_id"], c["status"]) for c in body["complaints"]]
              for status, (_, body) in replies.items()}
    assert listed["default"] == listed["open"]
    # waiting for a callback, soonest due first: k-late (due at T0 + 1000 s, long past), k-soon, k-old
    assert listed["open"] == [("k-late", "overdue"), ("k-soon", "open"), ("k-old", "open")]
    assert listed["overdue"] == [("k-late", "overdue")]
    # opened in [T0, NOW), by opening time; k-old was opened before T0
    assert listed["all"] == [("k-soon", "open"), ("k-late", "overdue"), ("k-called", "called_back"),
                             ("k-closed", "closed")]
    soon, late, called, closed = replies["all"][1]["complaints"]
    # due an hour after the request: about 3,600 s left
    assert soon["seconds_left"] == pytest.approx(3600, abs=60) and not soon["overdue"]
    assert (soon["agent_name"], soon["severity"], soon["opened_at"]) == ("王芳", "high", at(100))
    assert late["overdue"] and late["seconds_left"] < 0 and late["agent_name"] == "a2"  # a2 never announced a name
    assert (called["callback_made_at"], called["seconds_left"], called["overdue"]) == (at(400), None, False)
    assert (closed["closed_at"], closed["resolved"]) == (at(700), True)
    # each complaint's customer, whole for the admin (tests/test_personal_data_by_role.py: each role)
    assert [c["customer"] for c in replies["all"][1]["complaints"]] == ["李娜", "张伟", "王强", "刘洋"]


@pytest.mark.parametrize("query, parameter, reason", [
    ("status=closed", "status", "is not one of open, overdue, all"),
    (f"status=open&from={quote(T0.isoformat())}", "from", "applies only to status=all"),
    ("status=all&to=later", "to", "is not an RFC 3339 timestamp"),
])
async def test_bad_complaints_parameters_get_400_naming_them(database_url, query, parameter, reason):
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/complaints?{query}")
    assert status == 400 and body["parameter"] == parameter and reason in body["error"]
