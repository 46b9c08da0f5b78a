"""LISTEN on a connection of its own (outside the pool), for the alerts' always-on loops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from db.pool import connect


@contextlib.asynccontextmanager
async def listening(database_url: str, channel: str, wake: asyncio.Event) -> AsyncIterator[asyncpg.Connection]:
    """A connection on which each NOTIFY on ``channel`` sets ``wake``, as does losing the connection
    (so a loop asleep notices at once, checks it with ``SELECT 1`` and connects again). Closed on exit."""

    def woken(*_: object) -> None:
        wake.set()

    conn = await connect(database_url)
    try:
        conn.add_termination_listener(woken)
        await conn.add_listener(channel, woken)
        yield conn
    finally:
        conn.terminate()
