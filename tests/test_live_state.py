"""Property: the live state kept in memory gives the snapshot read from the database, after every batch.

Seeded random streams of events (calls waiting, answered, sent back to a queue, abandoned, held
and released; surveys; complaints opened, called back and closed; agents changing state; queues'
members) go through the real ingest writer into a real PostgreSQL, shuffled, cut into batches,
with repeats (the same event again) and late events (before the day began, or after "now"). After
every batch the state hears the batch's real NOTIFY payloads, which carry the rows the batch
touched, and its snapshot, as of a moment drawn around the site's local midnight (so that today's
counts restart), must equal :meth:`dashboard.data.LiveData.snapshot`'s of the same moment, the
snapshot it gave before must be as it was (a refresh reuses what did not change, and never changes
a snapshot handed out), and the state must not have read the database for it (it reads only when
the day changes or the tables were emptied under it). A failure prints the stream.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts import outbox
from alerts.rota import Recipient
from callboard.metrics import Thresholds
from dashboard.data import LiveData
from dashboard.live_state import LiveState
from db.changes import ALERTS_CHANNEL, CHANNEL
from db.pool import connect
from ingest.protocol import parse_message
from ingest.writer import KEYS_GATHERED_UP_TO_EVENTS, EventWriter, Received

from .conftest import wait_for

ZONE = ZoneInfo("Asia/Shanghai")
MIDNIGHT = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 00:00 on 24 November in Shanghai
# Streams per run; CALLBOARD_TEST_LIVE_STREAMS=20000 for a longer search.
STREAMS = int(os.environ.get("CALLBOARD_TEST_LIVE_STREAMS", "1500"))
# The tables are emptied after this many streams, so that each snapshot stays small.
STREAMS_PER_DATABASE = 40
TABLES = "event_log, calls, hold_events, agents, agent_states, complaints, surveys, queue_members, dead_letters"
QUEUES = ("billing", "repairs")
STATES = ("logged_out", "available", "on_call", "after_call_work", "break", "not_ready")


def _moment(rng: random.Random) -> float:
    """Seconds from local midnight: mostly near it, on a 5 s grid (the thresholds' edges are hit),
    now and then long before the day began."""
    if rng.random() < 0.05:
        return -rng.randrange(0, 100_000, 5)
    return rng.randrange(-400, 600, 5) + (rng.random() < 0.2) * rng.random()


def _after(rng: random.Random, moment: float) -> float:
    """A moment soon after ``moment`` (often exactly at a threshold's edge: 5, 15 and 60 s), or anywhere."""
    if rng.random() < 0.75:
        return moment + rng.choice((0, 5, 10, 15, 20, 60, 65, 300))
    return _moment(rng)


class Stream:
    """One random stream: its events, the batches they are written in, and the moments compared at."""

    def __init__(self, number: int, rng: random.Random) -> None:
        self.number, self.rng = number, rng
        self.events: list[dict] = []
        agents = [f"s{number}a{n}" for n in range(rng.randint(1, 3))]
        for agent in agents:
            for _ in range(rng.randint(0 if rng.random() < 0.1 else 1, 3)):
                extra = {"name": rng.choice(("王芳", "Ngozi"))} if rng.random() < 0.5 else {}
                extra |= {"team": rng.choice(("east", "west"))} if rng.random() < 0.5 else {}
                self.add("agent.state", agent=agent, state=rng.choice(STATES), **extra)
        for n in range(rng.randint(0, 3)):
            self.call(f"s{number}c{n}", agents)
        for n in range(rng.randint(0, 2)):
            self.complaint(f"s{number}k{n}", agents)
        if rng.random() < 0.3:
            self.add("queue.members", queue=rng.choice(QUEUES), agents=rng.sample(agents, rng.randint(0, len(agents))))
        self.batches = self._batches()
        self.nows = [MIDNIGHT + timedelta(seconds=rng.randrange(-300, 700, 5) + rng.random() * (rng.random() < 0.3))
                     for _ in self.batches]

    def add(self, type_: str, at: float | None = None, **fields) -> float:
        at = _moment(self.rng) if at is None else at
        self.events.append({"id": f"s{self.number}e{len(self.events)}", "type": type_,
                            "ts": (MIDNIGHT + timedelta(seconds=at)).isoformat(), **fields})
        return at

    def call(self, call_id: str, agents: list[str]) -> None:
        rng = self.rng
        at = _moment(rng)
        if rng.random() < 0.9:
            self.add("call.queued", at, call_id=call_id, queue=rng.choice(QUEUES), caller="+86 138 0000 0001")
        if rng.random() < 0.6:
            agent = rng.choice(agents)
            at = self.add("call.answered", _after(rng, at), call_id=call_id, agent=agent)
            if rng.random() < 0.15:  # the same, sent again with another time
                self.add("call.answered", _after(rng, at), call_id=call_id, agent=rng.choice(agents))
            hold_at = at
            for _ in range(rng.randint(0, 2)):
                hold_at = self.add("call.hold_started", _after(rng, hold_at), call_id=call_id, agent=agent)
                if rng.random() < 0.7:
                    hold_at = self.add("call.hold_ended", _after(rng, hold_at), call_id=call_id, agent=agent)
            if rng.random() < 0.2:
                self.add("call.transferred", _after(rng, at), call_id=call_id, from_agent=agent,
                         to_queue=rng.choice(QUEUES))
            if rng.random() < 0.6:
                extra = {"resolved": rng.random() < 0.5} if rng.random() < 0.7 else {}
                self.add("call.ended", _after(rng, hold_at), call_id=call_id, agent=agent,
                         released_by=rng.choice(("agent", "customer", "system")), **extra)
            if rng.random() < 0.4:
                self.add("survey.completed", call_id=call_id, agent=agent, score=rng.randint(1, 5))
        elif rng.random() < 0.5:
            self.add("call.abandoned", _after(rng, at), call_id=call_id)

    def complaint(self, complaint_id: str, agents: list[str]) -> None:
        rng = self.rng
        at = _moment(rng)
        due = _after(rng, at)
        self.add("complaint.opened", at, complaint_id=complaint_id, agent=rng.choice(agents), customer="Li Wei",
                 due=(MIDNIGHT + timedelta(seconds=due)).isoformat())
        if rng.random() < 0.4:
            self.add("complaint.callback_made", rng.choice((due, _after(rng, at))), complaint_id=complaint_id,
                     agent=rng.choice(agents))
        if rng.random() < 0.3:
            self.add("complaint.closed", complaint_id=complaint_id, resolved=rng.random() < 0.5)

    def _batches(self) -> list[list[dict]]:
        """The events shuffled, some repeated, cut into one to four batches."""
        rng = self.rng
        events = self.events + [rng.choice(self.events) for _ in range(rng.randint(0, 2))] if self.events else []
        rng.shuffle(events)
        cuts = sorted(rng.sample(range(1, len(events)), min(len(events) - 1, rng.randint(0, 3)))) if events else []
        return [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)] or [[]]

    def __str__(self) -> str:
        return "\n".join(f"batch {n}, compared as of {now.isoformat()}:\n" + json.dumps(batch, ensure_ascii=False)
                         for n, (batch, now) in enumerate(zip(self.batches, self.nows, strict=True)))


class CountedReads:
    """The pool the live state reads through, counting the connections it takes."""

    def __init__(self, pool) -> None:
        self._pool = pool
        self.count = 0

    def acquire(self):
        self.count += 1
        return self._pool.acquire()

    async def expire_connections(self) -> None:
        await self._pool.expire_connections()


def ends_a_change(payload: dict) -> bool:
    """Whether ``payload`` is the last of a change's (its only one, or its last part)."""
    return "rows" not in payload or payload["part"] == payload["parts"]


async def hear_the_change(heard: list[str], state: LiveState) -> dict:
    """Wait for the next change's payloads in ``heard`` (every part of it), tell ``state`` of each and
    take them out; returns its last."""
    await wait_for(lambda: asyncio.sleep(0, any(ends_a_change(json.loads(p)) for p in heard)),
                   message="the change's NOTIFY")
    while True:
        payload = json.loads(heard.pop(0))
        state.heard(payload)
        if ends_a_change(payload):
            return payload


async def test_the_live_state_gives_the_snapshot_read_from_the_database_after_every_batch(pool, database_url):
    thresholds = Thresholds()
    live = LiveData(pool, thresholds, ZONE, stale_after_s=30)
    reads = CountedReads(pool)
    state = LiveState(reads, live, thresholds)
    writer = EventWriter(pool, "pbx")
    heard: list[str] = []
    listener = await connect(database_url)
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
    rng = random.Random(20261124)
    given, as_given = None, None  # the state's latest snapshot, and a copy of it as it was given
    day = None  # the day of the state's latest snapshot
    try:
        for number in range(STREAMS):
            if number % STREAMS_PER_DATABASE == 0:
                async with pool.acquire() as conn:
                    await conn.execute(f"TRUNCATE {TABLES}")
                state.lost()  # nothing announces an emptied table
                day = None
            stream = Stream(number, rng)
            for batch, now in zip(stream.batches, stream.nows, strict=True):
                parsed, rejects = parse_message(json.dumps(batch))
                await writer.write([Received(datetime.now(UTC), parsed, rejects)])
                assert "everything" not in await hear_the_change(heard, state)
                read_before = reads.count
                mine = await state.snapshot(now)
                if now.astimezone(ZONE).date() == day:
                    assert reads.count == read_before, f"stream {number} made the state read the database"
                day = now.astimezone(ZONE).date()
                theirs = await live.snapshot(now=now)
                assert given == as_given, f"stream {number} changed the snapshot given before:\n{stream}"
                given, as_given = mine, copy.deepcopy(mine)
                if mine != theirs:
                    differs = {part: {"incremental": mine.get(part), "recomputed": theirs[part]}
                               for part in theirs if mine.get(part) != theirs[part]}
                    pytest.fail(f"stream {number} broke the live state:\n{stream}\n\ndiffers: "
                                f"{json.dumps(differs, ensure_ascii=False, default=str, indent=1)}")
    finally:
        await listener.close()


async def counted_state(pool, now: datetime) -> tuple[LiveState, LiveData, CountedReads]:
    """A live state that has read the day as of ``now``, the snapshot read whole beside it, and
    the count of the state's reads."""
    thresholds = Thresholds()
    live = LiveData(pool, thresholds, ZONE, stale_after_s=30)
    reads = CountedReads(pool)
    state = LiveState(reads, live, thresholds)
    assert (await state.snapshot(now))["queues"] == []
    return state, live, reads


def queued_calls(count: int) -> list[dict]:
    """``count`` calls queued in the first minutes of the day, with ids of 26 characters."""
    return [{"id": f"q{n}", "type": "call.queued", "ts": (MIDNIGHT + timedelta(seconds=n)).isoformat(),
             "call_id": f"a-call-with-a-long-id-{n:04}", "queue": "billing", "caller": "+86 138 0000 0001"}
            for n in range(count)]


async def announced(database_url, pool, events: list[dict]) -> list[str]:
    """Write ``events`` in one batch; the payloads it announced."""
    heard: list[str] = []
    listener = await connect(database_url)
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        parsed, _ = parse_message(json.dumps(events))
        await EventWriter(pool, "pbx").write([Received(datetime.now(UTC), parsed, [])])
        await wait_for(lambda: asyncio.sleep(0, any(ends_a_change(json.loads(p)) for p in heard)),
                       message="the batch's NOTIFY")
    finally:
        await listener.close()
    return heard


async def test_a_batch_announced_in_parts_counts_once_every_part_is_heard_and_is_read_by_no_dashboard(
        pool, database_url):
    now = MIDNIGHT + timedelta(minutes=30)
    state, live, reads = await counted_state(pool, now)
    texts = await announced(database_url, pool, queued_calls(400))  # more than one payload holds
    assert len(texts) > 1 and all(len(text.encode()) < 8000 for text in texts)
    payloads = [json.loads(text) for text in texts]
    assert [p["part"] for p in payloads] == list(range(1, len(payloads) + 1))
    read_before = reads.count
    for payload in payloads[:-1]:
        state.heard(payload)
    assert (await state.snapshot(now))["totals"]["offered"] == 0  # half a batch is not shown
    state.heard(payloads[-1])
    snapshot = await state.snapshot(now)
    assert snapshot["totals"]["offered"] == 400
    assert reads.count == read_before
    assert snapshot == await live.snapshot(now=now)


async def test_a_missed_part_makes_the_state_read_the_whole_day(pool, database_url):
    now = MIDNIGHT + timedelta(minutes=30)
    state, live, reads = await counted_state(pool, now)
    payloads = [json.loads(text) for text in await announced(database_url, pool, queued_calls(400))]
    read_before = reads.count
    for payload in payloads[:1] + payloads[2:]:
        state.heard(payload)
    assert (await state.snapshot(now))["totals"]["offered"] == 400
    assert reads.count == read_before + 1


async def test_a_batch_too_big_to_announce_row_by_row_makes_the_state_read_the_whole_day(pool, database_url):
    now = MIDNIGHT + timedelta(minutes=45)
    state, live, reads = await counted_state(pool, now)
    payloads = [json.loads(text) for text in await announced(database_url, pool,
                                                             queued_calls(KEYS_GATHERED_UP_TO_EVENTS + 1))]
    assert len(payloads) == 1 and payloads[0]["everything"] is True and "rows" not in payloads[0]
    read_before = reads.count
    state.heard(payloads[0])
    snapshot = await state.snapshot(now)
    assert snapshot["totals"]["offered"] == KEYS_GATHERED_UP_TO_EVENTS + 1
    assert reads.count == read_before + 1
    assert snapshot == await live.snapshot(now=now)


async def test_a_batch_heard_while_the_whole_day_is_read_leaves_the_freshness_it_announced(pool, database_url):
    now = MIDNIGHT + timedelta(minutes=50)
    state, live, reads = await counted_state(pool, now)
    payloads = [json.loads(text) for text in await announced(database_url, pool, queued_calls(3))]
    read_status = live.read_status

    async def read_as_before_the_batch(conn):  # the day's read began before the batch committed
        freshness, alerts = await read_status(conn)
        for payload in payloads:  # and the batch is heard while it goes on
            state.heard(payload)
        return {**freshness, "last_commit_at": None}, alerts

    live.read_status = read_as_before_the_batch
    state.lost()
    assert (await state.snapshot(now))["data_updated_at"] is None  # as the read found it
    live.read_status = read_status
    updated = (await state.snapshot(now))["data_updated_at"]
    assert updated is not None and updated == (await live.snapshot(now=now))["data_updated_at"]


async def test_a_difference_from_the_database_is_logged_and_repaired(pool, caplog):
    thresholds = Thresholds()
    live = LiveData(pool, thresholds, ZONE, stale_after_s=30)
    state = LiveState(pool, live, thresholds)
    now = MIDNIGHT + timedelta(minutes=30)
    await state.snapshot(now)
    # A write that announces nothing: the state cannot know of it until it checks.
    queued = {"id": "e1", "type": "call.queued", "ts": (MIDNIGHT + timedelta(minutes=1)).isoformat(),
              "call_id": "c1", "queue": "billing", "caller": "+86 138 0000 0001"}
    parsed, _ = parse_message(json.dumps([queued]))
    await EventWriter(pool, "pbx").write([Received(datetime.now(UTC), parsed, [])])
    assert (await state.snapshot(now))["totals"]["offered"] == 0
    with caplog.at_level(logging.WARNING, logger="dashboard.live_state"):
        differs = await state.check(now)
    assert {"queues", "totals"} <= set(differs)
    repaired = [r for r in caplog.records if getattr(r, "action", None) == "live_state_repaired"]
    assert len(repaired) == 1 and {"queues", "totals"} <= set(repaired[0].differs)
    assert (await state.snapshot(now))["totals"]["offered"] == 1
    assert await state.check(now) == []


async def test_alerts_raised_acknowledged_and_resolved_are_shown_from_their_announcements_alone(pool, database_url):
    now = MIDNIGHT + timedelta(minutes=30)
    state, live, reads = await counted_state(pool, now)
    heard: list[str] = []
    listener = await connect(database_url)
    await listener.add_listener(ALERTS_CHANNEL, lambda *args: heard.append(args[-1]))
    lead = Recipient("li-wei", "mail", "li.wei@example.com", None)
    # Details too long for a payload: that alert is announced by its id alone, and read.
    long_details = {"queue": "billing", "agent": "a017", "note": "x" * 9000}
    try:
        async with pool.acquire() as conn:
            small = await outbox.raise_alert(conn, kind="callback_overdue", subject="pbx/K1", at=now,
                                             details={"queue": "billing", "agent": "a017"}, recipients=[lead])
            big = await outbox.raise_alert(conn, kind="callback_overdue", subject="pbx/K2", at=now,
                                           details=long_details, recipients=[lead])
            await wait_for(lambda: asyncio.sleep(0, len(heard) == 2), message="the alerts' NOTIFY")
            for payload in heard:
                state.heard_alert(json.loads(payload))
            assert json.loads(heard[1]) == {"alert_id": big.alert_id}
            read_before = reads.count
            snapshot = await state.snapshot(now)
            assert [a["id"] for a in snapshot["alerts_open"]] == [small.alert_id, big.alert_id]
            assert reads.count == read_before + 1  # the big one's
            assert snapshot == await live.snapshot(now=now)

            heard.clear()
            await outbox.acknowledge(conn, small.alert_id, by="li-wei", at=now)
            await outbox.resolve(conn, big.alert_id, by="li-wei", at=now)
            await wait_for(lambda: asyncio.sleep(0, len(heard) == 2), message="the changes' NOTIFY")
            for payload in heard:
                state.heard_alert(json.loads(payload))
            read_before = reads.count
            snapshot = await state.snapshot(now)
            assert [(a["id"], a["state"]) for a in snapshot["alerts_open"]] == [(small.alert_id, "acknowledged")]
            assert reads.count == read_before + 1  # the big one's again
            assert snapshot == await live.snapshot(now=now)
    finally:
        await listener.close()


async def test_an_announcement_that_cannot_be_read_is_logged_and_the_day_read_instead(pool, database_url, caplog):
    now = MIDNIGHT + timedelta(minutes=30)
    state, live, reads = await counted_state(pool, now)
    payloads = [json.loads(text) for text in await announced(database_url, pool, queued_calls(3))]
    broken = {**payloads[-1], "rows": [["call", "pbx"]]}  # a call item without its rows
    read_before = reads.count
    with caplog.at_level(logging.WARNING, logger="dashboard.live_state"):
        state.heard(broken)
        state.heard_alert({"alert": {"id": 7, "raised_at": "not a time"}})
    unreadable = [r for r in caplog.records if getattr(r, "action", None) == "announcement_unreadable"]
    assert [r.channel for r in unreadable] == [CHANNEL, ALERTS_CHANNEL]
    snapshot = await state.snapshot(now)
    assert snapshot["totals"]["offered"] == 3 and reads.count == read_before + 1
    assert snapshot == await live.snapshot(now=now)
