"""The managers' trends: buckets of the clock and of named shifts, filters, the previous period and
the weekday x hour cells, worked by hand over one hour of a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from urllib.parse import quote

import pytest

from callboard.metrics import Thresholds
from callboard.shifts import parse as parse_shifts
from dashboard.data import LiveData
from dashboard.history import History

from .live_stack import running_dashboard, settings_for_test
from .scenario import NOW, T0, Floor, at, store
from .test_api import get

# Monday 2026-11-23, site time UTC: an early shift ending at 09:30, a late one from then (weekdays),
# and a lunch cover overlapping both from 09:15 to 09:45.
SHIFTS = parse_shifts("Morning=08:00-09:30;Late=09:30-12:00@mon-fri;Lunch=09:15-09:45")


def the_hour() -> Floor:
    """09:00-10:00 of two queues and two teams; each figure below is worked from these lines."""
    floor = Floor()
    floor.add("agent.state", -600, agent="a1", state="available", name="Ann", team="Blue")
    floor.add("agent.state", -600, agent="a2", state="available", name="Bo", team="Red")
    floor.call("c0", "billing", -30, answered=-20, ended=60)           # the hour before: 10 s
    floor.call("c1", "billing", 0, answered=10, agent="a1", ended=300)  # 10 s
    floor.add("call.hold_started", 60, call_id="c1", agent="a1")
    floor.add("call.hold_ended", 160, call_id="c1", agent="a1")        # 100 s: over the limit
    floor.call("c2", "billing", 800, answered=920, agent="a2", ended=1100)  # 120 s: late
    floor.add("call.hold_started", 1000, call_id="c2", agent="a2")
    floor.add("call.hold_ended", 1030, call_id="c2", agent="a2")       # 30 s
    floor.call("c3", "sales", 1000, abandoned=1003)                    # a short abandon
    floor.call("c4", "sales", 1100, abandoned=1200)
    floor.call("c5", "billing", 2800, answered=2815, agent="a1", ended=2900)  # exactly 15 s: on time
    floor.add("complaint.opened", 300, complaint_id="k1", agent="a1", call_id="c1", customer="C", due=at(1800))
    floor.add("complaint.callback_made", 1500, complaint_id="k1", agent="a1")  # on time, at 09:25
    floor.add("complaint.opened", 1100, complaint_id="k2", agent="a2", call_id="c2", customer="C", due=at(2000))
    floor.add("complaint.opened", 1300, complaint_id="k3", agent="a1", call_id="c4", customer="C", due=at(9000))
    return floor


def calls(figures: dict) -> tuple:
    return (figures["offered"], figures["answered"], figures["abandoned"], figures["asa_s"],
            figures["service_level"])


def holds_and_callbacks(figures: dict) -> tuple:
    return (figures["holds"], figures["holds_over_limit"], figures["callbacks_due"], figures["callbacks_on_time"],
            figures["callbacks_missed"])


@pytest.fixture
async def history(pool):
    await store(pool, the_hour())
    return History(pool, Thresholds(), UTC, SHIFTS)


async def test_quarter_hours_count_calls_holds_and_callbacks_where_each_was_decided(history):
    report = await history.trends(T0, NOW, "15m", now=NOW)
    q1, q2, q3, q4 = report["buckets"]
    # 09:00-09:15: c1, c2 offered; c1 answered in 10 s; c1's 100 s hold began here
    assert (calls(q1), holds_and_callbacks(q1)) == ((2, 1, 0, 10, 1.0), (1, 1, 0, 0, 0))
    # 09:15-09:30: c3 (short), c4 offered and abandoned; c2 answered in 120 s; c2's 30 s hold;
    # k1's callback made at 09:25, before its due time. Service level 0 / (1 + 2 - 1).
    assert (calls(q2), holds_and_callbacks(q2)) == ((2, 1, 2, 120, 0.0), (1, 0, 1, 1, 0))
    # 09:30-09:45: k2 falls due at 09:33:20 without its callback: missed
    assert (calls(q3), holds_and_callbacks(q3)) == ((0, 0, 0, None, None), (0, 0, 1, 0, 1))
    # 09:45-10:00: c5 answered at exactly 15 s. (k3 is due at 11:30: not decided yet.)
    assert (calls(q4), holds_and_callbacks(q4)) == ((1, 1, 0, 15, 1.0), (0, 0, 0, 0, 0))
    totals = report["totals"]
    assert (calls(totals), holds_and_callbacks(totals)) == ((5, 3, 2, pytest.approx(145 / 3), 0.5), (2, 1, 2, 1, 1))
    assert (totals["hold_discipline"], totals["callbacks_on_time_rate"]) == (0.5, 0.5)
    # the hour before: c0 offered and answered in 10 s
    assert report["previous"]["from"] == (T0 - timedelta(hours=1)).isoformat()
    assert calls(report["previous"]) == (1, 1, 0, 10, 1.0)


async def test_the_trends_holds_and_callbacks_are_the_agents_reports_added_up(history, pool):
    totals = (await history.trends(T0, NOW, "1h", now=NOW))["totals"]
    agents = (await LiveData(pool, Thresholds(), UTC, stale_after_s=30).agents(T0, NOW))["agents"]
    for field in ("holds", "holds_over_limit", "callbacks_due", "callbacks_on_time"):
        assert totals[field] == sum(agent[field] for agent in agents), field


async def test_shift_buckets_are_the_runs_of_the_named_shifts_overlapping_where_they_do(history):
    report = await history.trends(T0, NOW, "shift", now=NOW)
    assert [(b["shift"], b["start"][11:16], b["end"][11:16]) for b in report["buckets"]] == [
        ("Morning", "09:00", "09:30"), ("Lunch", "09:15", "09:45"), ("Late", "09:30", "10:00")]
    morning, lunch, late = report["buckets"]
    # Morning, 09:00-09:30: c1-c4 offered, c1 and c2 answered (130 s, c1 on time), c3 (short) and c4
    # abandoned: service level 1 / (2 + 2 - 1); both holds; k1 kept
    assert (calls(morning), holds_and_callbacks(morning)) == ((4, 2, 2, 65, pytest.approx(1 / 3)), (2, 1, 1, 1, 0))
    # Lunch, 09:15-09:45: c3, c4 offered and abandoned, c2 answered; c2's hold; k1 kept, k2 missed
    assert (calls(lunch), holds_and_callbacks(lunch)) == ((2, 1, 2, 120, 0.0), (1, 0, 2, 1, 1))
    # Late, 09:30-10:00: c5; k2 missed
    assert (calls(late), holds_and_callbacks(late)) == ((1, 1, 0, 15, 1.0), (0, 0, 1, 0, 1))
    # Shift against shift: each shift's runs in the window together, in the order of CALLBOARD_SHIFTS
    assert [(s["shift"], s["offered"]) for s in report["shifts"]] == [("Morning", 4), ("Late", 1), ("Lunch", 2)]


async def test_filters_count_a_queues_calls_a_teams_holds_and_callbacks_and_a_shifts_hours(history):
    sales = (await history.trends(T0, NOW, "1h", ["sales"], now=NOW))["totals"]
    assert (calls(sales), holds_and_callbacks(sales)) == ((2, 0, 2, None, 0.0), (0, 0, 0, 0, 0))
    blue = (await history.trends(T0, NOW, "1h", team="Blue", now=NOW))["totals"]
    # Blue is a1: c1's hold (over the limit), k1 kept; the queues' calls are everyone's
    assert (calls(blue)[:3], holds_and_callbacks(blue)) == ((5, 3, 2), (1, 1, 1, 1, 0))
    lunch = await history.trends(T0, NOW, "15m", shift="Lunch", now=NOW)
    # only 09:15-09:45 counts: the first quarter hour has nothing, the second all of 09:15-09:30
    assert [b["offered"] for b in lunch["buckets"]] == [0, 2, 0, 0]
    assert holds_and_callbacks(lunch["totals"]) == (1, 0, 2, 1, 1)


async def test_weekday_hour_cells_add_up_every_same_hour_of_the_window(history):
    cells = (await history.weekday_hours(T0, NOW, now=NOW))["cells"]
    assert [(c["weekday"], c["hour"], c["offered"], c["answered"]) for c in cells] == [(0, 9, 5, 3)]
    week = (await history.weekday_hours(T0 - timedelta(days=7), NOW, now=NOW))["cells"]
    assert len(week) == 7 * 24 and sum(c["offered"] for c in week) == 6  # c0 at 08:59:30 too


async def test_the_trends_api_serves_the_same_figures_and_names_a_bad_shift(database_url, pool):
    await store(pool, the_hour())
    window = f"from={quote(T0.isoformat())}&to={quote(NOW.isoformat())}"
    settings = settings_for_test(CALLBOARD_SHIFTS=";".join(shift.text() for shift in SHIFTS))
    async with running_dashboard(database_url, settings) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{window}&bucket=shift"
                                                    "&queue=billing,sales")
        _, cells = await asyncio.to_thread(get, f"{base_url}/api/v1/trends/weekday-hours?{window}&team=Red")
        bad, error = await asyncio.to_thread(get, f"{base_url}/api/v1/trends?{window}&shift=Evening")
    direct = await History(pool, Thresholds(), UTC, SHIFTS).trends(T0, NOW, "shift", ["billing", "sales"], now=NOW)
    assert status == 200 and body["buckets"] == direct["buckets"] and body["queues"] == ["billing", "sales"]
    assert [(c["holds"], c["callbacks_due"]) for c in cells["cells"]] == [(1, 1)]  # a2: c2's hold, k2
    assert (bad, error["parameter"]) == (400, "shift") and "Morning, Late, Lunch" in error["error"]
