"""The network between the ingest and PostgreSQL, or the feed, misbehaves: cut, reset, stalled.

A loopback proxy (tests/proxy.py) sits in between. Counted in event_log.
"""

from __future__ import annotations

import asyncio

import pytest

from ..conftest import wait_for
from ..proxy import CuttableProxy
from .stack import database_proxy, every_event_stored_once, ingest_process, live_feed, stored, wait_stored_more_than

# A stalled statement is given up after this long in these tests (CALLBOARD_DB_TIMEOUT_S).
DB_TIMEOUT_S = "2"


@pytest.mark.parametrize("fault", ["cut", "reset", "stall"])
async def test_database_connections_cut_reset_or_stalled_lose_nothing(database_url, postgres, ingest_log, fault):
    async with database_proxy(database_url) as (proxy, proxied_url), \
            live_feed(3000 * 10, 3000) as feed, \
            ingest_process(proxied_url, feed.url, ingest_log, CALLBOARD_DB_TIMEOUT_S=DB_TIMEOUT_S) as ingest:
        for _ in range(2):
            before = await stored(database_url)
            await wait_stored_more_than(database_url, before.rows + 3000)
            connections = proxy.connections
            getattr(proxy, fault)()
            # Every connection the ingest had is gone or dead: it writes again on new ones.
            await wait_stored_more_than(database_url, (await stored(database_url)).rows + 1000, 20)
            assert proxy.connections > connections
        await every_event_stored_once(database_url, feed, ingest)
    assert "db_retry" in ingest.log()


async def test_a_feed_gone_silent_without_closing_is_dropped_by_ping_timeout_and_resumed(
        database_url, ingest_log):
    async with live_feed(3000 * 12, 3000) as feed:
        proxy = CuttableProxy("127.0.0.1", feed.port)
        proxy_port = await proxy.start()
        try:
            async with ingest_process(database_url, f"ws://127.0.0.1:{proxy_port}", ingest_log,
                                      CALLBOARD_FEED_PING_TIMEOUT_S="1") as ingest:
                await wait_stored_more_than(database_url, 3000 * 3)
                proxy.stall()  # half-open: nothing arrives, nothing is closed
                await wait_for(lambda: _reconnected(ingest), 10, "the ingest to give the silent feed up")
                # The reconnect is counted when the ingest decides on it; the connection follows its backoff.
                await wait_for(lambda: _holds(proxy.connections >= 2), 10, "the ingest to connect to the feed again")
                await every_event_stored_once(database_url, feed, ingest)
        finally:
            await proxy.close()


async def _holds(condition: bool) -> bool:
    return condition


async def _reconnected(ingest) -> bool:
    return await asyncio.to_thread(ingest.metric_now, "callboard_ingest_reconnects_total") >= 1
