"""The dashboard's snapshot hub through a PostgreSQL restart: stale while down, live again after."""

from __future__ import annotations

import asyncio

from ..conftest import start_postgres, stop_postgres, wait_for
from ..test_hub import queue_a_call, running_hub, shows_waiting


async def test_the_hub_marks_the_snapshot_stale_while_postgres_is_down_and_recovers_on_its_own(
        pool, database_url, postgres):
    async with running_hub(pool, database_url) as hub:
        await queue_a_call(pool, "c1")
        await shows_waiting(hub, 1)
        for mode in ("fast", "immediate"):
            await asyncio.to_thread(stop_postgres, postgres, mode)
            await wait_for(lambda: _says_database_error(hub, True), 10, "the snapshot to be marked stale")
            await asyncio.to_thread(start_postgres, postgres)
            # No help from the test: the hub discards its broken connections and reconnects itself.
            await wait_for(lambda: _says_database_error(hub, False), 20, "a fresh snapshot")
        await queue_a_call(pool, "c2")
        await shows_waiting(hub, 2)


async def _says_database_error(hub, expected: bool) -> bool:
    return hub.snapshot is not None and bool(hub.snapshot.get("database_error")) is expected
