"""Property: the floor state depends on which events arrived, not on how or how often they arrived.

Hypothesis builds a small, realistic floor — calls that wait, are abandoned, answered, held,
transferred and released, agents changing state, complaints opened, called back and closed,
surveys, queues' members announced and announced again — with a distinct id and a distinct
instant per event. The same events are then written three ways, each into an empty database:

(a) in time order, as one message in one batch;
(b) shuffled and cut into random messages and batches;
(c) shuffled with random repeats (same id again, within a batch and across batches), then the
    whole stream replayed once more, as a feed that ignores our resume position would.

All three must leave identical rows in every derived table and store each event id once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

FEED = "pbx"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# The same instant may be written with any offset; the feed's clock zone must not matter.
ZONES = (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)))
QUEUES = ("billing", "repairs", "sales")
STATES = ("logged_out", "available", "on_call", "after_call_work", "break", "not_ready")
RELEASED_BY = ("agent", "customer", "system")
SEVERITIES = ("low", "medium", "high")
# Each agent is announced with one fixed name and team. The directory keeps the name of the
# latest event *applied* that carries one, so an agent renamed mid-stream would legitimately end
# up with a name that depends on arrival order; that is outside this property. Whether an
# agent.state event carries the name and team at all is drawn per event (both are optional).
AGENTS = {"a1": ("王芳", "east"), "a2": ("Siobhan O'Neill", "west"), "a3": ("Ngozi Adeyemi", "night")}
DERIVED = ("calls", "hold_spans", "agents", "agent_states", "complaints", "surveys", "queue_members")
TABLES = "event_log, calls, hold_events, agents, agent_states, complaints, surveys, queue_members, feeds, dead_letters"

agent_ids = st.sampled_from(sorted(AGENTS))
callers = st.sampled_from(("+86 138 0000 0001", "+1 212 555 0199", "+44 20 7946 0958"))
# A feed may announce the same fact again under a new id, with other details. Per docs/events.md
# the earliest timestamp of each kind of event wins, whatever order the copies arrive in.
RESENT_FIELD = {
    "call.queued": ("queue", st.sampled_from(QUEUES)),
    "call.answered": ("agent", agent_ids),
    "call.ended": ("released_by", st.sampled_from(RELEASED_BY)),
    "complaint.opened": ("severity", st.sampled_from(SEVERITIES)),
    "complaint.callback_made": ("agent", agent_ids),
    "complaint.closed": ("resolved", st.booleans()),
    "survey.completed": ("score", st.integers(1, 5)),
}


def _optional(draw, event: dict, field: str, values) -> None:
    if draw(st.booleans()):
        event[field] = draw(values)


def _holds(draw, call_id: str, agent: str) -> list[dict]:
    story = []
    for _ in range(draw(st.integers(0, 2))):
        story.append({"type": "call.hold_started", "call_id": call_id, "agent": agent})
        story.append({"type": "call.hold_ended", "call_id": call_id, "agent": agent})
    if story and draw(st.booleans()):
        story.pop()  # the last hold never ended: its span runs to the end of the call
    return story


@st.composite
def call_story(draw, call_id: str) -> list[dict]:
    story = [{"type": "call.queued", "call_id": call_id, "queue": draw(st.sampled_from(QUEUES)),
              "caller": draw(callers)}]
    outcome = draw(st.sampled_from(("waiting", "abandoned", "answered")))
    if outcome == "waiting":
        return story
    if outcome == "abandoned":
        story.append({"type": "call.abandoned", "call_id": call_id})
        if draw(st.booleans()):
            story.append({"type": "call.ended", "call_id": call_id, "released_by": "customer"})
        return story
    agent = draw(agent_ids)
    story.append({"type": "call.answered", "call_id": call_id, "agent": agent})
    story += _holds(draw, call_id, agent)
    transfer = draw(st.sampled_from((None, "to_agent", "to_queue")))
    if transfer is not None:
        other = draw(st.sampled_from([a for a in sorted(AGENTS) if a != agent]))
        if transfer == "to_agent":
            story.append({"type": "call.transferred", "call_id": call_id, "from_agent": agent, "to_agent": other})
        else:  # back in line, then answered again (the first answer is the one that counts)
            story.append({"type": "call.transferred", "call_id": call_id, "from_agent": agent,
                          "to_queue": draw(st.sampled_from(QUEUES))})
            story.append({"type": "call.answered", "call_id": call_id, "agent": other})
        agent = other
        story += _holds(draw, call_id, agent)
    if draw(st.booleans()):
        return story  # still talking
    ended = {"type": "call.ended", "call_id": call_id, "agent": agent,
             "released_by": draw(st.sampled_from(RELEASED_BY))}
    _optional(draw, ended, "resolved", st.booleans())
    _optional(draw, ended, "disposition", st.sampled_from(("sale", "info", "")))
    story.append(ended)
    if draw(st.booleans()):
        story.append({"type": "survey.completed", "call_id": call_id, "agent": agent, "score": draw(st.integers(1, 5))})
    return story


@st.composite
def agent_story(draw, agent: str) -> list[dict]:
    name, team = AGENTS[agent]
    story = []
    for _ in range(draw(st.integers(1, 3))):
        event = {"type": "agent.state", "agent": agent, "state": draw(st.sampled_from(STATES))}
        _optional(draw, event, "name", st.just(name))
        _optional(draw, event, "team", st.just(team))
        _optional(draw, event, "reason", st.sampled_from(("lunch", "training", "system_shutdown")))
        story.append(event)
    return story


@st.composite
def complaint_story(draw, complaint_id: str, call_ids: list[str]) -> list[dict]:
    opened = {"type": "complaint.opened", "complaint_id": complaint_id, "agent": draw(agent_ids),
              "customer": draw(st.sampled_from(("李娜", "Ada Okafor"))),
              "due_in_s": draw(st.sampled_from((3600, 7200)))}  # becomes "due" once the time is known
    if call_ids:
        _optional(draw, opened, "call_id", st.sampled_from(call_ids))
    _optional(draw, opened, "severity", st.sampled_from(SEVERITIES))
    story = [opened]
    if draw(st.booleans()):
        story.append({"type": "complaint.callback_made", "complaint_id": complaint_id, "agent": draw(agent_ids)})
    if draw(st.booleans()):
        closed = {"type": "complaint.closed", "complaint_id": complaint_id}
        _optional(draw, closed, "resolved", st.booleans())
        story.append(closed)
    return story


@st.composite
def members_story(draw, queue: str) -> list[dict]:
    """A queue's members announced a few times, each time the whole list (the latest one wins)."""
    return [{"type": "queue.members", "queue": queue, "agents": sorted(draw(st.sets(agent_ids)))}
            for _ in range(draw(st.integers(1, 3)))]


@st.composite
def resent(draw, story: list[dict]) -> list[dict]:
    """Maybe announce one event of the story again, under a new id, later, with another detail."""
    candidates = [i for i, event in enumerate(story) if event["type"] in RESENT_FIELD]
    if not candidates or not draw(st.booleans()):
        return story
    i = draw(st.sampled_from(candidates))
    field, values = RESENT_FIELD[story[i]["type"]]
    again = {**story[i], field: draw(values)}
    at = draw(st.integers(i + 1, len(story)))
    return [*story[:at], again, *story[at:]]


@st.composite
def floors(draw) -> list[dict]:
    """A few calls, agents and complaints as valid protocol events, in time order, ids e1, e2, ..."""
    call_ids = [f"c{n}" for n in range(1, draw(st.integers(0, 3)) + 1)]
    stories = [draw(resent(draw(call_story(c)))) for c in call_ids]
    stories += [draw(agent_story(a)) for a in draw(st.sets(agent_ids, min_size=1, max_size=2))]
    stories += [draw(resent(draw(complaint_story(f"k{n}", call_ids)))) for n in range(1, draw(st.integers(0, 2)) + 1)]
    stories += [draw(members_story(q)) for q in sorted(draw(st.sets(st.sampled_from(QUEUES), max_size=2)))]
    # Stories interleave: a random merge of them, each kept in its own order, then one strictly
    # increasing instant per event (written with a random UTC offset), ids and seqs in time order.
    turns = draw(st.permutations([n for n, story in enumerate(stories) for _ in story]))
    pending = [iter(story) for story in stories]
    at = T0
    events = []
    for seq, n in enumerate(turns, start=1):
        event = dict(next(pending[n]))
        at += timedelta(milliseconds=draw(st.integers(1, 90_000)))
        if "due_in_s" in event:
            event["due"] = (at + timedelta(seconds=event.pop("due_in_s"))).isoformat()
        stamp = at.astimezone(draw(st.sampled_from(ZONES))).isoformat(timespec="milliseconds")
        events.append({"id": f"e{seq}", "seq": seq, **event, "ts": stamp})
    return events


def _cut(draw, items: list) -> list[list]:
    """Split a non-empty list into consecutive non-empty pieces, cutting between items at random."""
    pieces = [[items[0]]]
    for item in items[1:]:
        if draw(st.booleans()):
            pieces.append([])
        pieces[-1].append(item)
    return pieces


@st.composite
def deliveries(draw, count: int, repeats: bool) -> list[list[list[int]]]:
    """Event indexes as writes (batches) of messages: shuffled, cut, and maybe with repeats."""
    order = list(range(count))
    if repeats:
        order += draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=count))
    messages = _cut(draw, draw(st.permutations(order)))
    writes = _cut(draw, messages)
    if repeats:
        writes.append([list(range(count))])  # the whole stream once more
    return writes


@dataclass
class Scenario:
    events: list[dict]
    shuffled: list[list[list[int]]]
    repeated: list[list[list[int]]]


@st.composite
def scenarios(draw) -> Scenario:
    events = draw(floors())
    return Scenario(events, draw(deliveries(len(events), repeats=False)), draw(deliveries(len(events), repeats=True)))


def message(events: list[dict]) -> Received:
    parsed, rejects = parse_message(json.dumps(events))
    assert rejects == [], "the generator must only make valid events"
    return Received(datetime.now(UTC), parsed, rejects)


async def written(pool, events: list[dict], writes: list[list[list[int]]]) -> tuple[dict, list]:
    """Write into an empty database; return the derived rows and event_log's (id, type) rows."""
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {TABLES}")
    writer = EventWriter(pool, FEED)
    for write in writes:
        await writer.write([message([events[i] for i in indexes]) for indexes in write])
    async with pool.acquire() as conn:
        state = {table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table} AS r ORDER BY r")]
                 for table in DERIVED}
        log = [tuple(r) for r in await conn.fetch("SELECT event_id, type FROM event_log ORDER BY event_id")]
    return state, log


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
async def test_duplicates_and_arrival_order_do_not_change_the_floor_state(pool, scenario):
    events = scenario.events
    in_order, log = await written(pool, events, [[list(range(len(events)))]])
    assert sorted(log) == sorted((e["id"], e["type"]) for e in events)  # each id exactly once

    shuffled, shuffled_log = await written(pool, events, scenario.shuffled)
    assert shuffled_log == log
    for table in DERIVED:
        assert shuffled[table] == in_order[table], f"{table} differs when events arrive shuffled"

    repeated, repeated_log = await written(pool, events, scenario.repeated)
    assert repeated_log == log
    for table in DERIVED:
        assert repeated[table] == in_order[table], f"{table} differs when events arrive repeated"


async def test_an_agent_announced_in_parts_keeps_both_name_and_team_whatever_the_batching(pool):
    # The smallest floor the property above shrinks to when name and team come separately: the
    # directory must hold a1 = (王芳, east) whether the two events arrive together or apart.
    events = [
        {"id": "e1", "type": "agent.state", "ts": "2026-11-23T09:00:00+00:00", "agent": "a1",
         "state": "available", "name": "王芳"},
        {"id": "e2", "type": "agent.state", "ts": "2026-11-23T09:01:00+00:00", "agent": "a1",
         "state": "break", "team": "east"},
    ]
    apart, _ = await written(pool, events, [[[0]], [[1]]])
    together, _ = await written(pool, events, [[[0, 1]]])
    assert apart["agents"] == [("a1", "王芳", "east")]
    assert together["agents"] == [("a1", "王芳", "east")]
