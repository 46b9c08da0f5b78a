"""The asterisk-ami source against a local Asterisk Manager Interface (tests/ami_server.py), into the
real database: calls, holds, who hung up, agent states and queue members; reconnects, bad input and
duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from callboard.demo import free_port
from callboard.metrics import Thresholds
from dashboard.data import LiveData
from ingest import feed as feed_module
from ingest import service
from ingest.asterisk.ami import TcpAmi, decode, encode
from ingest.asterisk.exceptions import AmiProtocolError
from ingest.asterisk.source import open_ami
from ingest.asterisk.translate import Translator

from .ami_server import BANNER, AmiServer
from .conftest import timeout, wait_for
from .live_stack import settings_for_test

FEED = "pbx"


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch):
    monkeypatch.setattr(feed_module, "RECONNECT_FIRST_MAX_S", 0.05)
    monkeypatch.setattr(feed_module, "RECONNECT_MIN_S", 0.05)
    monkeypatch.setattr(feed_module, "RECONNECT_MAX_S", 0.2)


@pytest.fixture
async def pbx():
    server = AmiServer()
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def ami_ingest(database_url: str, url: str, port: int | None = None, **settings: str):
    settings = settings_for_test(CALLBOARD_AMI_USERNAME="callboard", CALLBOARD_AMI_SECRET="s3cret", **settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(settings, database_url, stop, feed_url=url, feed_name=FEED, port=port,
                                           open_source=open_ami))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout(30))


async def logged_in(pbx: AmiServer, count: int = 1) -> None:
    async def ready() -> bool:
        return pbx.logins >= count and pbx.queue_status_asked >= count and pbx.connected >= 1
    await wait_for(ready, 10, f"login number {count} and its QueueStatus")


async def logged_in_without_status(pbx: AmiServer, count: int) -> None:
    async def tried() -> bool:
        return pbx.logins >= count
    await wait_for(tried, 10, f"login number {count}")


async def call(pool, call_id: str) -> dict | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM calls WHERE feed = $1 AND call_id = $2", FEED, call_id)
    return dict(row) if row else None


async def until(pool, call_id: str, column: str) -> dict:
    """The call once ``column`` and its queueing are stored (two batches may commit in either order)."""
    async def decided() -> bool:
        row = await call(pool, call_id)
        return row is not None and row[column] is not None and row["queued_at"] is not None
    await wait_for(decided, 10, f"{column} of call {call_id}")
    return await call(pool, call_id)


async def states(pool, agent: str) -> list[tuple[str, str | None]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT state, reason FROM agent_states WHERE agent = $1 ORDER BY started_at", agent)
    return [(r["state"], r["reason"]) for r in rows]


async def events(pool, kind: str) -> list[dict]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT body FROM event_log WHERE feed = $1 AND type = $2 ORDER BY ts, event_id",
                                FEED, kind)
    return [json.loads(r["body"]) if isinstance(r["body"], str) else r["body"] for r in rows]


# --- framing ---------------------------------------------------------------------------------------

def test_a_message_is_key_value_lines_ended_by_a_blank_line():
    assert encode({"Action": "Login", "Username": "callboard"}) == b"Action: Login\r\nUsername: callboard\r\n\r\n"
    assert decode("Event: Hold\r\nChannel: PJSIP/1001-0001\r\nMusicClass:\r\n") == {
        "Event": "Hold", "Channel": "PJSIP/1001-0001", "MusicClass": ""}


def test_a_line_break_in_a_value_cannot_smuggle_in_a_second_action():
    with pytest.raises(ValueError, match="line break"):
        encode({"Action": "Login", "Secret": "x\r\n\r\nAction: Originate"})


def test_a_line_without_a_colon_is_not_ami():
    with pytest.raises(AmiProtocolError, match="not 'Key: Value'"):
        decode("Event: Hold\r\nthis is not a header\r\n")


async def serve_bytes(chunks: list[bytes]):
    """A TCP server that sends ``chunks`` one by one, each flushed, then waits."""
    async def client(reader, writer):
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0)
        await reader.read()
        writer.close()
    return await asyncio.start_server(client, "127.0.0.1", 0)


async def test_messages_split_anywhere_by_tcp_are_read_whole():
    text = BANNER + b"Event: Hold\r\nUniqueid: 1.1\r\n\r\nEvent: Unhold\r\nUniqueid: 1.1\r\n\r\n"
    server = await serve_bytes([text[i:i + 1] for i in range(len(text))])
    async with server:
        stream = await TcpAmi.open("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            assert stream.banner == "Asterisk Call Manager/9.0.0"
            assert await stream.receive() == {"Event": "Hold", "Uniqueid": "1.1"}
            assert await stream.receive() == {"Event": "Unhold", "Uniqueid": "1.1"}
        finally:
            await stream.close()


async def test_a_server_that_is_not_asterisk_is_refused_at_its_first_line():
    server = await serve_bytes([b"HTTP/1.1 400 Bad Request\r\n\r\n"])
    async with server:
        with pytest.raises(AmiProtocolError, match="not an Asterisk Manager Interface"):
            await TcpAmi.open("127.0.0.1", server.sockets[0].getsockname()[1])


# --- translation, pure ------------------------------------------------------------------------------

def test_an_event_without_a_timestamp_is_dated_when_it_arrived():
    translator = Translator()
    arrived = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    [queued] = translator.translate({"Event": "QueueCallerJoin", "Queue": "sales", "Uniqueid": "1.1",
                                     "CallerIDNum": "+8613800000001"}, arrived)
    assert queued["ts"] == "2026-12-06T09:00:00+00:00"
    assert queued["source"] == {"system": "asterisk-ami", "event": {
        "Event": "QueueCallerJoin", "Queue": "sales", "Uniqueid": "1.1", "CallerIDNum": "+8613800000001"}}


def test_a_call_first_seen_at_its_end_is_queued_and_answered_from_its_own_durations():
    complete = {"Event": "AgentComplete", "Timestamp": "1765000000.000000", "Queue": "sales", "Uniqueid": "9.1",
                "Linkedid": "9.1", "CallerIDNum": "+8613800000009", "DestUniqueid": "9.2", "Interface": "PJSIP/1001",
                "MemberName": "Li Na", "HoldTime": "15", "TalkTime": "120", "Reason": "agent"}
    produced = Translator().translate(complete, datetime.now(UTC))
    when = {e["type"]: datetime.fromisoformat(e["ts"]).timestamp() for e in produced}
    # ended at T; answered TalkTime (120 s) before; queued HoldTime (15 s) before that.
    assert when == {"call.queued": 1765000000 - 135, "agent.state": 1765000000 - 120,
                    "call.answered": 1765000000 - 120, "call.ended": 1765000000}
    assert {e["source"]["event"]["Event"] for e in produced} == {"AgentComplete"}


def test_the_same_timestamped_event_twice_is_translated_once():
    translator = Translator()
    join = {"Event": "QueueCallerJoin", "Timestamp": "1765000000.000000", "Queue": "sales", "Uniqueid": "9.3",
            "CallerIDNum": "+8613800000003"}
    assert len(translator.translate(join, datetime.now(UTC))) == 1
    assert translator.translate(dict(join), datetime.now(UTC)) == []


def test_a_hold_on_a_channel_of_no_queue_call_is_not_a_callboard_event():
    hold = {"Event": "Hold", "Channel": "PJSIP/1001-0001", "Uniqueid": "8.1", "Linkedid": "8.1"}
    assert Translator().translate(hold, datetime.now(UTC)) == []


# --- against the local AMI ----------------------------------------------------------------------------

async def test_an_answered_call_held_from_the_agents_phone_ends_as_the_caller_hung_up(pool, database_url, pbx):
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await pbx.join("sales", "1700.1", "+86 138 0000 0001")
        pbx.advance(12)
        agent_leg = await pbx.connect("sales", "1700.1", "PJSIP/1001")
        pbx.advance(30)
        await pbx.hold(agent_leg, "1700.1")                 # the agent's own channel
        pbx.advance(70)
        await pbx.hold(agent_leg, "1700.1", on=False)
        pbx.advance(5)
        await pbx.hold("1700.1.phone", "1700.1")            # the phone behind a Local channel: by Linkedid
        pbx.advance(5)
        await pbx.hold("1700.1.phone", "1700.1", on=False)
        pbx.advance(20)
        await pbx.complete("sales", "1700.1", "PJSIP/1001", agent_leg, "caller")
        await pbx.hangup("1700.1")
        row = await until(pool, "1700.1", "ended_at")
        await wait_for(lambda: _has_holds(pool, 4), 10, "the holds")
        await wait_for(lambda: _has_states(pool, "PJSIP/1001", 3), 10, "the agent's states")
        async with pool.acquire() as conn:
            holds = await conn.fetch("SELECT kind, agent FROM hold_events WHERE feed = $1 ORDER BY ts", FEED)
    assert (row["queue"], row["caller"], row["answered_by"], row["released_by"]) == (
        "sales", "+86 138 0000 0001", "PJSIP/1001", "customer")
    assert (row["answered_at"] - row["queued_at"]).total_seconds() == pytest.approx(12, abs=0.01)
    assert [(h["kind"], h["agent"]) for h in holds] == [("start", "PJSIP/1001"), ("end", "PJSIP/1001")] * 2
    assert await states(pool, "PJSIP/1001") == [("available", None), ("on_call", None), ("available", None)]
    [answered] = await events(pool, "call.answered")
    assert answered["source"]["system"] == "asterisk-ami" and answered["source"]["event"]["Event"] == "AgentConnect"


async def test_an_agent_who_hangs_up_releases_the_call(pool, database_url, pbx):
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1002", "Wang Fang")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await pbx.join("sales", "1700.2", "+86 138 0000 0002")
        agent_leg = await pbx.connect("sales", "1700.2", "PJSIP/1002")
        await pbx.complete("sales", "1700.2", "PJSIP/1002", agent_leg, "agent")
        row = await until(pool, "1700.2", "ended_at")
    assert (row["last_agent"], row["released_by"]) == ("PJSIP/1002", "agent")


async def test_hanging_up_while_waiting_is_an_abandon_and_a_queue_timeout_is_not(pool, database_url, pbx):
    port = await pbx.start_tcp()
    pbx.silently_add_member("overflow", "PJSIP/2001", "Zhao Lei")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await pbx.join("sales", "1700.3", "+86 138 0000 0003")
        await pbx.join("sales", "1700.4", "+86 138 0000 0004")
        await pbx.join("sales", "1700.5", "+86 138 0000 0005")
        pbx.advance(20)
        await pbx.caller_hangs_up_waiting("sales", "1700.3")
        pbx.advance(280)
        await pbx.caller_times_out("sales", "1700.4")         # then voicemail, and a hang-up a minute later
        await pbx.caller_times_out("sales", "1700.5")         # then on to the overflow queue
        await pbx.join("overflow", "1700.5", "+86 138 0000 0005")
        pbx.advance(60)
        await pbx.hangup("1700.4")
        agent_leg = await pbx.connect("overflow", "1700.5", "PJSIP/2001")
        await pbx.complete("overflow", "1700.5", "PJSIP/2001", agent_leg, "caller")
        abandoned = await until(pool, "1700.3", "abandoned_at")
        timed_out = await until(pool, "1700.4", "ended_at")
        overflowed = await until(pool, "1700.5", "ended_at")
        second_visit = await until(pool, "1700.5#2", "ended_at")
    assert (abandoned["abandoned_at"] - abandoned["queued_at"]).total_seconds() == pytest.approx(20, abs=0.01)
    for row in (timed_out, overflowed):  # offered, not answered, not abandoned
        assert (row["abandoned_at"], row["answered_at"], row["released_by"]) == (None, None, "system")
        assert (row["ended_at"] - row["queued_at"]).total_seconds() == pytest.approx(300, abs=0.01)
    assert (second_visit["queue"], second_visit["answered_by"], second_visit["released_by"]) == (
        "overflow", "PJSIP/2001", "customer")


async def test_a_transfer_to_a_queue_is_answered_again_and_one_out_of_the_queues_ends_the_call(
        pool, database_url, pbx):
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    pbx.silently_add_member("billing", "PJSIP/3001", "Chen Jie")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await pbx.join("sales", "1700.6", "+86 138 0000 0006")
        first_leg = await pbx.connect("sales", "1700.6", "PJSIP/1001")
        pbx.advance(40)
        await pbx.complete("sales", "1700.6", "PJSIP/1001", first_leg, "transfer")
        await pbx.join("billing", "1700.6", "+86 138 0000 0006")
        pbx.advance(10)
        second_leg = await pbx.connect("billing", "1700.6", "PJSIP/3001")
        await pbx.complete("billing", "1700.6", "PJSIP/3001", second_leg, "agent")

        await pbx.join("sales", "1700.7", "+86 138 0000 0007")
        leg = await pbx.connect("sales", "1700.7", "PJSIP/1001")
        pbx.advance(30)
        await pbx.complete("sales", "1700.7", "PJSIP/1001", leg, "transfer")   # to an outside number
        pbx.advance(200)
        await pbx.hangup("1700.7")
        requeued = await until(pool, "1700.6", "ended_at")
        transferred_out = await until(pool, "1700.7", "ended_at")
    assert (requeued["answered_by"], requeued["last_agent"], requeued["released_by"]) == (
        "PJSIP/1001", "PJSIP/3001", "agent")
    assert requeued["requeued_at"] is not None
    [transfer] = await events(pool, "call.transferred")
    assert (transfer["from_agent"], transfer["to_queue"]) == ("PJSIP/1001", "billing")
    assert (transferred_out["released_by"], transferred_out["disposition"]) == ("agent", "transferred")
    assert (transferred_out["ended_at"] - transferred_out["answered_at"]).total_seconds() == pytest.approx(30, abs=0.01)


async def test_members_pauses_and_removals_become_agent_states_and_queue_members(pool, database_url, pbx):
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        pbx.advance(1)
        await pbx.add_member("sales", "PJSIP/1002", "Wang Fang")
        pbx.advance(1)
        await pbx.pause("sales", "PJSIP/1002", "lunch")
        pbx.advance(1)
        await pbx.remove_member("sales", "PJSIP/1001")

        async def three_lists() -> bool:
            return len(await events(pool, "queue.members")) == 3
        await wait_for(three_lists, 10, "three member lists")
        await wait_for(lambda: _has_states(pool, "PJSIP/1001", 2), 10, "the removed member's logout")
    assert [e["agents"] for e in await events(pool, "queue.members")] == [
        ["PJSIP/1001"], ["PJSIP/1001", "PJSIP/1002"], ["PJSIP/1002"]]
    assert await states(pool, "PJSIP/1002") == [("available", None), ("not_ready", "lunch")]
    assert await states(pool, "PJSIP/1001") == [("available", None), ("logged_out", "removed from every queue")]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT name FROM agents WHERE agent = 'PJSIP/1002'") == "Wang Fang"


async def _has_holds(pool, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM hold_events WHERE feed = $1", FEED) >= count


async def _has_states(pool, agent: str, count: int) -> bool:
    return len(await states(pool, agent)) >= count


async def test_a_call_transferred_out_just_before_a_restart_ends_at_the_restart(pool, database_url, pbx):
    """The AgentComplete that says "transfer" makes no event (what follows decides it): a restart
    after it reads the call back as answered. Its agent's channel gone, the rebuild ends it."""
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await pbx.join("sales", "1700.7", "+86 138 0000 0007")
        leg = await pbx.connect("sales", "1700.7", "PJSIP/1001")
        await until(pool, "1700.7", "answered_at")
        pbx.advance(30)
        await pbx.complete("sales", "1700.7", "PJSIP/1001", leg, "transfer")   # to an outside number
        await wait_for(lambda: _has_states(pool, "PJSIP/1001", 3), 10, "Li Na available after the call")
    pbx.advance(20)
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx, 2)
        ended = await until(pool, "1700.7", "ended_at")
        pbx.advance(100)
        await pbx.hangup("1700.7")  # the caller's talk with the outside number is over
        await wait_for(lambda: _true(pbx.channels_asked >= 2), 10, "the rebuild after the restart")
    assert (ended["released_by"], ended["last_agent"]) == ("system", "PJSIP/1001")
    assert await call(pool, "1700.7") == ended
    assert len(await events(pool, "call.ended")) == 1


async def test_members_removed_while_the_ingest_was_stopped_are_out_of_their_queues_after_it_starts(
        pool, database_url, pbx):
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    pbx.silently_add_member("sales", "PJSIP/1002", "Wang Fang")
    pbx.silently_add_member("billing", "PJSIP/1003", "Zhou Min")
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await wait_for(lambda: _has_states(pool, "PJSIP/1003", 1), 10, "the members' states")
    # While the ingest is stopped, Li Na leaves sales and the billing queue is taken out of Asterisk.
    pbx.members["sales"].pop("PJSIP/1001")
    pbx.members.pop("billing")
    pbx.advance(30)
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx, 2)
        await wait_for(lambda: _has_states(pool, "PJSIP/1003", 2), 10, "the removed members' logout")
        await wait_for(lambda: _has_states(pool, "PJSIP/1001", 2), 10, "the removed members' logout")
    async with pool.acquire() as conn:
        members = {r["queue"]: r["agents"] for r in await conn.fetch("SELECT queue, agents FROM queue_members")}
    assert members == {"sales": ["PJSIP/1002"], "billing": []}
    for agent in ("PJSIP/1001", "PJSIP/1003"):
        assert (await states(pool, agent))[-1] == ("logged_out", "removed from every queue")
    assert await states(pool, "PJSIP/1002") == [("available", None)]


@pytest.mark.parametrize("shows_channels", [True, False], ids=["with CoreShowChannels", "from member status"])
async def test_a_dropped_connection_reconnects_and_rebuilds_live_state_from_queue_status(
        pool, database_url, pbx, shows_channels):
    pbx.shows_channels = shows_channels
    port = await pbx.start_tcp()
    health_port = free_port()
    for interface, name in (("PJSIP/1001", "Li Na"), ("PJSIP/1002", "Wang Fang"), ("PJSIP/1003", "Zhou Min")):
        pbx.silently_add_member("sales", interface, name)
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}", port=health_port):
        await logged_in(pbx)
        await pbx.join("sales", "1700.8", "+86 138 0000 0008")     # will leave unseen
        await pbx.join("sales", "1700.9", "+86 138 0000 0009")
        await pbx.connect("sales", "1700.9", "PJSIP/1001")         # will end unseen
        await pbx.join("sales", "1700.17", "+86 138 0000 0017")
        await pbx.connect("sales", "1700.17", "PJSIP/1003")        # goes on through the reconnect
        await until(pool, "1700.9", "answered_at")
        await until(pool, "1700.17", "answered_at")
        # While the connection is down: 1700.8 leaves, 1700.9 ends, 1700.10 starts waiting, 1002 pauses.
        pbx.cut()
        pbx.entries["sales"].pop("1700.8")
        pbx.channels -= {"1700.8", "1700.9"}
        pbx.members["sales"]["PJSIP/1001"].update(InCall="0", Status="1")
        pbx.silently_join("sales", "1700.10", "+86 138 0000 0010")
        pbx.members["sales"]["PJSIP/1002"].update(Paused="1", PausedReason="training")
        pbx.advance(45)
        await logged_in(pbx, 2)
        left = await until(pool, "1700.8", "ended_at")
        ended = await until(pool, "1700.9", "ended_at")
        waiting = await until(pool, "1700.10", "queued_at")
        await wait_for(lambda: _has_states(pool, "PJSIP/1002", 2), 10, "the pause seen at the reconnect")
        readyz = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{health_port}/readyz")
    assert (left["released_by"], left["abandoned_at"], left["answered_at"]) == ("system", None, None)
    assert (ended["released_by"], ended["last_agent"]) == ("system", "PJSIP/1001")
    assert (await call(pool, "1700.17"))["ended_at"] is None
    assert waiting["ended_at"] is None and waiting["caller"] == "+86 138 0000 0010"
    assert abs((datetime.now(UTC) - waiting["queued_at"]).total_seconds() - 45) < timeout(10)
    assert await states(pool, "PJSIP/1002") == [("available", None), ("not_ready", "training")]
    assert readyz["feed_connected"] is True
    assert "rebuilt from QueueStatus" in readyz["source_note"] and "1 callers waiting" in readyz["source_note"]


async def a_shift(pool, database_url: str, clock: float, *, restart: bool) -> dict:
    """Two calls, one answered and one waiting when the ingest is (or is not) restarted, then both
    answered and ended; what the floor shows in the middle of the calls and after them."""
    pbx = AmiServer()
    pbx.clock = clock
    port = await pbx.start_tcp()
    url = f"tcp://127.0.0.1:{port}"
    ingest = contextlib.AsyncExitStack()
    try:
        await ingest.enter_async_context(ami_ingest(database_url, url))
        await logged_in(pbx)
        for interface, name in (("PJSIP/1001", "Li Na"), ("PJSIP/1002", "Wang Fang"), ("PJSIP/1003", "Zhou Min")):
            pbx.advance(1.1)
            await pbx.add_member("sales", interface, name)
        pbx.advance(10.4)
        await pbx.join("sales", "1800.1", "+86 138 0000 0101")
        pbx.advance(12.7)  # app_queue's whole seconds say 12 or 13, as the clock's fractions fall
        leg = await pbx.connect("sales", "1800.1", "PJSIP/1001")
        pbx.advance(3.5)
        await pbx.join("sales", "1800.2", "+86 138 0000 0102")
        await until(pool, "1800.1", "answered_at")
        await until(pool, "1800.2", "queued_at")
        await wait_for(lambda: _has_states(pool, "PJSIP/1001", 2), 10, "Li Na on the call")
        await wait_for(lambda: _has_states(pool, "PJSIP/1003", 1), 10, "Zhou Min available")
        if restart:
            await ingest.aclose()
            pbx.advance(20.2)
            await ingest.enter_async_context(ami_ingest(database_url, url))
            await logged_in(pbx, 2)
            await wait_for(lambda: _true(pbx.channels_asked >= 2), 10, "the rebuild after the restart")
        else:
            pbx.advance(20.2)
        await pbx.hold(leg, "1800.1")  # on the agent's channel, known from the call's answer
        await wait_for(lambda: _has_holds(pool, 1), 10, "the hold")
        middle = await live_figures(pool, pbx.clock + 0.5)
        pbx.advance(30.3)
        await pbx.hold(leg, "1800.1", on=False)
        pbx.advance(40.1)
        await pbx.complete("sales", "1800.1", "PJSIP/1001", leg, "caller")
        await pbx.hangup("1800.1")
        second_leg = await pbx.connect("sales", "1800.2", "PJSIP/1002")
        pbx.advance(25.9)
        await pbx.complete("sales", "1800.2", "PJSIP/1002", second_leg, "agent")
        await until(pool, "1800.1", "ended_at")
        await until(pool, "1800.2", "ended_at")
        await wait_for(lambda: _has_holds(pool, 2), 10, "the hold's end")
        for agent in ("PJSIP/1001", "PJSIP/1002"):
            await wait_for(lambda a=agent: _available_again(pool, a), 10, f"{agent} available again")
        end = await live_figures(pool, pbx.clock + 1)
    finally:
        await ingest.aclose()
        await pbx.close()
    async with pool.acquire() as conn:
        calls = [dict(r) for r in await conn.fetch("SELECT * FROM calls ORDER BY feed, call_id")]
        timelines = [tuple(r) for r in await conn.fetch(
            "SELECT call_id, type, ts FROM event_log WHERE call_id IS NOT NULL ORDER BY call_id, ts, type")]
        holds = [tuple(r) for r in await conn.fetch("SELECT call_id, ts, kind, agent FROM hold_events ORDER BY ts")]
        states = [tuple(r) for r in await conn.fetch(
            "SELECT agent, started_at, state, reason FROM agent_states ORDER BY agent, started_at")]
    return {"calls": calls, "timelines": timelines, "holds": holds, "states": states, "middle": middle, "end": end}


async def live_figures(pool, now: float) -> dict:
    """Every figure the live views show, as of ``now`` (seconds since 1970), counting the last hour."""
    at = datetime.fromtimestamp(now, UTC)
    snapshot = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).snapshot(since=at - timedelta(hours=1), now=at)
    return {key: snapshot[key] for key in ("queues", "totals", "agent_counts", "abandoned_calls", "holds_open",
                                           "holds_over_limit", "agents")}


async def _available_again(pool, agent: str) -> bool:
    said = await states(pool, agent)
    return len(said) >= 3 and said[-1] == ("available", None)


async def _true(value: bool) -> bool:
    return value


async def test_a_restart_in_the_middle_of_calls_changes_no_figure(pool, database_url):
    clock = int(time.time()) - 120 + 0.7  # the PBX's clock, the same in both runs
    without_restart = await a_shift(pool, database_url, clock, restart=False)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE event_log, calls, hold_events, agents, agent_states, queue_members, feeds, "
                           "dead_letters")
    with_restart = await a_shift(pool, database_url, clock, restart=True)
    for part in ("calls", "timelines", "holds", "states", "middle", "end"):
        assert with_restart[part] == without_restart[part], part
    assert [c["call_id"] for c in with_restart["calls"]] == ["1800.1", "1800.2"]


def _get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout(5)) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


async def test_an_asterisk_gone_silent_is_pinged_then_left_and_reconnected(database_url, pbx, caplog):
    port = await pbx.start_tcp()
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}", CALLBOARD_FEED_PING_TIMEOUT_S="1"):
        await logged_in(pbx)
        async def rebuilt() -> bool:  # its last question answered: from now on the ingest only listens
            return pbx.channels_asked >= 1
        await wait_for(rebuilt, 10, "the CoreShowChannels of the rebuild")
        pbx.silent = True  # the connection stays open, but Pings go unanswered
        async def reconnected() -> bool:
            return pbx.login_attempts >= 2
        await wait_for(reconnected, 10, "a new login after the silence")
        pbx.silent = False
        await logged_in(pbx, 2)
    lost = [r.reason for r in caplog.records if getattr(r, "action", None) == "ami_disconnected"]
    assert "no answer to pings for 1 s" in lost  # (a slow moment before the silence may have been another)
    assert "Ping" in pbx.unanswered


async def test_an_asterisk_that_does_not_answer_a_status_query_is_left_and_asked_again(database_url, pbx, caplog):
    pbx.silent = True  # logs in, then answers nothing: not even the QueueStatus of the rebuild
    port = await pbx.start_tcp()
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}", CALLBOARD_FEED_PING_TIMEOUT_S="1"):
        await logged_in_without_status(pbx, 2)
    lost = [r for r in caplog.records if getattr(r, "action", None) == "ami_disconnected"]
    assert lost[0].reason == "no answer to QueueStatus within 1 s"


async def test_a_refused_login_is_logged_with_what_to_check_and_tried_again(database_url, caplog):
    pbx = AmiServer(secret="another")
    port = await pbx.start_tcp()
    try:
        async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
            async def tried_twice() -> bool:
                return pbx.login_attempts >= 2
            await wait_for(tried_twice, 10, "a second login attempt")
    finally:
        await pbx.close()
    assert pbx.logins == 0
    refusals = [r for r in caplog.records if getattr(r, "action", None) == "ami_login_refused"]
    assert refusals and "CALLBOARD_AMI_SECRET" in refusals[0].getMessage()
    assert refusals[0].error == "Authentication failed"


async def test_input_that_is_not_usable_ami_is_dead_lettered_and_the_ingest_goes_on(pool, database_url, pbx):
    port = await pbx.start_tcp()
    async with ami_ingest(database_url, f"tcp://127.0.0.1:{port}"):
        await logged_in(pbx)
        await pbx.send_raw("Event: Hold\r\nthis line is not a header\r\n\r\n")
        await pbx.send({"Event": "AgentConnect", "Queue": "sales", "Uniqueid": "1700.11", "DestUniqueid": "x"})
        await pbx.send({"Event": "AgentComplete", "Queue": "sales", "Uniqueid": "1700.11", "Interface": "PJSIP/1",
                        "Reason": "teleported"})
        await pbx.send({"Event": "QueueCallerJoin", "Queue": "sales", "Uniqueid": "1700.12", "Timestamp": "soon"})
        await pbx.join("sales", "1700.13", "+86 138 0000 0013")
        await until(pool, "1700.13", "queued_at")

        async def four() -> bool:
            async with pool.acquire() as conn:
                return await conn.fetchval("SELECT count(*) FROM dead_letters") >= 4
        await wait_for(four, 10, "the dead letters")
        async with pool.acquire() as conn:
            letters = await conn.fetch("SELECT kind, reason FROM dead_letters")
    assert {r["kind"] for r in letters} == {"source"}
    assert sorted(r["reason"] for r in letters) == [
        "asterisk-ami: AgentComplete with Reason 'teleported' (known: caller, agent, transfer)",
        "asterisk-ami: AgentConnect without Interface",
        "asterisk-ami: QueueCallerJoin: Timestamp 'soon' is not seconds since 1970",
        "asterisk-ami: an AMI line is not 'Key: Value': 'this line is not a header'",
    ]


async def test_through_a_websocket_bridge_the_same_events_twice_are_stored_once(pool, database_url, pbx):
    port = await pbx.start_bridge()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    async with ami_ingest(database_url, f"ws://127.0.0.1:{port}/ami"):
        await logged_in(pbx)
        await pbx.join("sales", "1700.14", "+86 138 0000 0014")
        pbx.advance(8)
        leg = await pbx.connect("sales", "1700.14", "PJSIP/1001")
        await pbx.hold(leg, "1700.14")
        pbx.advance(61)
        await pbx.hold(leg, "1700.14", on=False)
        await pbx.complete("sales", "1700.14", "PJSIP/1001", leg, "caller")
        first = await until(pool, "1700.14", "ended_at")
        await wait_for(lambda: _has_holds(pool, 2), 10, "the holds")
        await wait_for(lambda: _has_states(pool, "PJSIP/1001", 3), 10, "the agent's states")
        async with pool.acquire() as conn:
            stored = await conn.fetchval("SELECT count(*) FROM event_log")
        for headers in list(pbx.sent):
            await pbx.repeat(headers)
        await pbx.join("sales", "1700.15", "+86 138 0000 0015")  # after the repeats: they have been read
        await until(pool, "1700.15", "queued_at")
        async with pool.acquire() as conn:
            stored_after = await conn.fetchval("SELECT count(*) FROM event_log")
            holds = await conn.fetchval("SELECT count(*) FROM hold_events WHERE feed = $1", FEED)
    assert stored_after == stored + 1
    assert holds == 2
    assert await call(pool, "1700.14") == first


async def test_the_ingest_command_reads_asterisk_with_its_login_from_a_file(database_url, pool, pbx, tmp_path):
    port = await pbx.start_tcp()
    pbx.silently_add_member("sales", "PJSIP/1001", "Li Na")
    secret = tmp_path / "ami-secret"
    secret.write_text("s3cret\n")
    env = {**os.environ, "DATABASE_URL": database_url, "CALLBOARD_AMI_USERNAME": "callboard",
           "CALLBOARD_AMI_SECRET_FILE": str(secret)}
    process = subprocess.Popen([sys.executable, "-m", "callboard", "ingest", "--source", "asterisk-ami",
                                "--feed", f"tcp://127.0.0.1:{port}", "--feed-name", FEED, "--port", "0"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await logged_in(pbx)
        await pbx.join("sales", "1700.16", "+86 138 0000 0016")
        row = await until(pool, "1700.16", "queued_at")
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, timeout(30))
    assert (row["queue"], row["caller"]) == ("sales", "+86 138 0000 0016")
    assert process.returncode == 0


def test_the_ingest_command_refuses_asterisk_without_a_login(database_url):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOARD_AMI_")}
    result = subprocess.run([sys.executable, "-m", "callboard", "ingest", "--source", "asterisk-ami",
                             "--feed", "tcp://127.0.0.1:9", "--port", "0"], env={**env, "DATABASE_URL": database_url},
                            capture_output=True, text=True, timeout=timeout(60))
    assert result.returncode == 2
    assert "needs CALLBOARD_AMI_USERNAME and CALLBOARD_AMI_SECRET" in result.stderr
