"""LISTEN on a connection of its own (outside the pool), for the alerts' always-on loops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import asyncpg

from db.pool import connect


@contextlib.asynccontextmanager
async def listening(database_url: str, channel: str, wake: asyncio.Event, *,
                    wakes: Callable[[str], bool] = lambda _payload: True) -> AsyncIterator[asyncpg.Connection]:
    """A connection on which each NOTIFY on ``channel`` whose payload ``wakes`` sets ``wake``, as does
    losing the connection (so a loop asleep notices at once, checks it with ``SELECT 1`` and connects
    again). Closed on exit."""

    def lost(*_: object) -> None:
        wake.set()

    def heard(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        if wakes(payload):
            wake.set()

    conn = await connect(database_url)
    try:
        conn.add_termination_listener(lost)
        await conn.add_listener(channel, heard)
        yield conn
    finally:
        conn.terminate()
