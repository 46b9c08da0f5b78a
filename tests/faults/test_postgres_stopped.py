"""PostgreSQL stopped under a live feed: the ingest rides it out and stores every event once.

Counted in event_log (the feed's events are a month old, so the live views would not show them).
"""

from __future__ import annotations

import asyncio

from ..conftest import start_postgres, stop_postgres, wait_for
from .stack import every_event_stored_once, ingest_process, live_feed, outage, stored, wait_stored_more_than


async def test_postgres_stopped_5_s_in_fast_mode_at_2000_events_a_second_loses_nothing(
        database_url, postgres, ingest_log):
    async with live_feed(2000 * 15, 2000) as feed, ingest_process(database_url, feed.url, ingest_log) as ingest:
        await wait_stored_more_than(database_url, 2000 * 3)
        await outage(postgres, ingest, "fast", 5)
        await every_event_stored_once(database_url, feed, ingest)


async def test_postgres_stopped_in_immediate_mode_for_1_s_loses_nothing(database_url, postgres, ingest_log):
    async with live_feed(3000 * 10, 3000) as feed, ingest_process(database_url, feed.url, ingest_log) as ingest:
        await wait_stored_more_than(database_url, 3000 * 3)
        await outage(postgres, ingest, "immediate", 1)  # no shutdown checkpoint: crash recovery at start
        await every_event_stored_once(database_url, feed, ingest)


async def test_postgres_stopped_several_times_in_a_row_loses_nothing(database_url, postgres, ingest_log):
    async with live_feed(2000 * 20, 2000) as feed, ingest_process(database_url, feed.url, ingest_log) as ingest:
        for mode in ("fast", "immediate", "fast"):
            before = await stored(database_url)
            await wait_stored_more_than(database_url, before.rows + 2000)  # writing again in between
            await outage(postgres, ingest, mode, 1)
        await every_event_stored_once(database_url, feed, ingest)


async def test_a_smart_stop_waits_for_the_ingest_which_keeps_writing_until_a_fast_stop(
        database_url, postgres, ingest_log):
    """Smart mode refuses new connections and waits for every client to leave; the ingest, always
    connected, keeps writing on the connections it has, so the operator's next step, fast mode, is
    what stops the server."""
    async with live_feed(2000 * 15, 2000) as feed, ingest_process(database_url, feed.url, ingest_log) as ingest:
        await wait_stored_more_than(database_url, 2000 * 3)
        await asyncio.to_thread(stop_postgres, postgres, "smart", wait=False)
        await wait_for(_refuses_new_connections(database_url), 10, "the server to refuse new connections")
        before = await ingest.written()
        await wait_for(lambda: _written_more_than(ingest, before + 2000), 10, "the ingest to keep writing")
        assert await ingest.is_ready()  # its connections still work: it is ready, and says so
        await outage(postgres, ingest, "fast", 2)
        await every_event_stored_once(database_url, feed, ingest)


async def test_a_30_s_outage_is_ridden_out_through_the_journal(database_url, postgres, ingest_log, data_dir):
    async with live_feed(2000 * 45, 2000) as feed, ingest_process(database_url, feed.url, ingest_log) as ingest:
        await wait_stored_more_than(database_url, 2000 * 3)
        await asyncio.to_thread(stop_postgres, postgres, "fast")
        await wait_for(ingest.says_database_down, 10, "/readyz to say the database is down")
        await asyncio.sleep(30)
        assert await ingest.says_database_down()
        await asyncio.to_thread(start_postgres, postgres)
        await wait_for(ingest.is_ready, 20, "/readyz to say ready again")
        await every_event_stored_once(database_url, feed, ingest)
    assert "journal_drained" in ingest.log()


def _refuses_new_connections(database_url: str):
    async def refused() -> bool:
        return await stored(database_url) is None
    return refused


async def _written_more_than(ingest, count: float) -> bool:
    return await ingest.written() > count
