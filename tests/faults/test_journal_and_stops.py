"""The journal's disk fills up, the ingest is told to stop mid-outage, or killed while replaying.

Counted in event_log.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from ..conftest import start_postgres, stop_postgres, wait_for
from .stack import (
    every_event_stored_once,
    ingest_process,
    journal_segments,
    live_feed,
    outage,
    small_journal_disk,
    stored,
    wait_stored_more_than,
)


@pytest.fixture
def journal_disk(data_dir):
    """The journal on a 1 MiB disk (see stack.small_journal_disk)."""
    with small_journal_disk(data_dir) as (env, _how):
        yield env


async def test_a_full_journal_disk_holds_the_feed_back_and_loses_nothing(
        database_url, postgres, ingest_log, journal_disk):
    # 10 s at 3,000 events/s is 30,000 messages: about 4,500 fill the 1 MiB disk, 20,000 wait in
    # memory, and the rest wait in the feed until the database is back.
    async with live_feed(3000 * 20, 3000) as feed, \
            ingest_process(database_url, feed.url, ingest_log, **journal_disk) as ingest:
        await wait_stored_more_than(database_url, 3000 * 3)
        await outage(postgres, ingest, "fast", 10)
        await every_event_stored_once(database_url, feed, ingest)
    assert "journal_full" in ingest.log()


async def test_sigterm_during_an_outage_keeps_every_event_for_the_next_start(
        database_url, postgres, ingest_log, data_dir):
    async with live_feed(2000 * 12, 2000) as feed, ingest_process(database_url, feed.url, ingest_log) as ingest:
        await wait_stored_more_than(database_url, 2000 * 3)
        await asyncio.to_thread(stop_postgres, postgres, "fast")
        await wait_for(ingest.says_database_down, 10, "/readyz to say the database is down")
        await asyncio.sleep(1)
        ingest.signal(signal.SIGTERM)
        assert await ingest.exited(30) == 0  # a clean stop, after trying to flush for a while
        assert journal_segments(data_dir)
        assert "stop_journal_kept" in ingest.log()
        await asyncio.to_thread(start_postgres, postgres)
        await ingest.start()
        await every_event_stored_once(database_url, feed, ingest)


async def test_kill_9_during_a_journal_replay_loses_nothing(database_url, postgres, ingest_log, data_dir):
    # Small batches make the replay of 8 s of events (24,000) take long enough to be caught in it.
    async with live_feed(3000 * 20, 3000) as feed, \
            ingest_process(database_url, feed.url, ingest_log, CALLBOARD_BATCH_MAX="200") as ingest:
        await wait_stored_more_than(database_url, 3000 * 3)
        before = await stored(database_url)
        await outage(postgres, ingest, "fast", 8)
        await wait_for(lambda: _replaying(database_url, before.rows + 2000, data_dir), 20, "the replay to start")
        ingest.signal(signal.SIGKILL)
        assert await ingest.exited(10) == -signal.SIGKILL
        assert journal_segments(data_dir)  # killed with the replay unfinished
        await ingest.start()
        await every_event_stored_once(database_url, feed, ingest)


async def _replaying(database_url: str, more_than: int, data_dir) -> bool:
    now = await stored(database_url)
    return now is not None and now.rows > more_than and bool(journal_segments(data_dir))
