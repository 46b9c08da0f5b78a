"""Run the simulated feed until asked to stop (the ``callboard simulate`` command)."""

from __future__ import annotations

import asyncio
from datetime import timedelta, tzinfo

from simulator.feed_server import demo_server


async def run_simulator(
    host: str,
    port: int,
    seed: int,
    agents: int,
    speed: float,
    backfill_minutes: float,
    stop: asyncio.Event,
    local_tz: tzinfo | None = None,
) -> None:
    """Serve the demo feed until ``stop`` is set, then end the run: connected clients get
    the events that release every open call and log every agent out, then the connections
    close."""
    server = demo_server(
        seed=seed,
        agents=agents,
        speed=speed,
        backfill=timedelta(minutes=backfill_minutes),
        host=host,
        port=port,
        local_tz=local_tz,
    )
    async with server:
        await stop.wait()
