"""The Genesys Cloud source against a Genesys stand-in on loopback, into the real database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from callboard import settings as settings_module
from callboard.exceptions import ConfigError
from db.pool import create_pool
from ingest import feed as feed_module
from ingest import service
from ingest.genesys import genesys_cloud
from ingest.genesys import source as source_module
from ingest.genesys import translate as translate_module
from ingest.genesys.api import login_url_for
from ingest.genesys.translate import Translator

from .conftest import timeout, wait_for
from .genesys_server import CLIENT_ID, CLIENT_SECRET, CallScript, GenesysServer, genesys_server
from .live_stack import settings_for_test

QUEUE = "5f1b0d3e-queue-billing"
ANA, BO = "a1f0-ana", "b2e1-bo"


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch):
    monkeypatch.setattr(feed_module, "RECONNECT_FIRST_MAX_S", 0.05)
    monkeypatch.setattr(feed_module, "RECONNECT_MIN_S", 0.05)
    monkeypatch.setattr(feed_module, "RECONNECT_MAX_S", 0.2)
    monkeypatch.setattr(source_module, "SWITCH_OVERLAP_S", 0.3)


@contextlib.asynccontextmanager
async def running_source(database_url: str, server: GenesysServer,
                         **settings: str) -> AsyncIterator[service.IngestService]:
    settings = settings_for_test(CALLBOARD_GENESYS_CLIENT_ID=CLIENT_ID, CALLBOARD_GENESYS_CLIENT_SECRET=CLIENT_SECRET,
                                 CALLBOARD_GENESYS_QUEUES=QUEUE, **settings)
    pool = await create_pool(database_url)
    ingest = service.IngestService(pool, server.url, "genesys", open_source=genesys_cloud, settings=settings)
    stop = asyncio.Event()
    task = asyncio.create_task(ingest.run(stop))
    try:
        await wait_for(lambda: _true(server.open_sockets > 0 and ingest.source.note is not None), 20,
                       "the source to connect and rebuild")
        yield ingest
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await pool.close()


async def _true(value: bool) -> bool:
    return value


def floor(server: GenesysServer) -> None:
    server.add_member(QUEUE, ANA, "Ana Lima")
    server.add_member(QUEUE, BO, "Bo Chen", status="OFF_QUEUE", presence="Break")


async def call_row(pool, call_id: str):
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE feed = 'genesys' AND call_id = $1", call_id)


async def current_state(pool, agent: str):
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT state, reason FROM agent_states WHERE agent = $1 "
                                   "ORDER BY started_at DESC LIMIT 1", agent)


async def test_calls_holds_and_agent_states_reach_the_floor(pool, database_url):
    async with genesys_server() as server:
        floor(server)
        async with running_source(database_url, server):
            answered = await CallScript(server, QUEUE, "+86 138 0000 0001").queued()
            await answered.answer(ANA)
            await server.set_activity(ANA, status="INTERACTING", presence="On Queue")
            await answered.hold()
            await answered.publish()  # the same picture twice: nothing new
            await answered.unhold()
            await answered.hang_up("customer")
            await wait_for(lambda: _state_is(pool, ANA, "after_call_work"), 20, "Ana's wrap-up")
            released_by_agent = await CallScript(server, QUEUE, "+86 138 0000 0002").queued()
            await released_by_agent.answer(BO)
            await released_by_agent.hang_up("agent")
            abandoned = await CallScript(server, QUEUE, "+86 138 0000 0003").queued()
            await abandoned.hang_up("customer")
            timed_out = await CallScript(server, QUEUE, "+86 138 0000 0004").queued()
            await timed_out.leave_queue()
            await server.set_activity(ANA, status="IDLE", presence="On Queue")
            await server.set_activity(BO, status="OFF_QUEUE", presence="Meeting", queues=[])  # leaves the queue
            for call in (answered, released_by_agent, abandoned, timed_out):  # batches may commit out of order
                await wait_for(lambda call=call: _ended(pool, call.id), 20, f"call {call.id} to end")
            await wait_for(lambda: _state_is(pool, BO, "not_ready"), 20, "Bo in a meeting")
            await wait_for(lambda: _state_is(pool, ANA, "available"), 20, "Ana to be available again")

            first = await call_row(pool, answered.id)
            assert (first["queue"], first["caller"], first["answered_by"]) == (QUEUE, "+86 138 0000 0001", ANA)
            assert (first["last_agent"], first["released_by"]) == (ANA, "customer")
            assert (await call_row(pool, released_by_agent.id))["released_by"] == "agent"
            gave_up = await call_row(pool, abandoned.id)
            assert gave_up["abandoned_at"] is not None and gave_up["answered_at"] is None
            # Sent away by the queue's timeout: offered, then ended by the system, neither answered nor abandoned.
            left = await call_row(pool, timed_out.id)
            assert (left["abandoned_at"], left["answered_at"], left["released_by"]) == (None, None, "system")
            async with pool.acquire() as conn:
                holds = await conn.fetch("SELECT kind, agent FROM hold_events WHERE call_id = $1 ORDER BY ts",
                                         answered.id)
                assert [tuple(h) for h in holds] == [("start", ANA), ("end", ANA)]
                per_type = dict(await conn.fetch("SELECT type, count(*) FROM event_log WHERE call_id = $1 "
                                                 "GROUP BY type", answered.id))
                assert per_type == {"call.queued": 1, "call.answered": 1, "call.hold_started": 1,
                                    "call.hold_ended": 1, "call.ended": 1}
                systems = await conn.fetch("SELECT DISTINCT body->'source'->>'system' FROM event_log")
                assert [row[0] for row in systems] == ["genesys-cloud"]
                lists = await conn.fetch("SELECT body FROM event_log WHERE type = 'queue.members' ORDER BY ts")
                assert [(row["body"]["queue"], row["body"]["agents"]) for row in lists] == [
                    (QUEUE, sorted([ANA, BO])), (QUEUE, [ANA])]  # at the start, and once Bo left
                names = dict(await conn.fetch("SELECT agent, name FROM agents"))
                assert names == {ANA: "Ana Lima", BO: "Bo Chen"}
                assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0
            assert tuple(await current_state(pool, BO)) == ("not_ready", "meeting")
            assert tuple(await current_state(pool, ANA)) == ("available", None)


async def test_a_dropped_socket_reconnects_and_rebuilds_live_state(pool, database_url, caplog):
    async with genesys_server() as server:
        floor(server)
        async with running_source(database_url, server) as ingest:
            call = await CallScript(server, QUEUE, "+86 138 0000 0005").queued()
            await call.answer(ANA)
            await wait_for(lambda: _answered(pool, call.id), 20, "the answer")
            first_channel = set(server.channels)
            server.throttle = 3  # and the first requests after it are over the rate limit
            await server.drop_sockets()
            # While no socket listens, the agent holds the call and the other agent goes on queue.
            await call.hold()
            await server.set_activity(BO, status="IDLE", presence="On Queue")
            await wait_for(lambda: _held(pool, call.id), 20, "the hold, from the status queries after reconnecting")
            await wait_for(lambda: _state_is(pool, BO, "available"), 20, "Bo's state, from the member list")
            assert set(server.channels) - first_channel, "a new channel after the drop"
            lost = [r for r in caplog.records if getattr(r, "action", None) == "genesys_disconnected"]
            assert server.throttled == 3 and len(lost) == 1  # the rate limit was waited out, not a new reconnect
            assert "after a reconnect" in ingest.source.note
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT connected FROM feeds WHERE feed = 'genesys'")
            await call.unhold()
            await call.hang_up("agent")
            await wait_for(lambda: _ended(pool, call.id), 20, "the end, live again")
            assert (await call_row(pool, call.id))["released_by"] == "agent"


async def test_channels_are_switched_before_expiry_and_on_socket_closing_without_losing_a_call(
        pool, database_url, monkeypatch):
    monkeypatch.setattr(source_module, "RENEW_BEFORE_S", 1.0)
    # Tokens last 4 s: each is replaced, with its channel, 1 s before it ends (and ends its channel's socket).
    async with genesys_server(token_lifetime_s=4.0) as server:
        floor(server)
        async with running_source(database_url, server) as ingest:
            calls = []
            deadline = asyncio.get_running_loop().time() + 10
            sent_closing = False
            while asyncio.get_running_loop().time() < deadline:
                calls.append(await CallScript(server, QUEUE, f"+86 138 1000 {len(calls):04d}").queued())
                if not sent_closing and asyncio.get_running_loop().time() > deadline - 6:
                    await server.send_socket_closing()
                    sent_closing = True
                await asyncio.sleep(0.1)
            for call in calls:
                await wait_for(lambda c=call: _queued(pool, c.id), 20, f"call {call.id} to be queued")
            assert server.sign_ins >= 3 and len(server.channels) >= 4
            assert ingest.source.note.endswith("at start; calls that began and ended while disconnected are missing")


async def test_a_revoked_token_is_replaced_by_signing_in_again(pool, database_url):
    async with genesys_server() as server:
        floor(server)
        async with running_source(database_url, server) as ingest:
            await server.expire_tokens()  # Genesys also closes the sockets of channels made with them
            await wait_for(lambda: _true(server.sign_ins == 2 and server.open_sockets == 1), 20, "a new sign-in")
            call = await CallScript(server, QUEUE, "+86 138 0000 0008").queued()
            await wait_for(lambda: _queued(pool, call.id), 20, "a call after signing in again")
            assert "after a reconnect" in ingest.source.note


async def test_a_socket_whose_heartbeat_and_pong_stop_is_given_up_and_replaced(pool, database_url, monkeypatch):
    monkeypatch.setattr(source_module, "HEARTBEAT_LATE_S", 0.5)
    async with genesys_server(heartbeat_s=0.2) as server:
        floor(server)
        async with running_source(database_url, server, CALLBOARD_FEED_PING_TIMEOUT_S="1") as ingest:
            first_channels = set(server.channels)
            server.silent = True
            await wait_for(lambda: _true(bool(set(server.channels) - first_channels)), 20, "a new channel")
            server.silent = False
            assert server.pings >= 1
            await wait_for(lambda: _true("after a reconnect" in ingest.source.note), 20, "the rebuild")
            call = await CallScript(server, QUEUE, "+86 138 0000 0007").queued()
            await wait_for(lambda: _queued(pool, call.id), 20, "a call on the new socket")


async def test_bad_notifications_are_dead_letters_and_the_source_keeps_going(pool, database_url):
    async with genesys_server() as server:
        floor(server)
        async with running_source(database_url, server):
            topic = f"v2.routing.queues.{QUEUE}.conversations"
            await server.send_to(topic, "{not json")
            await server.publish(topic, {"id": "c-bad", "participants": 5})
            await server.publish(f"v2.users.{ANA}.activity", {"id": ANA})
            await server.send_to(topic, {"topicName": "v2.users.someone.presence", "eventBody": {}})
            await server.publish(topic, {"id": "c-anonymous", "participants": [{"purpose": "customer"}]})
            call = await CallScript(server, QUEUE, "+86 138 0000 0006").queued()
            await wait_for(lambda: _queued(pool, call.id), 20, "the good call after the bad notifications")
            async with pool.acquire() as conn:
                await wait_for(lambda: _dead_letters(pool, 5), 20, "the dead letters")
                reasons = [r["reason"] for r in await conn.fetch("SELECT kind, reason FROM dead_letters ORDER BY id")]
                kinds = {r[0] for r in await conn.fetch("SELECT DISTINCT kind FROM dead_letters")}
    assert kinds == {"source"}
    assert reasons[0].startswith("genesys-cloud: a notification that is not JSON")
    assert reasons[1] == "genesys-cloud: conversation c-bad: participants is not a list of objects"
    assert reasons[2] == f"genesys-cloud: user {ANA}: neither a routing status nor a presence, with its time"
    assert reasons[3] == ("genesys-cloud: a notification of a topic Callboard did not subscribe to: "
                          "v2.users.someone.presence")
    assert reasons[4] == "genesys-cloud: conversation c-anonymous: a participant without an id"


async def test_callboard_ingest_reads_genesys_cloud_with_the_settings_it_is_given(pool, database_url, tmp_path):
    secret = tmp_path / "genesys-secret"
    secret.write_text(CLIENT_SECRET + "\n")
    env = {**os.environ, "DATABASE_URL": database_url, "CALLBOARD_GENESYS_CLIENT_ID": CLIENT_ID,
           "CALLBOARD_GENESYS_CLIENT_SECRET_FILE": str(secret), "CALLBOARD_GENESYS_QUEUES": QUEUE}
    async with genesys_server() as server:
        floor(server)
        ingest = subprocess.Popen([sys.executable, "-m", "callboard", "ingest", "--source", "genesys-cloud",
                                   "--feed", server.url, "--feed-name", "genesys", "--port", "0"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            await wait_for(lambda: _true(server.open_sockets > 0), 30, "the ingest to subscribe")
            call = await CallScript(server, QUEUE, "+86 138 0000 0010").queued()
            await call.answer(ANA)
            await wait_for(lambda: _answered(pool, call.id), 30, "the call, answered")
        finally:
            ingest.send_signal(signal.SIGTERM)
            _, errors = await asyncio.to_thread(ingest.communicate, timeout=timeout(30))
    assert ingest.returncode == 0, errors


def test_the_genesys_cloud_source_names_the_settings_it_lacks(database_url):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOARD_GENESYS_")}
    result = subprocess.run([sys.executable, "-m", "callboard", "ingest", "--source", "genesys-cloud",
                             "--feed", "https://api.mypurecloud.com", "--port", "0"],
                            env={**env, "DATABASE_URL": database_url, "CALLBOARD_GENESYS_QUEUES": QUEUE},
                            capture_output=True, text=True, timeout=timeout(60))
    assert result.returncode == 2
    needs = "the genesys-cloud source needs CALLBOARD_GENESYS_CLIENT_ID, CALLBOARD_GENESYS_CLIENT_SECRET"
    assert needs in result.stderr


def test_the_queues_are_read_from_a_list_or_a_toml_array_and_a_repeated_one_is_refused(tmp_path):
    config = tmp_path / "callboard.toml"
    config.write_text('genesys_queues = ["q-billing", "q-sales"]\n')
    assert settings_module.load({"CALLBOARD_CONFIG": str(config)}).genesys_queues == ("q-billing", "q-sales")
    assert settings_module.load({"CALLBOARD_GENESYS_QUEUES": "q-billing, q-sales"}).genesys_queues == (
        "q-billing", "q-sales")
    with pytest.raises(ConfigError, match="an id is given twice"):
        settings_module.load({"CALLBOARD_GENESYS_QUEUES": "q-billing,q-billing"})


def test_the_login_address_is_the_regions_api_address_with_login_for_api():
    assert login_url_for("https://api.mypurecloud.com") == "https://login.mypurecloud.com"
    assert login_url_for("https://api.euw2.pure.cloud/") == "https://login.euw2.pure.cloud"
    assert login_url_for("http://127.0.0.1:8080") == "http://127.0.0.1:8080"  # a stand-in signs in at itself


def test_a_caller_sent_back_to_a_queue_and_answered_again_is_transferred_then_answered():
    at = [f"2026-12-06T09:00:0{n}.000Z" for n in range(8)]
    customer = {"id": "p0", "purpose": "customer", "address": "tel:+8613800000009",
                "calls": [{"state": "connected"}]}
    conversation = {"id": "c9", "participants": [
        customer,
        {"id": "p1", "purpose": "acd", "queueId": "q1", "connectedTime": at[0], "calls": [{"state": "disconnected"}]},
        {"id": "p2", "purpose": "agent", "userId": "u1", "calls": [{"state": "disconnected", "connectedTime": at[1]}]},
        {"id": "p3", "purpose": "acd", "queueId": "q2", "connectedTime": at[2], "calls": [{"state": "disconnected"}]},
        {"id": "p4", "purpose": "agent", "userId": "u2", "calls": [{"state": "connected", "connectedTime": at[3]}]},
    ]}
    events = Translator().conversation(conversation, datetime.now(UTC))
    assert [(e["type"], e["ts"]) for e in events] == [
        ("call.queued", at[0]), ("call.answered", at[1]), ("call.transferred", at[2]), ("call.answered", at[3])]
    assert (events[0]["caller"], events[2]["from_agent"], events[2]["to_queue"]) == ("+8613800000009", "u1", "q2")
    assert Translator().conversation(json.loads(json.dumps(conversation)), datetime.now(UTC)) == events


def test_a_conversation_that_ends_is_let_go_at_once_even_when_it_made_no_call():
    translator = Translator()
    at = "2026-12-06T09:00:00.000Z"
    consult = {"id": "c10", "participants": [  # an agent's consultation of the queue: no customer, no call
        {"id": "p1", "purpose": "agent", "userId": "u1", "calls": [{"state": "connected", "connectedTime": at}]},
        {"id": "p2", "purpose": "acd", "queueId": "q1", "connectedTime": at, "calls": [{"state": "connected"}]},
    ]}
    assert translator.conversation(consult, datetime.now(UTC)) == []
    assert translator.following == 1
    for participant in consult["participants"]:
        participant.update(endTime="2026-12-06T09:01:00.000Z", calls=[{"state": "disconnected"}])
    assert translator.conversation(consult, datetime.now(UTC)) == []
    assert translator.following == 0
    assert translator.conversation(consult, datetime.now(UTC)) == []  # a late notification: still let go
    assert translator.following == 0


async def test_a_channel_up_for_weeks_keeps_only_the_conversations_in_progress(pool, database_url, monkeypatch,
                                                                                 caplog):
    monkeypatch.setattr(source_module, "SWEEP_EVERY_S", 0.2)
    monkeypatch.setattr(translate_module, "FORGET_AFTER", timedelta(0))
    async with genesys_server() as server:
        floor(server)
        async with running_source(database_url, server) as ingest:
            scripts = []
            for n in range(6):  # answered and ended, abandoned, sent away by the queue
                script = await CallScript(server, QUEUE, f"+86 138 0000 01{n:02}").queued()
                if n % 3 == 0:
                    await script.answer(ANA)
                    await script.hang_up("customer")
                elif n % 3 == 1:
                    await script.hang_up("customer")
                else:
                    await script.leave_queue()
                scripts.append(script)
            transferred_out = await CallScript(server, QUEUE, "+86 138 0000 0199").queued()
            await transferred_out.answer(BO)
            for script in scripts:
                await wait_for(lambda s=script: _ended(pool, s.id), 20, "the calls to end")
            await wait_for(lambda: _answered(pool, transferred_out.id), 20, "the transferred call's answer")
            assert ingest.source.following == 1  # only the call in progress
            # Bo sends the caller to an outside number: the conversation leaves the queue's topic, and
            # its end is never notified; the status queries no longer list it in progress.
            transferred_out.transfer_out_unnotified()
            await wait_for(lambda: _ended(pool, transferred_out.id), 20, "the call that ended unseen")
            assert ingest.source.following == 0

            # A call Genesys still lists in progress, but not heard of for longer than any call lasts.
            monkeypatch.setattr(translate_module, "GIVE_UP_AFTER", timedelta(seconds=timeout(1)))
            stuck = await CallScript(server, QUEUE, "+86 138 0000 0198").queued()
            await wait_for(lambda: _ended(pool, stuck.id), 20, "the quiet call to be given up")
            assert ingest.source.following == 0
    assert (await call_row(pool, transferred_out.id))["released_by"] == "system"
    given_up = (await call_row(pool, stuck.id))
    assert (given_up["released_by"], given_up["answered_at"]) == ("system", None)
    [line] = [r for r in caplog.records if getattr(r, "action", None) == "genesys_conversations_given_up"]
    assert line.conversations == 1


async def _answered(pool, call_id: str) -> bool:
    row = await call_row(pool, call_id)
    return row is not None and row["answered_at"] is not None


async def _queued(pool, call_id: str) -> bool:
    row = await call_row(pool, call_id)
    return row is not None and row["queued_at"] is not None


async def _ended(pool, call_id: str) -> bool:
    row = await call_row(pool, call_id)
    return row is not None and (row["ended_at"] is not None or row["abandoned_at"] is not None)


async def _held(pool, call_id: str) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT count(*) FROM hold_events WHERE call_id = $1 AND kind = 'start'",
                                        call_id))


async def _state_is(pool, agent: str, state: str) -> bool:
    row = await current_state(pool, agent)
    return row is not None and row["state"] == state


async def _dead_letters(pool, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM dead_letters") >= count
