"""The simulated call floor and its websocket feed.

The floor is checked against event protocol v1 field by field, replayed call by call and
agent by agent for consistency, and measured for realism. The feed server is exercised
over real loopback websockets.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

from simulator.feed_server import FeedServer, demo_server
from simulator.floor import CallFloor
from simulator.serve import run_simulator

#: Multiply to give slow machines more time.
TIME_SCALE = float(os.environ.get("CALLBOARD_TEST_TIMEOUT_FACTOR", "1"))
TIMEOUT = 10 * TIME_SCALE

SHANGHAI = timezone(timedelta(hours=8))
MIDNIGHT = datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI)


def run_floor(seed: int, start: datetime, hours: float, **options) -> list[dict]:
    floor = CallFloor(seed, start, **options)
    return floor.events_until(start + timedelta(hours=hours))


@pytest.fixture(scope="module")
def two_days() -> list[dict]:
    """Two days of the default floor (60 agents), from local midnight."""
    return run_floor(11, MIDNIGHT, 48)


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def by_type(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e["type"] == type_]


# -- a checker for event protocol v1 -------------------------------------------------

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
AGENT_ID = re.compile(r"^a\d{3,}$")
PHONE = re.compile(r"^\+\d{1,3}( \d{2,4}){2,4}$")
STATES = {"logged_out", "available", "on_call", "after_call_work", "break", "not_ready"}

# type -> (required fields, optional fields); every value a string unless listed in TYPES
FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "call.queued": ({"call_id", "queue", "caller"}, set()),
    "call.answered": ({"call_id", "agent"}, set()),
    "call.abandoned": ({"call_id"}, set()),
    "call.hold_started": ({"call_id", "agent"}, set()),
    "call.hold_ended": ({"call_id", "agent"}, set()),
    "call.transferred": ({"call_id", "from_agent"}, {"to_agent", "to_queue"}),
    "call.ended": ({"call_id", "released_by"}, {"agent", "resolved", "disposition"}),
    "agent.state": ({"agent", "state"}, {"name", "team", "reason"}),
    "complaint.opened": (
        {"complaint_id", "agent", "customer", "due"}, {"call_id", "severity"}
    ),
    "complaint.callback_made": ({"complaint_id", "agent"}, set()),
    "complaint.closed": ({"complaint_id"}, {"resolved"}),
    "survey.completed": ({"call_id", "agent", "score"}, set()),
    "queue.members": ({"queue", "agents"}, set()),
}
TYPES = {"seq": int, "resolved": bool, "score": int, "agents": list}


def protocol_errors(event: dict) -> list[str]:
    """Everything wrong with one event under protocol v1 (empty when it is valid)."""
    errors = []
    kind = event.get("type")
    if kind not in FIELDS:
        return [f"unknown type {kind!r}"]
    required, optional = FIELDS[kind]
    required = required | {"id", "type", "ts", "seq"}
    keys = set(event)
    if missing := required - keys:
        errors.append(f"missing {sorted(missing)}")
    if extra := keys - required - optional:
        errors.append(f"unexpected {sorted(extra)}")
    for key, value in event.items():
        wanted = TYPES.get(key, str)
        if type(value) is not wanted:
            errors.append(f"{key} is {type(value).__name__}, not {wanted.__name__}")
    if errors:
        return errors
    for key in ("ts", "due"):
        if key in event and not (RFC3339.match(event[key]) and parse_ts(event[key]).tzinfo):
            errors.append(f"{key} {event[key]!r} is not RFC 3339 with an offset")
    for key in ("agent", "from_agent", "to_agent"):
        if key in event and not AGENT_ID.match(event[key]):
            errors.append(f"{key} {event[key]!r} is not an agent id")
    if kind == "call.queued" and not PHONE.match(event["caller"]):
        errors.append(f"caller {event['caller']!r} is not a phone number")
    if kind == "call.transferred" and len(keys & {"to_agent", "to_queue"}) != 1:
        errors.append("a transfer names exactly one of to_agent and to_queue")
    if kind == "call.ended" and event["released_by"] not in {"agent", "customer", "system"}:
        errors.append(f"released_by {event['released_by']!r}")
    if kind == "agent.state" and event["state"] not in STATES:
        errors.append(f"state {event['state']!r}")
    if kind == "complaint.opened" and event.get("severity", "normal") not in {"normal", "high"}:
        errors.append(f"severity {event['severity']!r}")
    if kind == "queue.members" and not all(AGENT_ID.match(a) for a in event["agents"]):
        errors.append(f"agents {event['agents']!r} are not all agent ids")
    if kind == "survey.completed" and not 1 <= event["score"] <= 5:
        errors.append(f"score {event['score']}")
    if not event["id"] or not event["seq"] > 0:
        errors.append("id must be non-empty and seq positive")
    return errors


def consistency_errors(events: list[dict]) -> list[str]:
    """Replay the floor call by call and agent by agent; report what cannot happen."""
    errors: list[str] = []
    calls: dict[str, dict] = {}  # call_id -> {"stage", "agent", "held", "answers"}
    agent_state: dict[str, tuple[str, str | None]] = {}
    agent_call: dict[str, str | None] = {}
    complaints: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    ids: set[str] = set()
    last_ts, last_seq = None, None

    def fail(event: dict, why: str) -> None:
        errors.append(f"{event['id']} {event['type']}: {why}")

    for e in events:
        ts = parse_ts(e["ts"])
        if last_ts is not None and ts < last_ts:
            fail(e, "ts goes back in time")
        if last_seq is not None and e["seq"] <= last_seq:
            fail(e, "seq does not increase")
        if e["id"] in ids:
            fail(e, "id seen before")
        ids.add(e["id"])
        last_ts, last_seq = ts, e["seq"]

        kind = e["type"]
        call = calls.get(e.get("call_id", ""))
        if kind == "call.queued":
            if call is not None:
                fail(e, "call queued twice")
            calls[e["call_id"]] = {"stage": "waiting", "agent": None, "held": False,
                                   "answered_in_visit": False, "transferred": False, "queue": e["queue"]}
            continue
        if kind.startswith("call.") and call is None:
            fail(e, "call never queued")
            continue
        if kind == "call.answered":
            agent = e["agent"]
            if call["stage"] != "waiting" or call["answered_in_visit"]:
                fail(e, "answered while not waiting in a queue")
            if agent_call.get(agent) or agent_state.get(agent, ("",))[0] != "available":
                fail(e, f"agent {agent} not free to answer")
            if agent not in members.get(call["queue"], ()):
                fail(e, f"agent {agent} answered a call of {call['queue']}, not one of its members")
            call.update(stage="talking", agent=agent, answered_in_visit=True)
            agent_call[agent] = e["call_id"]
        elif kind == "call.abandoned":
            if call["stage"] != "waiting" or call["transferred"]:
                fail(e, "abandoned while not waiting for a first answer")
            call["stage"] = "abandoned"
        elif kind in ("call.hold_started", "call.hold_ended"):
            starting = kind == "call.hold_started"
            if call["stage"] != "talking" or call["agent"] != e["agent"]:
                fail(e, "hold outside the agent's call")
            if call["held"] == starting:
                fail(e, "hold does not alternate")
            call["held"] = starting
        elif kind == "call.transferred":
            if call["stage"] != "talking" or call["held"] or call["agent"] != e["from_agent"]:
                fail(e, "transfer by someone not talking on the call")
            agent_call[e["from_agent"]] = None
            call["transferred"] = True
            if "to_agent" in e:
                target = e["to_agent"]
                if agent_call.get(target) or agent_state.get(target, ("",))[0] != "available":
                    fail(e, f"transfer to busy agent {target}")
                agent_call[target] = e["call_id"]
                call["agent"] = target
                if target not in members.get(call["queue"], ()):
                    fail(e, f"transfer to {target}, not a member of {call['queue']}")
            else:
                call.update(stage="waiting", agent=None, answered_in_visit=False, queue=e["to_queue"])
        elif kind == "call.ended":
            released_waiting = call["stage"] == "waiting" and e["released_by"] == "system"
            if call["stage"] != "talking" and not released_waiting or call["held"]:
                fail(e, "ended while not talking (nor released waiting), or on hold")
            if e.get("agent") != call["agent"]:
                fail(e, "ended by someone other than the last agent")
            if call["agent"] is not None:
                agent_call[call["agent"]] = None
            call["stage"] = "ended"
        elif kind == "survey.completed":
            if call is None or call["stage"] != "ended":
                fail(e, "survey for a call that has not ended")
        elif kind == "agent.state":
            agent, state = e["agent"], e["state"]
            previous = agent_state.get(agent, ("logged_out", None))
            if previous[0] == "logged_out" and not {"name", "team"} <= set(e):
                fail(e, "login without name and team")
            if previous == (state, e.get("reason")):
                fail(e, f"state {state} repeated")
            if (state == "on_call") != bool(agent_call.get(agent)):
                fail(e, f"state {state} while call is {agent_call.get(agent)}")
            if state in ("break", "not_ready") and "reason" not in e:
                fail(e, "break or not-ready without a reason")
            agent_state[agent] = (state, e.get("reason"))
        elif kind == "queue.members":
            members[e["queue"]] = set(e["agents"])
        elif kind == "complaint.opened":
            complaints[e["complaint_id"]] = "open"
        elif kind == "complaint.callback_made":
            if complaints.get(e["complaint_id"]) != "open":
                fail(e, "callback for a complaint not open")
            complaints[e["complaint_id"]] = "called"
        elif kind == "complaint.closed":
            if complaints.get(e["complaint_id"]) != "called":
                fail(e, "closed before the callback")
            complaints[e["complaint_id"]] = "closed"
    return errors


def still_open(events: list[dict]) -> tuple[set[str], set[str], set[str]]:
    """Replay ``events``: calls neither ended nor abandoned, calls on hold, and agents
    logged in at the end."""
    unfinished: set[str] = set()
    held: set[str] = set()
    logged_in: set[str] = set()
    for e in events:
        kind = e["type"]
        if kind == "call.queued":
            unfinished.add(e["call_id"])
        elif kind in ("call.ended", "call.abandoned"):
            unfinished.discard(e["call_id"])
        elif kind == "call.hold_started":
            held.add(e["call_id"])
        elif kind == "call.hold_ended":
            held.discard(e["call_id"])
        elif kind == "agent.state":
            (logged_in.discard if e["state"] == "logged_out" else logged_in.add)(e["agent"])
    return unfinished, held, logged_in


# -- service figures -------------------------------------------------------------------


def service_figures(events: list[dict]) -> tuple[float, float, int]:
    """Share of calls answered within 15 s, share abandoned, and calls offered."""
    queued = {e["call_id"]: parse_ts(e["ts"]) for e in by_type(events, "call.queued")}
    answered: dict[str, datetime] = {}
    for e in by_type(events, "call.answered"):
        if e["call_id"] in queued:
            answered.setdefault(e["call_id"], parse_ts(e["ts"]))
    abandoned = {e["call_id"] for e in by_type(events, "call.abandoned")} & set(queued)
    on_time = sum(
        1 for c, t in answered.items() if (t - queued[c]) <= timedelta(seconds=15)
    )
    return on_time / len(queued), len(abandoned) / len(queued), len(queued)


# -- the floor: determinism --------------------------------------------------------------


def test_same_seed_gives_identical_events():
    assert run_floor(5, MIDNIGHT, 3) == run_floor(5, MIDNIGHT, 3)


def test_different_seeds_give_different_events():
    first, second = run_floor(5, MIDNIGHT, 3), run_floor(6, MIDNIGHT, 3)
    assert [e["type"] for e in first] != [e["type"] for e in second]


def test_events_do_not_depend_on_how_time_is_sliced():
    floor = CallFloor(5, MIDNIGHT)
    sliced: list[dict] = []
    moment, end = MIDNIGHT, MIDNIGHT + timedelta(hours=3)
    while moment < end:
        moment = min(moment + timedelta(seconds=7.3), end)
        sliced.extend(floor.events_until(moment))
    assert sliced == run_floor(5, MIDNIGHT, 3)
    assert floor.events_until(moment - timedelta(minutes=5)) == []


def test_ids_and_seqs_keep_growing_across_runs():
    first_run = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    restart = first_run + timedelta(minutes=5)
    before = run_floor(5, MIDNIGHT, 1, run_started=first_run)
    after = run_floor(5, MIDNIGHT, 1, run_started=restart)
    assert before[0]["seq"] == int(first_run.timestamp()) * 1_000_000 + 1
    assert [e["seq"] for e in before] == list(range(before[0]["seq"], before[-1]["seq"] + 1))
    assert after[0]["seq"] > before[-1]["seq"]
    call_ids = lambda run: {e["call_id"] for e in run if "call_id" in e}  # noqa: E731
    assert not {e["id"] for e in before} & {e["id"] for e in after}
    assert not call_ids(before) & call_ids(after)


def test_start_must_carry_a_time_zone():
    with pytest.raises(ValueError):
        CallFloor(1, datetime(2026, 11, 23, 9, 0))


# -- the floor: protocol and consistency -------------------------------------------------


def test_every_event_follows_protocol_v1(two_days):
    problems = {e["id"]: protocol_errors(e) for e in two_days}
    assert {k: v for k, v in problems.items() if v} == {}
    assert {e["type"] for e in two_days} == set(FIELDS)


def test_floor_is_consistent_call_by_call_and_agent_by_agent(two_days):
    assert consistency_errors(two_days)[:10] == []


def test_every_call_ends_or_is_abandoned(two_days):
    horizon = MIDNIGHT + timedelta(hours=46)
    finished = {
        e["call_id"] for e in two_days if e["type"] in ("call.ended", "call.abandoned")
    }
    unfinished = [
        e["call_id"] for e in by_type(two_days, "call.queued")
        if parse_ts(e["ts"]) < horizon and e["call_id"] not in finished
    ]
    assert unfinished == []
    abandoned = {e["call_id"] for e in by_type(two_days, "call.abandoned")}
    assert not abandoned & {e["call_id"] for e in by_type(two_days, "call.ended")}


def test_agents_have_mixed_names_teams_breaks_and_shifts(two_days):
    logins = [e for e in by_type(two_days, "agent.state") if "name" in e]
    names = {e["name"] for e in logins}
    assert len({e["agent"] for e in logins}) == 60
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names)
    assert any(re.fullmatch(r"[A-Za-z]+ [A-Za-z]+", n) for n in names)
    assert len({e["team"] for e in logins}) >= 3
    reasons = collections.Counter(
        (e["state"], e["reason"]) for e in by_type(two_days, "agent.state") if "reason" in e
    )
    assert {("break", "lunch"), ("break", "short_break")} <= set(reasons)
    assert {r for s, r in reasons if s == "not_ready"} >= {"coaching", "training"}
    logouts = [e for e in by_type(two_days, "agent.state") if e["state"] == "logged_out"]
    assert len(logouts) >= 60  # everyone finishes at least one shift in two days


def test_each_queues_members_are_announced_when_the_floor_opens_and_when_an_agent_is_lent(two_days):
    floor = CallFloor(11, MIDNIGHT)
    first_seq = floor.next_seq  # a feed numbers from here: nothing is produced before the first run
    produced = floor.events_until(MIDNIGHT)
    assert produced[0]["seq"] == first_seq
    opening = [e for e in produced if e["type"] == "queue.members"]
    assert [e["ts"] for e in opening] == [MIDNIGHT.astimezone(UTC).isoformat(timespec="milliseconds")] * 4
    assert {e["queue"]: set(e["agents"]) for e in opening} == {
        queue: {p.id for p in floor.roster if queue in p.skills} for queue in floor.queues}
    # Two days of the default floor: callers sometimes wait two minutes, and a queue borrows an
    # agent from the others, announced with one more member, then gives them back.
    announced = collections.defaultdict(list)
    for e in by_type(two_days, "queue.members"):
        announced[e["queue"]].append(len(e["agents"]))
    grown = {q for q, sizes in announced.items() if any(b > a for a, b in zip(sizes, sizes[1:], strict=False))}
    shrunk = {q for q, sizes in announced.items() if any(b < a for a, b in zip(sizes, sizes[1:], strict=False))}
    assert grown and grown == shrunk


# -- the floor: shutting down -------------------------------------------------------------


def busy_moment_floor() -> tuple[CallFloor, list[dict]]:
    """A thin roster at the late-morning peak, stopped at a moment when callers are
    waiting and a call is on hold; returns the floor and its events so far."""
    start = MIDNIGHT + timedelta(hours=10)
    floor = CallFloor(3, start, agents=20, peak_calls_per_minute=5)
    events = floor.events_until(start + timedelta(minutes=30))
    while True:
        events += floor.events_until(floor.now + timedelta(seconds=5))
        unfinished, held, _ = still_open(events)
        answered = {e["call_id"] for e in by_type(events, "call.answered")}
        if held and unfinished - answered:
            return floor, events
        assert floor.now < start + timedelta(hours=2), "no busy moment found"


def test_shutdown_releases_every_call_and_caller_and_logs_everyone_out():
    floor, before = busy_moment_floor()
    unfinished, held, logged_in = still_open(before)
    final = floor.shutdown()
    events = before + final

    assert still_open(events) == (set(), set(), set())
    assert consistency_errors(events)[:10] == []
    assert {e["id"]: protocol_errors(e) for e in final if protocol_errors(e)} == {}
    assert {parse_ts(e["ts"]) for e in final} == {floor.now}
    assert [e["seq"] for e in final] == list(
        range(before[-1]["seq"] + 1, before[-1]["seq"] + 1 + len(final))
    )
    # Exactly what was open gets closed: no abandons, no complaint settled, the queues' members kept.
    assert {e["type"] for e in final} == {"call.hold_ended", "call.ended", "agent.state"}
    assert {e["call_id"] for e in by_type(final, "call.hold_ended")} == held
    ended = {e["call_id"]: e for e in by_type(final, "call.ended")}
    assert set(ended) == unfinished
    # The replay above checked that each call ends with its current agent, if any.
    for e in ended.values():
        assert e["released_by"] == "system" and "resolved" not in e
        assert e.get("disposition") == ("system_shutdown" if "agent" in e else None)
    assert any("agent" in e for e in ended.values())  # calls in progress
    assert any("agent" not in e for e in ended.values())  # callers who were waiting
    logouts = by_type(final, "agent.state")
    assert {e["agent"] for e in logouts} == logged_in
    assert all(e["state"] == "logged_out" and e["reason"] == "system_shutdown" for e in logouts)


def test_a_shut_down_floor_produces_nothing_more():
    floor = CallFloor(5, MIDNIGHT, agents=20)
    floor.events_until(MIDNIGHT + timedelta(hours=1))
    assert floor.shutdown()
    stopped_at = floor.now
    assert floor.events_until(MIDNIGHT + timedelta(days=3)) == []
    assert floor.shutdown() == []
    assert floor.now == stopped_at


# -- the floor: realism --------------------------------------------------------------


def test_more_agents_answer_more_calls_within_15_seconds():
    # The same callers (peak load of 5 calls a minute, from 10:00) against two rosters.
    ten = MIDNIGHT + timedelta(hours=10)
    thin_sl, thin_abandoned, offered = service_figures(
        run_floor(3, ten, 2, agents=20, peak_calls_per_minute=5)
    )
    full_sl, full_abandoned, _ = service_figures(
        run_floor(3, ten, 2, agents=60, peak_calls_per_minute=5)
    )
    print(f"on time 20 agents {thin_sl:.2f}, 60 agents {full_sl:.2f}; "
          f"abandoned {thin_abandoned:.2f} vs {full_abandoned:.2f}; offered {offered}")
    assert offered > 400
    assert full_sl > thin_sl + 0.3
    assert thin_abandoned > full_abandoned + 0.15


def test_default_floor_is_busy_but_mostly_within_service_level(two_days):
    day_two = [e for e in two_days if parse_ts(e["ts"]) >= MIDNIGHT + timedelta(hours=24)]
    on_time, abandoned, offered = service_figures(day_two)
    print(f"default floor, one day: on time {on_time:.2f}, abandoned {abandoned:.2f}, "
          f"offered {offered}")
    assert 0.7 <= on_time <= 0.92
    assert 0.02 <= abandoned <= 0.12
    for hours in range(24, 48, 6):
        window = [
            e for e in two_days
            if timedelta(hours=hours) <= parse_ts(e["ts"]) - MIDNIGHT
            < timedelta(hours=hours + 6)
        ]
        assert 0.6 <= service_figures(window)[0] <= 0.97


def test_arrivals_follow_the_time_of_day_and_never_stop(two_days):
    per_hour = collections.Counter(
        parse_ts(e["ts"]).astimezone(SHANGHAI).hour for e in by_type(two_days, "call.queued")
    )
    busiest = max(per_hour.values())
    assert per_hour[11] > 2 * per_hour[3]
    assert per_hour[12] < per_hour[11]  # the lunch dip
    assert min(per_hour.values()) >= 0.25 * busiest  # a 3 am demo still moves
    assert min(per_hour.values()) >= 2 * 40  # calls per hour, over two days


def test_some_holds_exceed_a_minute(two_days):
    started = {e["call_id"]: parse_ts(e["ts"]) for e in by_type(two_days, "call.hold_started")}
    lengths = [
        (parse_ts(e["ts"]) - started[e["call_id"]]).total_seconds()
        for e in by_type(two_days, "call.hold_ended")
    ]
    long_share = sum(1 for s in lengths if s > 60) / len(lengths)
    held_share = len(started) / len(by_type(two_days, "call.answered"))
    print(f"holds over 60 s: {long_share:.2f}; calls with a hold: {held_share:.2f}")
    assert 0.1 <= long_share <= 0.35
    assert 0.15 <= held_share <= 0.35


def test_call_outcomes_look_like_a_real_floor(two_days):
    ended = by_type(two_days, "call.ended")
    released = collections.Counter(e["released_by"] for e in ended)
    resolved = sum(1 for e in ended if e["resolved"]) / len(ended)
    transfers = by_type(two_days, "call.transferred")
    answered_calls = {e["call_id"] for e in by_type(two_days, "call.answered")}
    assert 0.75 <= resolved <= 0.85
    assert released["customer"] > released["agent"] > released["system"] > 0
    assert 0.1 <= released["agent"] / len(ended) <= 0.2
    assert 0.03 <= len(transfers) / len(answered_calls) <= 0.07
    assert any("to_agent" in e for e in transfers) and any("to_queue" in e for e in transfers)
    # A call sent back to a queue is answered once more for every time it was sent back.
    requeued = collections.Counter(e["call_id"] for e in transfers if "to_queue" in e)
    answers = collections.Counter(e["call_id"] for e in by_type(two_days, "call.answered"))
    finished = {e["call_id"] for e in ended if e.get("agent")}
    assert requeued and all(answers[c] == 1 + n for c, n in requeued.items() if c in finished)


def test_surveys_follow_a_share_of_calls_and_punish_unresolved_ones(two_days):
    ended = {e["call_id"]: e for e in by_type(two_days, "call.ended")}
    surveys = by_type(two_days, "survey.completed")
    assert 0.25 <= len(surveys) / len(ended) <= 0.35
    assert all(s["agent"] == ended[s["call_id"]]["agent"] for s in surveys)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    happy = mean([s["score"] for s in surveys if ended[s["call_id"]]["resolved"]])
    unhappy = mean([s["score"] for s in surveys if not ended[s["call_id"]]["resolved"]])
    assert happy >= 4.0 > 3.2 > unhappy


def test_complaints_get_callbacks_mostly_on_time_some_late(two_days):
    opened = {e["complaint_id"]: e for e in by_type(two_days, "complaint.opened")}
    callbacks = {e["complaint_id"]: e for e in by_type(two_days, "complaint.callback_made")}
    calls = len(by_type(two_days, "call.ended"))
    assert 0.02 <= len(opened) / calls <= 0.045
    # Look only at complaints whose promise (and a good margin) fell inside the run.
    end = MIDNIGHT + timedelta(hours=48)
    settled = [c for c, e in opened.items() if parse_ts(e["due"]) + timedelta(hours=1) < end]
    on_time = late = never = 0
    for complaint_id in settled:
        callback = callbacks.get(complaint_id)
        if callback is None:
            never += 1
        elif callback["ts"] <= opened[complaint_id]["due"]:
            on_time += 1
        else:
            late += 1
    print(f"complaint callbacks: {on_time} on time, {late} late, {never} not yet")
    assert on_time > late > 0
    assert never > 0
    severities = collections.Counter(e["severity"] for e in opened.values())
    assert severities["high"] and severities["normal"]
    for e in opened.values():
        promised = parse_ts(e["due"]) - parse_ts(e["ts"])
        assert promised == timedelta(hours=2 if e["severity"] == "high" else 24)


# -- the feed server over loopback websockets ------------------------------------------

BACKFILL = timedelta(hours=1)
FEED_START = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def feed_floor() -> CallFloor:
    return CallFloor(21, FEED_START)


@pytest.fixture
def reference() -> list[dict]:
    """The events the feed's floor produces, computed independently of the server."""
    return feed_floor().events_until(FEED_START + BACKFILL + timedelta(hours=2))


@pytest.fixture
async def feed():
    server = FeedServer(feed_floor(), speed=100, backfill=BACKFILL, resume_window=0.3)
    async with server:
        yield server


def backfill_of(reference: list[dict]) -> list[dict]:
    anchor = FEED_START + BACKFILL
    return [e for e in reference if parse_ts(e["ts"]) <= anchor]


async def receive(websocket, count: int) -> tuple[list[dict], list[object]]:
    """Receive at least ``count`` events; return them and the decoded messages."""
    events: list[dict] = []
    messages: list[object] = []
    async with asyncio.timeout(TIMEOUT):
        while len(events) < count:
            message = json.loads(await websocket.recv())
            messages.append(message)
            events.extend(message if isinstance(message, list) else [message])
    return events, messages


async def resume(websocket, after_seq: int) -> None:
    await websocket.send(json.dumps({"op": "resume", "after_seq": after_seq}))


async def test_resume_replays_exactly_the_events_after_seq_then_live_ones(feed, reference):
    backfilled = backfill_of(reference)
    after = backfilled[99]["seq"]
    async with connect(feed.url) as websocket:
        await resume(websocket, after)
        wanted = len(backfilled) - 100 + 50  # the rest of the backfill, then live events
        events, _ = await receive(websocket, wanted)
    assert events == reference[100 : 100 + len(events)]
    assert [e["seq"] for e in events] == list(range(after + 1, after + 1 + len(events)))
    assert parse_ts(events[-1]["ts"]) > FEED_START + BACKFILL


async def test_backfill_arrives_at_once_in_arrays_of_up_to_500(feed, reference):
    backfilled = backfill_of(reference)
    assert len(backfilled) > 1000
    async with connect(feed.url) as websocket:
        await resume(websocket, 0)
        events, messages = await receive(websocket, len(backfilled))
    assert events[: len(backfilled)] == backfilled
    assert isinstance(messages[0], list) and len(messages[0]) == 500
    assert all(len(m) <= 500 for m in messages if isinstance(m, list))


async def test_resume_from_a_previous_run_replays_everything_kept(feed, reference):
    earlier_run = reference[0]["seq"] - 3_600 * 1_000_000
    async with connect(feed.url) as websocket:
        await resume(websocket, earlier_run)
        events, _ = await receive(websocket, 10)
    assert events[:10] == reference[:10]


async def test_two_clients_keep_their_own_positions_and_survive_each_other(feed, reference):
    backfilled = backfill_of(reference)
    async with connect(feed.url) as first, connect(feed.url) as second:
        await resume(first, 0)
        await resume(second, backfilled[-10]["seq"])
        from_start, _ = await receive(first, 600)
        await first.close()
        # The second client goes on with live events after the first has left.
        from_end, _ = await receive(second, 60)
    assert from_start == reference[: len(from_start)]
    tail = len(backfilled) - 9
    assert from_end == reference[tail : tail + len(from_end)]


async def test_client_that_does_not_resume_gets_live_events_only(feed):
    before = feed.last_seq
    async with connect(feed.url) as websocket:
        connected_after = feed.last_seq  # the feed may have moved on while the connection was made
        events, _ = await receive(websocket, 20)
    assert before + 1 <= events[0]["seq"] <= connected_after + 1
    first = events[0]["seq"]
    assert [e["seq"] for e in events] == list(range(first, first + len(events)))
    assert all(parse_ts(e["ts"]) > FEED_START + BACKFILL for e in events)


async def test_unknown_client_messages_are_ignored(feed, reference):
    async with connect(feed.url) as websocket:
        await websocket.send(json.dumps({"op": "subscribe", "to": "everything"}))
        await websocket.send("not json")
        await resume(websocket, reference[4]["seq"])
        events, _ = await receive(websocket, 5)
        await websocket.send(json.dumps({"op": "ping"}))
        more, _ = await receive(websocket, 5)
    assert events + more == reference[5 : 5 + len(events) + len(more)]


async def test_demo_server_opens_the_floor_backfill_ago_and_numbers_by_run():
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    server = demo_server(
        seed=2, agents=20, backfill=timedelta(hours=1), port=0, now=now, local_tz=SHANGHAI
    )
    assert server.floor.start == now - timedelta(hours=1)
    assert server.floor.next_seq == int(now.timestamp()) * 1_000_000 + 1
    async with server:
        assert server.port > 0
        backfilled = server.last_seq - int(now.timestamp()) * 1_000_000
        assert backfilled > 200  # an hour of the floor is ready at once


async def test_resume_older_than_the_kept_history_starts_at_the_oldest_kept_event(reference):
    server = FeedServer(
        feed_floor(), speed=100, backfill=BACKFILL, resume_window=0.3, history_limit=200
    )
    async with server:
        async with connect(server.url) as websocket:
            oldest_kept = server.last_seq - 200 - 10 + 1  # 200 kept, 10 more before a trim
            await resume(websocket, reference[0]["seq"])
            events, _ = await receive(websocket, 20)
    first = events[0]["seq"]
    assert oldest_kept <= first <= server.last_seq - 199
    assert events == reference[first - reference[0]["seq"] :][: len(events)]


async def receive_until_closed(websocket) -> list[dict]:
    """Receive every event until the server closes the connection with 1001."""
    events: list[dict] = []
    with pytest.raises(ConnectionClosedOK):
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = json.loads(await websocket.recv())
                events.extend(message if isinstance(message, list) else [message])
    assert websocket.close_code == 1001  # going away
    return events


async def test_closing_sends_the_shutdown_events_to_connected_clients_first(feed):
    async with connect(feed.url) as replaying, connect(feed.url) as just_connected:
        await resume(replaying, 0)  # the whole run, so this client can replay it
        replayed, _ = await receive(replaying, 20)
        # The second client is still in its resume window: it gets live events only.
        closing = asyncio.create_task(feed.close())
        replayed += await receive_until_closed(replaying)
        live = await receive_until_closed(just_connected)
        await closing
    assert [e["seq"] for e in replayed] == list(range(replayed[0]["seq"], feed.last_seq + 1))
    assert replayed[-1]["reason"] == "system_shutdown"
    assert still_open(replayed) == (set(), set(), set())
    assert consistency_errors(replayed)[:10] == []
    assert live and live == replayed[len(replayed) - len(live) :]  # ends with the shutdown


async def test_run_simulator_stops_cleanly_when_asked():
    stop = asyncio.Event()
    running = asyncio.create_task(run_simulator("127.0.0.1", 0, 1, 20, 1.0, 5, stop))
    stop.set()
    async with asyncio.timeout(TIMEOUT):
        await running
