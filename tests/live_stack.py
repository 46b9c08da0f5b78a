"""Run the ingest and the dashboard in this process, on loopback, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import cache

import uvicorn

from access import keys
from access.roles import ROLES
from callboard import settings as settings_module
from dashboard.auth import SESSION_COOKIE
from dashboard.server import build
from db.pool import connect
from ingest import service

# Every dashboard a test runs has a user of each role, "test-<role>", signed in with a known session
# key and holding a known API token: tests/conftest.py's browser is signed in as the admin.
TEST_PASSWORD = "the tests' own password"
SESSION_KEYS = {role: f"test-session-key-of-the-{role}" for role in ROLES}
API_TOKENS = {role: f"test-api-token-of-the-{role}" for role in ROLES}


def session_cookie(role: str = "admin") -> dict[str, str]:
    """The header of a request signed in as the test user of ``role``."""
    return {"Cookie": f"{SESSION_COOKIE}={SESSION_KEYS[role]}"}


def signed_in(url: str, role: str = "admin", **options) -> urllib.request.Request:
    """A request for ``url`` from the test user of ``role``'s browser session."""
    return urllib.request.Request(url, headers={**session_cookie(role), **options.pop("headers", {})}, **options)


@cache
def _password_hash() -> str:
    return keys.hash_password(TEST_PASSWORD)


async def add_test_users(database_url: str) -> None:
    """The test users, their sessions and their API tokens (again harmlessly if already there)."""
    conn = await connect(database_url)
    try:
        for role in ROLES:
            user_id = await conn.fetchval(
                "INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3) "
                "ON CONFLICT (name) DO UPDATE SET role = excluded.role RETURNING id", f"test-{role}", role,
                _password_hash())
            await conn.execute("INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) "
                               "VALUES ($1, $2, $3, now() + interval '1 day') ON CONFLICT DO NOTHING",
                               keys.digest(SESSION_KEYS[role]), user_id, f"csrf-of-the-{role}")
            await conn.execute("INSERT INTO api_tokens (name, role, token_hash) VALUES ($1, $2, $3) "
                               "ON CONFLICT DO NOTHING", f"test-{role}", role, keys.digest(API_TOKENS[role]))
    finally:
        await conn.close()


def zone_where_it_is_late_morning() -> str:
    """A fixed-offset zone whose local time is now about 11:00, the simulated floor's busy hour:
    what was written minutes ago is today's there, whenever the test runs."""
    offset = 11 - datetime.now(UTC).hour  # from -12 to +11 hours, all real offsets
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # the Etc/GMT sign is inverted


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
    """Serve the dashboard on a free loopback port, with the test users; yield its base URL."""
    await add_test_users(database_url)
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
