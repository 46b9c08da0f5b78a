"""The ingest against a real feed on loopback: reconnects, resumes, and bad input."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from websockets.asyncio.server import serve

from callboard.demo import free_port
from db.pool import create_pool
from ingest import feed as feed_module
from ingest import service
from ingest.journal import Journal, read_segment
from simulator import demo_server

from .conftest import start_postgres, stop_postgres, timeout, wait_for
from .live_stack import running_ingest, settings_for_test
from .proxy import CuttableProxy


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch):
    monkeypatch.setattr(feed_module, "RECONNECT_FIRST_MAX_S", 0.05)
    monkeypatch.setattr(feed_module, "RECONNECT_MIN_S", 0.05)
    monkeypatch.setattr(feed_module, "RECONNECT_MAX_S", 0.2)


async def stored_seqs(pool) -> list[int]:
    async with pool.acquire() as conn:
        return [r["seq"] for r in await conn.fetch("SELECT seq FROM event_log ORDER BY seq")]


async def test_dropped_connections_resume_without_gaps_or_duplicates(pool, database_url):
    feed = demo_server(seed=5, agents=60, speed=40, backfill=timedelta(minutes=20), port=0,
                       now=datetime.now(UTC))
    async with feed:
        proxy = CuttableProxy("127.0.0.1", feed.port)
        port = await proxy.start()
        async with running_ingest(database_url, f"ws://127.0.0.1:{port}"):
            for _ in range(3):
                before = len(await stored_seqs(pool))
                await wait_for(lambda b=before: _more_than(pool, b + 50), 20, "events to arrive")
                proxy.cut()
            before = len(await stored_seqs(pool))
            await wait_for(lambda: _more_than(pool, before + 50), 20, "events after the last cut")
            await feed.close()  # the run ends; nothing more will come
            last = feed.last_seq
            await wait_for(lambda: _stored_up_to(pool, last), 20, "every event of the run")
        await proxy.close()
    seqs = await stored_seqs(pool)
    assert proxy.connections >= 4
    assert seqs == list(range(seqs[0], last + 1))  # every event, once, no gap


async def _more_than(pool, count: int) -> bool:
    return len(await stored_seqs(pool)) > count


async def _stored_up_to(pool, seq: int) -> bool:
    """Every event up to ``seq`` is stored (batches may commit out of order, so not just the last)."""
    seqs = await stored_seqs(pool)
    return bool(seqs) and seqs[-1] == seq and len(seqs) == seq - seqs[0] + 1


GOOD = {"id": "g{n}", "seq": 0, "type": "call.queued", "ts": "2026-11-23T09:00:00+08:00",
        "call_id": "c{n}", "queue": "billing", "caller": "+86 138 0000 0000"}


def good_event(n: int) -> str:
    event = {key: value.format(n=n) if isinstance(value, str) else value for key, value in GOOD.items()}
    event["seq"] = n
    return json.dumps(event)


async def test_garbage_is_dead_lettered_while_good_events_keep_flowing(pool, database_url):
    bad_messages = [
        b"\x00\xff" * 500_000,                                      # 1 MB of binary garbage
        "x" * 1_000_000,                                            # 1 MB of text that is not JSON
        b'{"id": "u1", "type": "call.abandoned", "call_id": "\xc3\x28"}',  # invalid UTF-8
        json.dumps([{"id": f"h{i}", "type": "call.abandoned", "ts": "soon", "call_id": "c"}
                    for i in range(20_000)]),                       # a huge array of bad events
        json.dumps({"id": "w1", "type": "survey.completed", "ts": "2026-11-23T09:00:00+08:00",
                    "call_id": "c1", "agent": "a1", "score": "five"}),   # wrong type
        json.dumps({"id": "w2", "type": "call.teleported", "ts": "2026-11-23T09:00:00+08:00"}),
    ]

    async def feed(websocket):
        await websocket.recv()  # the resume request
        for n in range(1, 7):
            await websocket.send(good_event(n))
            await websocket.send(bad_messages[n - 1])
        await websocket.send(good_event(7))
        await websocket.wait_closed()  # stay connected until the ingest leaves

    async with serve(feed, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with running_ingest(database_url, f"ws://127.0.0.1:{port}"):
            await wait_for(lambda: _stored_up_to(pool, 7), 30, "the good events around the garbage")
            async with pool.acquire() as conn:
                await wait_for(lambda: _dead_letters_at_least(pool, 20_005), 30, "the dead letters")
                kinds = dict(await conn.fetch("SELECT kind, count(*) FROM dead_letters GROUP BY kind"))
    assert await stored_seqs(pool) == [1, 2, 3, 4, 5, 6, 7]
    assert kinds == {"not_utf8": 2, "not_json": 1, "bad_timestamp": 20_000, "schema": 1, "unknown_type": 1}


async def _dead_letters_at_least(pool, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM dead_letters") >= count


async def test_database_restart_mid_stream_loses_no_event(pool, database_url, postgres_server):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can restart")
    feed = demo_server(seed=6, agents=60, speed=40, backfill=timedelta(minutes=20), port=0,
                       now=datetime.now(UTC))
    async with feed, running_ingest(database_url, feed.url):
        await wait_for(lambda: _more_than(pool, 100), 20, "events before the restart")
        await asyncio.to_thread(stop_postgres, server)
        await asyncio.sleep(1)  # the feed keeps sending while the database is down
        await asyncio.to_thread(start_postgres, server)
        await pool.expire_connections()
        await feed.close()
        last = feed.last_seq
        await wait_for(lambda: _stored_up_to(pool, last), 30, "every event of the run")
    seqs = await stored_seqs(pool)
    assert seqs == list(range(seqs[0], last + 1))


def start_ingest_process(database_url: str, feed_url: str, *options: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.Popen([sys.executable, "-m", "callboard", "ingest", "--feed", feed_url, "--feed-name", "k9",
                             *options], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_kill_9_and_restart_stores_every_event_exactly_once(pool, database_url):
    feed = demo_server(seed=7, agents=60, speed=40, backfill=timedelta(minutes=20), port=0,
                       now=datetime.now(UTC))
    async with feed:
        ingest = start_ingest_process(database_url, feed.url)
        try:
            await wait_for(lambda: _more_than(pool, 200), 30, "events before the kill")
            ingest.send_signal(signal.SIGKILL)  # no chance to flush anything
            await asyncio.to_thread(ingest.wait)
            killed_at = len(await stored_seqs(pool))
            ingest = start_ingest_process(database_url, feed.url)
            await wait_for(lambda: _more_than(pool, killed_at + 100), 30, "events after the restart")
            await feed.close()
            last = feed.last_seq
            await wait_for(lambda: _stored_up_to(pool, last), 30, "every event of the run")
        finally:
            ingest.terminate()
            await asyncio.to_thread(ingest.wait)
    seqs = await stored_seqs(pool)
    assert seqs == list(range(seqs[0], last + 1))


async def test_ingest_reports_metrics_and_readiness_over_http(pool, database_url):
    port = free_port()
    feed = demo_server(seed=8, agents=40, speed=1, backfill=timedelta(minutes=20), port=0, now=datetime.now(UTC))
    async with feed:
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(settings_for_test(), database_url, stop, feed_url=feed.url,
                                                  feed_name="m", port=port))
        try:
            await wait_for(lambda: _ready(port), 20, "/readyz to answer 200")
            await wait_for(lambda: _written(port, more_than=0), 20, "events counted as written")
            metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        finally:
            stop.set()
            await running
    written = _written_in(metrics)
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM event_log")
    assert written > 0 and written <= stored
    assert "callboard_ingest_lag_seconds_bucket" in metrics
    assert "callboard_ingest_feed_connected 1.0" in metrics


def _written_in(metrics: str) -> float:
    return sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith("callboard_ingest_events_written_total{"))


async def _written(port: int, more_than: float) -> bool:
    return _written_in(await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")) > more_than


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


async def _ready(port: int) -> bool:
    try:
        return '"ready"' in await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/readyz")
    except OSError:
        return False


async def test_a_feed_that_closes_cleanly_is_recorded_as_disconnected(pool, database_url):
    feed = demo_server(seed=9, agents=20, speed=1, backfill=timedelta(minutes=10), port=0, now=datetime.now(UTC))
    async with feed, running_ingest(database_url, feed.url, feed_name="clean"):
        await wait_for(lambda: _feed_connected(pool, True), 20, "the feed to be recorded as connected")
        await feed.close()  # a normal close (1001), no error
        await wait_for(lambda: _feed_connected(pool, False), 20, "the feed to be recorded as disconnected")


async def _feed_connected(pool, expected: bool) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT connected FROM feeds WHERE feed = 'clean'") is expected


class PushFeed:
    """A feed with no seq and no resume: whatever it sent once is never sent again."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[str] = asyncio.Queue()

    async def __aenter__(self) -> PushFeed:
        self._server = await serve(self._send, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def push(self, first: int, count: int) -> None:
        for n in range(first, first + count):
            self.outbox.put_nowait(json.dumps({"id": f"u{n}", "type": "call.queued", "ts": "2026-11-23T09:00:00+08:00",
                                               "call_id": f"u{n}", "queue": "billing", "caller": "+86 139 0000 0000"}))

    async def sent_everything(self) -> bool:
        return self.outbox.empty()

    async def _send(self, websocket) -> None:
        sending = asyncio.create_task(self._send_forever(websocket))
        await websocket.wait_closed()
        sending.cancel()

    async def _send_forever(self, websocket) -> None:
        while True:
            await websocket.send(await self.outbox.get())


async def _stored_ids(pool) -> list[str]:
    async with pool.acquire() as conn:
        return [r["event_id"] for r in await conn.fetch("SELECT event_id FROM event_log ORDER BY event_id")]


def _expected_ids(count: int) -> list[str]:
    return sorted(f"u{n}" for n in range(count))


async def test_while_the_database_is_down_events_wait_in_the_journal(pool, database_url, postgres_server, data_dir):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can restart")
    journal = Journal(data_dir / "journal", max_bytes=64 * 2**20)
    service_pool = await create_pool(database_url)
    async with PushFeed() as feed:
        ingest = service.IngestService(service_pool, feed.url, "nj", journal=journal, queue_messages=50)
        stop = asyncio.Event()
        running = asyncio.create_task(ingest.run(stop))
        try:
            feed.push(0, 10)
            await wait_for(lambda: _stored_count_is(pool, 10), 20, "events before the outage")
            await asyncio.to_thread(stop_postgres, server)
            feed.push(10, 500)  # far more than the 50 messages the ingest holds in memory
            await wait_for(feed.sent_everything, 20, "the feed to send everything during the outage")
            await wait_for(lambda: _journal_holds(journal), 20, "messages in the journal")
            await asyncio.to_thread(start_postgres, server)
            await pool.expire_connections()
            await wait_for(lambda: _stored_count_is(pool, 510), 30, "every event once the database is back")
        finally:
            stop.set()
            await running
            await service_pool.close()
    assert await _stored_ids(pool) == _expected_ids(510)
    assert not journal.pending and not list((data_dir / "journal").iterdir())


async def test_kill_9_during_an_outage_loses_no_journaled_event(pool, database_url, postgres_server, data_dir):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can restart")
    health_port = free_port()
    async with PushFeed() as feed:
        ingest = start_ingest_process(database_url, feed.url, "--port", str(health_port))
        try:
            feed.push(0, 10)
            await wait_for(lambda: _stored_count_is(pool, 10), 30, "events before the outage")
            await asyncio.to_thread(stop_postgres, server)
            await wait_for(lambda: _health_says(health_port, database_up=False), 20, "the ingest to see the outage")
            feed.push(10, 300)
            segments = data_dir / "journal" / "k9"
            await wait_for(lambda: _journaled(segments, 300), 20, "the feed's messages on disk")
            ingest.send_signal(signal.SIGKILL)
            await asyncio.to_thread(ingest.wait)
            await asyncio.to_thread(start_postgres, server)
            await pool.expire_connections()
            ingest = start_ingest_process(database_url, feed.url)  # the feed has nothing to resend
            await wait_for(lambda: _stored_count_is(pool, 310), 30, "every journaled event after the restart")
        finally:
            ingest.terminate()
            await asyncio.to_thread(ingest.wait)
    assert await _stored_ids(pool) == _expected_ids(310)


async def _stored_count_is(pool, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM event_log") == count


async def _journal_holds(journal: Journal) -> bool:
    return journal.pending


async def _journaled(directory, count: int) -> bool:
    paths = sorted(directory.glob("*.journal")) if directory.exists() else []
    return sum(len(read_segment(path)) for path in paths) >= count


async def _health_says(port: int, database_up: bool) -> bool:
    try:
        health = json.loads(await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/healthz"))
    except OSError:
        return False
    return health["database_up"] is database_up


async def test_a_stop_the_database_does_not_allow_keeps_memory_in_the_journal(
        pool, database_url, postgres_server, data_dir, monkeypatch):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can restart")
    monkeypatch.setattr(service, "STOP_FLUSH_S", 0.5)
    service_pool = await create_pool(database_url)
    async with PushFeed() as feed:
        ingest = service.IngestService(service_pool, feed.url, "nj", journal=Journal(data_dir / "j", 2**26))
        stop = asyncio.Event()
        running = asyncio.create_task(ingest.run(stop))
        feed.push(0, 5)
        await wait_for(lambda: _stored_count_is(pool, 5), 20, "events before the outage")
        await asyncio.to_thread(stop_postgres, server)
        feed.push(5, 40)  # the first of these are in memory when the writer finds the database gone
        await wait_for(feed.sent_everything, 20, "the feed to send everything during the outage")
        stop.set()
        await running
        await asyncio.to_thread(start_postgres, server)
        await pool.expire_connections()
        await service_pool.expire_connections()
        ingest = service.IngestService(service_pool, feed.url, "nj", journal=Journal(data_dir / "j", 2**26))
        stop = asyncio.Event()
        running = asyncio.create_task(ingest.run(stop))
        try:
            await wait_for(lambda: _stored_count_is(pool, 45), 30, "every event, from the journal")
        finally:
            stop.set()
            await running
            await service_pool.close()
    assert await _stored_ids(pool) == _expected_ids(45)


async def test_a_stop_while_the_database_is_unreachable_at_start_ends_the_ingest_promptly(
        database_url, postgres_server, data_dir):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can stop and start")
    service_pool = await create_pool(database_url)
    await asyncio.to_thread(stop_postgres, server)
    try:
        # No pool can be made: `callboard ingest` keeps trying until told to stop.
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(settings_for_test(), database_url, stop, feed_url="ws://127.0.0.1:9/"))
        await asyncio.sleep(0.5)
        assert not running.done()
        stop.set()
        await asyncio.wait_for(running, timeout(5))
        # A pool made earlier, but its resume point cannot be read.
        journal = Journal(data_dir / "j", 2**20)
        ingest = service.IngestService(service_pool, "ws://127.0.0.1:9/", "down", journal=journal)
        stop = asyncio.Event()
        running = asyncio.create_task(ingest.run(stop))
        await asyncio.sleep(0.5)
        assert not running.done()
        stop.set()
        await asyncio.wait_for(running, timeout(5))
    finally:
        await asyncio.to_thread(start_postgres, server)
        service_pool.terminate()


def test_a_feed_url_is_logged_without_its_password_and_tokens():
    assert feed_module.shown_url("wss://callboard:s3cret@pbx.example:8765/feed?token=abc#x") == "wss://pbx.example:8765/feed"
    assert feed_module.shown_url("tcp://[::1]:5038") == "tcp://[::1]:5038"
