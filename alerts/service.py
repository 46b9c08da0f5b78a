"""``callboard alerts serve``: the rule engine and the outbox sender side by side, with /metrics.

The channels and the rota are read and checked before anything starts; a fault stops the command
with a message naming the file, the entry and the key. SIGTERM stops both loops cleanly: the
engine finishes the change it is making, the sender the attempts in flight.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from callboard.settings import Settings
from db.pool import create_pool

from . import config
from .engine import AlertEngine
from .health import AlertTelemetry, serving
from .outbox import Sender, SenderOptions

logger = logging.getLogger(__name__)

POOL_SIZE = 4  # the sender's claims and outcomes, the engine's reads and writes (each listens on its own)


async def run(settings: Settings, database_url: str, stop: asyncio.Event, *, host: str, port: int) -> None:
    channel_configs, rota = config.load(settings)
    if rota is None:
        logger.warning("no rota (CALLBOARD_ROTA is not set): alerts are raised and shown, nobody is notified",
                       extra={"action": "alerts_no_rota"})
    # min_size=0: no connection is made before the loops run, so a database still starting is waited for.
    pool = await create_pool(database_url, min_size=0, max_size=POOL_SIZE)
    try:
        async with aiohttp.ClientSession() as session:
            sender = Sender(pool, database_url, config.build_channels(channel_configs, session), settings,
                            SenderOptions.from_settings(settings))
            engine = AlertEngine(pool, database_url, settings, rota)
            async with serving(AlertTelemetry(engine, sender), host, port):
                logger.info("alert service started", extra={"action": "alerts_started", "host": host, "port": port,
                                                            "channels": len(channel_configs)})
                await _together(stop, engine.run(stop), sender.run(stop))
    finally:
        await pool.close()
    logger.info("alert service stopped", extra={"action": "alerts_stopped"})


async def _together(stop: asyncio.Event, *loops) -> None:
    """Run the loops until they return; if one fails, stop the others and raise its error."""
    tasks = [asyncio.create_task(loop) for loop in loops]
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = [task for task in done if task.exception() is not None]
    if failed:
        stop.set()
        await asyncio.wait(tasks)
        raise failed[0].exception()
