"""Hand-worked scenarios for the figures of docs/metrics.md, through the real database.

Each scenario is written out as events; the expected figures are worked out by hand in the
comments next to the assertions.
"""

from __future__ import annotations

from datetime import UTC

import pytest

from callboard.metrics import Thresholds
from dashboard.data import LiveData

from .scenario import NOW, T0, Floor, at, store


async def snapshot(pool, floor: Floor) -> dict:
    await store(pool, floor)
    live = LiveData(pool, Thresholds(), UTC, stale_after_s=30)
    return await live.snapshot(since=T0, now=NOW)


def queue(snap: dict, name: str) -> dict:
    return next(q for q in snap["queues"] if q["queue"] == name)


async def test_answer_speed_service_level_and_abandons_on_the_edges(pool):
    floor = Floor()
    floor.call("c1", "billing", 0, answered=15, ended=100)      # answered exactly at T = 15 s: on time
    floor.call("c2", "billing", 10, answered=25.5, ended=200)   # answered after 15.5 s: late
    floor.call("c3", "billing", 20, answered=23, ended=300)     # 3 s: on time
    floor.call("c4", "billing", 30, abandoned=34.9)             # abandoned after 4.9 s: short abandon
    floor.call("c5", "billing", 40, abandoned=45)               # abandoned after exactly 5 s: counts
    floor.call("c6", "billing", 3500)                           # still waiting, queued 100 s before NOW
    billing = queue(await snapshot(pool, floor), "billing")
    # offered 6; answered 3 (c1, c2, c3); abandoned 2, of which 1 short (c4)
    assert (billing["offered"], billing["answered"], billing["abandoned"], billing["short_abandoned"]) == (6, 3, 2, 1)
    # ASA = (15 + 15.5 + 3) / 3 = 11.1667 s
    assert billing["asa_s"] == pytest.approx(33.5 / 3)
    # on time = 2 / 3 (c1 at exactly T, c3)
    assert billing["on_time_rate"] == pytest.approx(2 / 3)
    # service level = 2 / (3 + 2 - 1) = 0.5
    assert billing["service_level"] == pytest.approx(0.5)
    # abandon rate = (2 - 1) / (3 + 2 - 1) = 0.25
    assert billing["abandon_rate"] == pytest.approx(0.25)
    # waiting: c6 only; longest wait = NOW - (T0 + 3500 s) = 100 s
    assert (billing["waiting"], billing["longest_wait_s"]) == (1, pytest.approx(100))


async def test_a_window_with_no_calls_has_no_rates_not_zero_rates(pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="available", name="王芳")
    snap = await snapshot(pool, floor)
    assert snap["queues"] == []
    totals = snap["totals"]
    assert (totals["offered"], totals["waiting"], totals["longest_wait_s"]) == (0, 0, None)
    assert totals["asa_s"] is None and totals["on_time_rate"] is None
    assert totals["service_level"] is None and totals["abandon_rate"] is None


async def test_calls_decided_before_the_window_do_not_count(pool):
    floor = Floor()
    floor.call("old", "sales", -600, answered=-590, ended=-300)   # all before T0
    floor.call("late", "sales", -20, answered=5, ended=60)        # queued before, answered inside
    sales = queue(await snapshot(pool, floor), "sales")
    # offered counts by queue time: only calls queued in the window -> 0
    # answered counts by answer time: "late" -> 1, with answer speed 25 s (late)
    assert (sales["offered"], sales["answered"], sales["on_time_rate"]) == (0, 1, 0)
    assert sales["asa_s"] == pytest.approx(25)


async def test_open_holds_past_the_limit_are_listed_worst_first(pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="on_call", name="王芳")
    floor.add("agent.state", 0, agent="a2", state="on_call", name="Chloe Jones")
    floor.call("h1", "technical", 3000, answered=3005, agent="a1")
    floor.call("h2", "technical", 3000, answered=3005, agent="a2")
    floor.call("h3", "technical", 3000, answered=3005, agent="a2")
    floor.add("call.hold_started", 3600 - 61, call_id="h1", agent="a1")    # open for 61 s: over
    floor.add("call.hold_started", 3600 - 90, call_id="h2", agent="a2")    # open for 90 s: over, worst
    floor.add("call.hold_started", 3600 - 59, call_id="h3", agent="a2")    # open for 59 s: not yet
    snap = await snapshot(pool, floor)
    assert [(h["call_id"], round(h["hold_s"])) for h in snap["holds_over_limit"]] == [("h2", 90), ("h1", 61)]
    assert {h["call_id"] for h in snap["holds_open"]} == {"h1", "h2", "h3"}  # the wall turns h3 red at 60 s
    assert snap["holds_over_limit"][0]["agent_name"] == "Chloe Jones"


async def test_agent_scores_from_their_components(pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="available", name="王芳")
    floor.add("agent.state", 0, agent="a2", state="available", name="Chloe Jones")
    # a1: two calls, both on time; one resolved, one not; one survey scored 5; a hold of 70 s (over)
    # and one of 30 s; hung up first on one of the two calls.
    floor.call("k1", "billing", 100, answered=105, agent="a1", ended=400, resolved=True, released_by="agent")
    floor.call("k2", "billing", 500, answered=510, agent="a1", ended=900, resolved=False)
    floor.add("call.hold_started", 150, call_id="k1", agent="a1")
    floor.add("call.hold_ended", 220, call_id="k1", agent="a1")
    floor.add("call.hold_started", 600, call_id="k2", agent="a1")
    floor.add("call.hold_ended", 630, call_id="k2", agent="a1")
    floor.add("survey.completed", 950, call_id="k1", agent="a1", score=5)
    # a1 promised two callbacks: one made one second late, one made on time.
    floor.add("complaint.opened", 910, complaint_id="p1", agent="a1", customer="李娜", due=at(1000))
    floor.add("complaint.callback_made", 1001, complaint_id="p1", agent="a1")
    floor.add("complaint.opened", 920, complaint_id="p2", agent="a1", customer="张伟", due=at(2000))
    floor.add("complaint.callback_made", 1500, complaint_id="p2", agent="a1")
    # a2: one call answered after 20 s (late), no survey, no holds, outcome not reported.
    floor.call("k3", "sales", 100, answered=120, agent="a2", ended=200)
    agents = {a["agent"]: a for a in (await snapshot(pool, floor))["agents"]}
    a1, a2 = agents["a1"], agents["a2"]
    # a1: on time 2/2 = 1.0; CSAT 1/1 = 1.0; resolution 1/2 = 0.5; hold discipline 1 - 1/2 = 0.5;
    # callbacks on time 1/2 = 0.5 (p1 was one second late); hang-up rate 1/2.
    assert (a1["on_time_rate"], a1["csat"], a1["resolution_rate"]) == (1.0, 1.0, 0.5)
    assert (a1["holds"], a1["holds_over_limit"], a1["hold_discipline"]) == (2, 1, 0.5)
    assert (a1["callbacks_due"], a1["callbacks_on_time"], a1["callbacks_on_time_rate"]) == (2, 1, 0.5)
    assert a1["agent_hangup_rate"] == 0.5
    # score = (25·1.0 + 25·1.0 + 25·0.5 + 15·0.5 + 10·0.5) / 100 · 100 = 75
    assert a1["score"] == pytest.approx(75)
    # a2 has no surveys, no resolution data, no holds, no callbacks: only on-time (0.0) counts -> 0
    assert (a2["csat"], a2["resolution_rate"], a2["hold_discipline"], a2["callbacks_on_time_rate"]) == \
        (None, None, None, None)
    assert (a2["on_time_rate"], a2["score"]) == (0.0, 0.0)


async def test_open_complaint_deadlines_count_down_and_turn_overdue(pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="available", name="王芳")
    floor.add("complaint.opened", 100, complaint_id="due-soon", agent="a1", customer="李娜", due=at(3600 + 600))
    floor.add("complaint.opened", 200, complaint_id="overdue", agent="a1", customer="张伟", due=at(3600 - 30))
    floor.add("complaint.opened", 300, complaint_id="called", agent="a1", customer="王强", due=at(3600 + 60))
    floor.add("complaint.callback_made", 400, complaint_id="called", agent="a1")
    complaints = (await snapshot(pool, floor))["complaints_open"]
    # soonest due first; the one called back is no longer open
    assert [(c["complaint_id"], c["seconds_left"], c["overdue"]) for c in complaints] == [
        ("overdue", -30, True), ("due-soon", 600, False)]


async def test_a_caller_sent_back_to_a_queue_waits_again_until_answered_again(pool):
    floor = Floor()
    floor.call("r1", "technical", 3000, answered=3010, agent="a1")
    floor.add("call.transferred", 3500, call_id="r1", from_agent="a1", to_queue="billing")
    waiting = await snapshot(pool, floor)
    # back in line since T0 + 3500 s: waiting 1, longest wait = 3600 - 3500 = 100 s (shown on its
    # first queue); its answer speed stays that of the first answer (10 s)
    technical = queue(waiting, "technical")
    assert (technical["waiting"], technical["longest_wait_s"]) == (1, pytest.approx(100))
    assert (technical["answered"], technical["asa_s"]) == (1, pytest.approx(10))
    floor.events.clear()
    floor.add("call.answered", 3590, call_id="r1", agent="a2")
    answered_again = await snapshot(pool, floor)
    assert queue(answered_again, "technical")["waiting"] == 0
    assert queue(answered_again, "technical")["asa_s"] == pytest.approx(10)


async def test_a_caller_sent_back_to_a_queue_who_hangs_up_counts_once_as_answered(pool):
    floor = Floor()
    floor.call("r1", "technical", 3000, answered=3010, agent="a1")
    floor.add("call.transferred", 3500, call_id="r1", from_agent="a1", to_queue="technical")
    floor.add("call.abandoned", 3530, call_id="r1")
    snap = await snapshot(pool, floor)
    technical = queue(snap, "technical")
    # offered 1, answered 1 (at 3010), abandoned 0: answered + abandoned never exceeds offered;
    # no one waiting any more; service level = 1 on time / (1 + 0 - 0) = 1
    assert (technical["offered"], technical["answered"], technical["abandoned"]) == (1, 1, 0)
    assert (technical["waiting"], technical["service_level"]) == (0, 1.0)
    # but listed for a call-back: gave up 3530 - 3500 = 30 s after being sent back
    assert [(a["call_id"], a["waited_s"]) for a in snap["abandoned_calls"]] == [("r1", 30.0)]


async def test_hold_spans_in_the_window_end_at_the_next_hold_event_or_the_call_end(pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="on_call", name="王芳")
    floor.call("s1", "billing", -300, answered=-290, agent="a1", ended=500)
    floor.add("call.hold_started", -200, call_id="s1", agent="a1")  # started before the window: not counted
    floor.add("call.hold_ended", -100, call_id="s1", agent="a1")
    floor.add("call.hold_started", 100, call_id="s1", agent="a1")   # 100 -> 159: 59 s, within the limit
    floor.add("call.hold_ended", 159, call_id="s1", agent="a1")
    floor.add("call.hold_started", 400, call_id="s1", agent="a1")   # never ended; the call ends at 500: 100 s, over
    floor.call("s2", "billing", 3000, answered=3010, agent="a1")
    floor.add("call.hold_started", 3020, call_id="s2", agent="a1")  # 3020 -> 3020: ended the same instant, 0 s
    floor.add("call.hold_ended", 3020, call_id="s2", agent="a1")
    floor.add("call.hold_started", 3530, call_id="s2", agent="a1")  # still open at NOW (3600): 70 s so far, over
    a1 = next(a for a in (await snapshot(pool, floor))["agents"] if a["agent"] == "a1")
    # four spans started in the window, two over the limit: discipline 1 - 2/4 = 0.5
    assert (a1["holds"], a1["holds_over_limit"], a1["hold_discipline"]) == (4, 2, 0.5)


async def test_agents_are_counted_by_state_and_each_queue_by_its_calls_in_progress_and_on_hold(pool):
    floor = Floor()
    for agent, state in (("a1", "on_call"), ("a2", "on_call"), ("a3", "on_call"), ("a4", "available"),
                         ("a5", "after_call_work"), ("a6", "break"), ("a7", "not_ready"), ("a8", "logged_out")):
        floor.add("agent.state", 0, agent=agent, state=state, name=agent.upper())
    floor.call("t1", "billing", 3000, answered=3005, agent="a1")          # in progress
    floor.call("t2", "billing", 3000, answered=3005, agent="a2")          # in progress, on hold
    floor.add("call.hold_started", 3500, call_id="t2", agent="a2")
    floor.call("t3", "sales", 3000, answered=3005, agent="a3")            # in progress, hold ended
    floor.add("call.hold_started", 3100, call_id="t3", agent="a3")
    floor.add("call.hold_ended", 3200, call_id="t3", agent="a3")
    floor.call("t4", "sales", 3000, answered=3005, agent="a3", ended=3300)   # ended: not in progress
    floor.call("t5", "sales", 3000, answered=3005, agent="a4")
    floor.add("call.transferred", 3400, call_id="t5", from_agent="a4", to_queue="sales")  # waiting again
    snap = await snapshot(pool, floor)
    # billing: t1 and t2 in progress, t2 on hold; sales: t3 only (t4 ended, t5 back in line)
    assert (queue(snap, "billing")["on_call"], queue(snap, "billing")["on_hold"]) == (2, 1)
    assert (queue(snap, "sales")["on_call"], queue(snap, "sales")["on_hold"]) == (1, 0)
    assert (snap["totals"]["on_call"], snap["totals"]["on_hold"]) == (3, 1)
    # agents by their latest state; a8 is logged out and not counted; a2 is on call with a call on hold
    assert snap["agent_counts"] == {"available": 1, "on_call": 3, "on_hold": 1, "after_call_work": 1,
                                    "break": 1, "not_ready": 1}


async def test_abandoned_calls_are_listed_newest_first_with_the_callers_number_masked(pool, monkeypatch):
    monkeypatch.setattr("dashboard.data.ABANDONED_LISTED", 2)  # the latest 2 of each queue, here
    floor = Floor()
    callers = {"x1": "+86 10 5555 0101", "x2": "(020) 7946-0002", "x3": "1234", "x4": "anonymous",
               "x5": "+44 20 7946 0005", "x6": "+1 415 555 0106"}
    for n, (call_id, caller) in enumerate(callers.items()):
        queue_name = "sales" if call_id == "x6" else "billing"
        floor.add("call.queued", 100 * n, call_id=call_id, queue=queue_name, caller=caller)
        floor.add("call.abandoned", 100 * n + 3 + n, call_id=call_id)   # waited 3, 4, 5, 6, 7, 8 s
    floor.call("x0", "billing", -100, abandoned=-50)                    # abandoned before the window
    listed = (await snapshot(pool, floor))["abandoned_calls"]
    # billing's latest two (x5, x4), then sales' x6 — newest first across queues
    assert [(a["call_id"], a["queue"], a["caller"]) for a in listed] == [
        ("x6", "sales", "•••• 0106"), ("x5", "billing", "•••• 0005"), ("x4", "billing", "••••")]
    floor.events.clear()
    monkeypatch.setattr("dashboard.data.ABANDONED_LISTED", 50)
    listed = {a["call_id"]: a for a in (await snapshot(pool, floor))["abandoned_calls"]}
    # fewer than 7 digits is too little to show any of: masked whole
    assert [listed[c]["caller"] for c in ("x1", "x2", "x3")] == ["•••• 0101", "•••• 0002", "••••"]
    # x1 waited 3 s and x2 4 s (short, under 5 s); x3 waited exactly 5 s, which counts
    assert [(listed[c]["waited_s"], listed[c]["short"]) for c in ("x1", "x2", "x3")] == [
        (3, True), (4, True), (5, False)]
    assert listed["x1"]["queued_at"] == at(0) and listed["x1"]["abandoned_at"] == at(3)
