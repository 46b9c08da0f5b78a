"""The snapshot hub wakes the open pages when what they show changes, and only then."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from callboard import metrics
from dashboard.data import LiveData
from dashboard.hub import SnapshotHub
from dashboard.live_state import LiveState
from db.changes import CHANNEL
from db.queries import QUERIES
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import timeout, wait_for

FEED = "hub-test"


@contextlib.asynccontextmanager
async def running_hub(pool, database_url: str, *, incremental: bool = False,
                      check_every_s: float = 300) -> AsyncIterator[SnapshotHub]:
    thresholds = metrics.Thresholds(answer_target_s=15, hold_limit_s=60, short_abandon_s=5)
    live = LiveData(pool, thresholds, UTC, stale_after_s=30)
    state = LiveState(pool, live, thresholds) if incremental else None
    hub = SnapshotHub(live, database_url, state=state, min_interval_s=0.01, heartbeat_s=0.05,
                      check_every_s=check_every_s)
    task = asyncio.create_task(hub.run())
    try:
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def queue_a_call(pool, call_id: str) -> None:
    """Commit one caller starting to wait, through the real ingest writer (which notifies the hub)."""
    event = {"id": f"q-{call_id}", "type": "call.queued", "ts": datetime.now(UTC).isoformat(),
             "call_id": call_id, "queue": "billing", "caller": "+44 20 7946 0000"}
    await EventWriter(pool, FEED).write([Received(datetime.now(UTC), *parse_message(json.dumps(event)))])


async def shows_waiting(hub: SnapshotHub, callers: int) -> None:
    async def shown() -> bool:
        return hub.snapshot is not None and hub.snapshot["totals"]["waiting"] == callers

    await wait_for(shown, 10, f"a snapshot with {callers} waiting")


async def heartbeat_refreshes(hub: SnapshotHub, count: int) -> None:
    """Wait until the hub has refreshed its snapshot ``count`` more times (each has a new ``as_of``)."""
    for _ in range(count):
        as_of = hub.snapshot["as_of"]

        async def refreshed(as_of=as_of) -> bool:
            return hub.snapshot["as_of"] != as_of

        await wait_for(refreshed, 10, "a heartbeat refresh")


async def test_a_quiet_floor_refreshes_the_snapshot_without_waking_the_pages(pool, database_url):
    async with running_hub(pool, database_url) as hub:
        await queue_a_call(pool, "c1")
        await shows_waiting(hub, 1)
        version, snapshot = hub.version, hub.snapshot

        await heartbeat_refreshes(hub, 3)

        assert hub.version == version  # the waits grew, nothing a page shows changed
        assert hub.snapshot["totals"]["longest_wait_s"] > snapshot["totals"]["longest_wait_s"]


async def test_the_hub_stops_when_told_to_even_as_a_change_is_heard(pool, database_url):
    thresholds = metrics.Thresholds(answer_target_s=15, hold_limit_s=60, short_abandon_s=5)
    hub = SnapshotHub(LiveData(pool, thresholds, UTC, stale_after_s=30), database_url, heartbeat_s=5)
    task = asyncio.create_task(hub.run())
    await asyncio.wait_for(hub.wait_newer(0), timeout(10))
    await asyncio.sleep(0.1)  # the hub is waiting for a change

    hub._heard(None, 0, CHANNEL, "{}")  # a change heard in the same instant as the stop
    task.cancel()

    done, _ = await asyncio.wait([task], timeout=timeout(5))
    assert done, "the hub went on running after it was cancelled"


async def test_a_committed_event_wakes_the_pages_with_the_new_figures(pool, database_url):
    async with running_hub(pool, database_url) as hub:
        version, snapshot = await asyncio.wait_for(hub.wait_newer(0), timeout(10))
        assert snapshot["totals"]["waiting"] == 0

        await queue_a_call(pool, "c1")
        newer, snapshot = await asyncio.wait_for(hub.wait_newer(version), timeout(10))

        assert newer > version and snapshot["totals"]["waiting"] == 1


async def test_data_turning_fresh_wakes_the_pages_without_any_event(pool, database_url):
    async with running_hub(pool, database_url) as hub:
        await queue_a_call(pool, "c1")  # stored, but the ingest has not checked in: stale
        await shows_waiting(hub, 1)
        assert hub.snapshot["stale"] is True
        version = hub.version

        # The ingest reports its feed connected and alive; neither commits events nor notifies.
        await pool.execute(QUERIES["ingest.record_connection"], FEED, True)
        await pool.execute(QUERIES["ingest.record_heartbeat"], FEED)
        newer, snapshot = await asyncio.wait_for(hub.wait_newer(version), timeout(10))

        assert snapshot["stale"] is False and snapshot["totals"]["waiting"] == 1


async def test_with_the_live_state_a_committed_event_reaches_the_pages(pool, database_url):
    async with running_hub(pool, database_url, incremental=True) as hub:
        await shows_waiting(hub, 0)
        version = hub.version
        await queue_a_call(pool, "c1")
        await shows_waiting(hub, 1)
        await queue_a_call(pool, "c2")
        await shows_waiting(hub, 2)
        assert hub.version >= version + 2


async def test_a_change_the_live_state_was_not_told_of_is_found_logged_and_repaired(pool, database_url, caplog):
    async with running_hub(pool, database_url, incremental=True, check_every_s=0.2) as hub:
        await queue_a_call(pool, "c1")
        await shows_waiting(hub, 1)
        with caplog.at_level(logging.WARNING, logger="dashboard.live_state"):
            async with pool.acquire() as conn:  # a change that announces nothing
                await conn.execute("UPDATE calls SET abandoned_at = now() WHERE call_id = 'c1'")
            await shows_waiting(hub, 0)
    repaired = [r for r in caplog.records if getattr(r, "action", None) == "live_state_repaired"]
    assert repaired and "queues" in repaired[0].differs
