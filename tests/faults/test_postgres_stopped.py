"""PostgreSQL stopped under a live feed: the ingest rides it out and stores every event once."""

from __future__ import annotations

import asyncio

from ..conftest import start_postgres, stop_postgres, wait_for
from .stack import ingest_process, live_feed, wait_stored_exactly, wait_stored_more_than


async def test_postgres_stopped_5_s_in_fast_mode_at_2000_events_a_second_loses_nothing(
        database_url, postgres, ingest_log):
    rate, seconds = 2000, 15
    async with live_feed(rate * seconds, rate) as feed, \
            ingest_process(database_url, feed.url, ingest_log) as ingest:
        await wait_stored_more_than(database_url, rate * 3)
        await asyncio.to_thread(stop_postgres, postgres, "fast")
        await wait_for(ingest.says_database_down, 10, "/readyz to say the database is down")
        await asyncio.sleep(5)  # the outage
        await asyncio.to_thread(start_postgres, postgres)
        await wait_for(ingest.is_ready, 20, "/readyz to say ready again")
        await feed.produced_everything(seconds + 10)
        result = await wait_stored_exactly(database_url, feed.events, 60)
        assert ingest.running, ingest.log()[-3000:]
        assert await ingest.is_ready()
    assert result.exactly(feed.events), result
