"""Run the ingest and the dashboard in this process, on loopback, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import uvicorn

from callboard import settings as settings_module
from dashboard.server import build
from ingest import service


def settings_for_test(**overrides: str) -> settings_module.Settings:
    environ = {"CALLBOARD_TIMEZONE": "UTC", "CALLBOARD_STALE_AFTER_S": "30",
               "CALLBOARD_DATA_DIR": os.environ["CALLBOARD_DATA_DIR"], **overrides}
    return settings_module.load(environ)


@contextlib.asynccontextmanager
async def running_ingest(database_url: str, feed_url: str, feed_name: str = "test",
                         settings: settings_module.Settings | None = None) -> AsyncIterator[None]:
    stop = asyncio.Event()
    settings = settings or settings_for_test()
    task = asyncio.create_task(service.run(settings, database_url, stop, feed_url=feed_url, feed_name=feed_name))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def running_dashboard(database_url: str, settings: settings_module.Settings) -> AsyncIterator[str]:
    """Serve the dashboard on a free loopback port; yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(build(settings, database_url), host="127.0.0.1", port=0,
                                           log_config=None, timeout_graceful_shutdown=1))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
