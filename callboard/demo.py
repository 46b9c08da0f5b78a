"""``callboard demo``: the database, the simulator, the ingest, the dashboard and the alert service, as one command.

Each role runs as its own process (as it would in production); this one owns the database,
watches the others, prints where to look, and on Ctrl-C or SIGTERM stops them all, then the
database, and checks that nothing is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

from access.accounts import Accounts
from access.commands import DISPLAY_PATH
from access.keys import new_key
from access.sessions import Gate
from db.migrate import migrate_url
from db.pool import connect, create_pool
from db.queries import QUERIES

from .database import database_url
from .settings import Settings

logger = logging.getLogger(__name__)

FEED_NAME = "demo"
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
DEMO_ADMIN = "admin"
DEMO_DISPLAY = "demo-wall"
SIGN_IN_LINK_VALID = timedelta(hours=24)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.dashboard_host
    port = settings.dashboard_port if args.port is None else args.port
    feed_port, ingest_port, alerts_port = free_port(), free_port(), free_port()
    stop_requested = []

    def request_stop(signum, _frame):
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with database_url(settings) as url:
            asyncio.run(migrate_url(url))
            backfill = 0 if asyncio.run(_has_history(url)) else args.backfill_minutes
            base_url = f"http://{_browser_host(host)}:{port}"
            links = asyncio.run(_sign_in_links(url, settings, base_url))
            env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
            command = [sys.executable, "-m", "callboard", "--log-level", args.log_level]
            roles = {
                "simulator": command + [
                    "simulate", "--serve", f"127.0.0.1:{feed_port}", "--seed", str(args.seed),
                    "--agents", str(args.agents), "--speed", str(args.speed),
                    "--backfill-minutes", str(backfill)],
                "ingest": command + ["ingest", "--feed", f"ws://127.0.0.1:{feed_port}", "--feed-name", FEED_NAME,
                                     "--port", str(ingest_port)],
                "dashboard": command + ["dashboard", "--host", host, "--port", str(port)],
                "alerts": command + ["alerts", "serve", "--port", str(alerts_port)],
            }
            processes = {name: subprocess.Popen(argv, env=env, start_new_session=True)
                         for name, argv in roles.items()}
            try:
                return _supervise(processes, base_url, links, stop_requested)
            finally:
                _stop_all(processes)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _has_history(url: str) -> bool:
    """Whether an earlier demo run stored events (then the simulator adds no made-up past)."""
    conn = await connect(url)
    try:
        return await conn.fetchval(QUERIES["ingest.resume_position"], FEED_NAME) is not None
    finally:
        await conn.close()


async def _sign_in_links(database_url: str, settings: Settings, base_url: str) -> tuple[str, str]:
    """A one-time sign-in link for an admin (made, with a password nobody knows, if there is none) and
    the wall display's URL (a new one each run: only a hash of the last one was kept)."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        accounts = Accounts(pool, actor="demo")
        admins = [user.name for user in await accounts.users() if user.role == "admin"]
        if not admins:
            await accounts.add_user(DEMO_ADMIN, "admin", new_key())
            admins = [DEMO_ADMIN]
        admin = DEMO_ADMIN if DEMO_ADMIN in admins else admins[0]
        link = await Gate(pool, settings).add_sign_in_link(admin, SIGN_IN_LINK_VALID)
        if any(display.name == DEMO_DISPLAY for display in await accounts.displays()):
            await accounts.revoke_display(DEMO_DISPLAY)
        display = await accounts.add_display(DEMO_DISPLAY)
    finally:
        await pool.close()
    return f"{base_url}/signin/link?key={link}", f"{base_url}{DISPLAY_PATH}?key={display}"


def _supervise(processes: dict[str, subprocess.Popen], url: str, links: tuple[str, str], stop_requested: list) -> int:
    announced = False
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stop_requested:
        for name, process in processes.items():
            if process.poll() is not None:
                logger.error("a demo process stopped unexpectedly; stopping the demo (its log is above)",
                             extra={"action": "demo_role_died", "role": name, "exit_code": process.returncode})
                return 1
        if not announced:
            if _answers(url + "/healthz"):
                sign_in, display = links
                print(f"\n  Callboard is running at {url}   (Ctrl-C stops everything)\n"
                      f"  Sign in as an admin (this link works once): {sign_in}\n"
                      f"  The wall, on a display screen:              {display}\n", flush=True)
                announced = True
            elif time.monotonic() > deadline:
                logger.error("the dashboard did not come up in time", extra={"action": "demo_not_ready", "url": url})
                return 1
        time.sleep(0.2)
    return 0


def _stop_all(processes: dict[str, subprocess.Popen]) -> None:
    """Stop the dashboard and the simulator first, then the ingest.

    The simulator ends its run by releasing every open call and logging agents out; the
    ingest keeps running until it has stored those last events.
    """
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for group in (("dashboard", "simulator", "alerts"), ("ingest",)):
        for name in group:
            if processes[name].poll() is None:
                processes[name].send_signal(signal.SIGTERM)
        for name in group:
            try:
                processes[name].wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("a demo process ignored SIGTERM; killing it",
                               extra={"action": "demo_role_killed", "role": name})
                processes[name].kill()
                processes[name].wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _browser_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
