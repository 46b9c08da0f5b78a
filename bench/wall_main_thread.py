"""How busy a 4K wall keeps the browser's main thread while its timers tick.

    python bench/wall_main_thread.py            # 60 s of ticking
    python bench/wall_main_thread.py --quick    # 10 s, for a smoke test

Stores a busy floor (150 agents, 60 holds past the limit, 50 open complaints with their callback
times, callers waiting in 6 queues), starts the real dashboard (``callboard dashboard``) and opens
/wall in headless Chromium at 3840x2160. Once every timer is drawn, it reads Chromium's own count
of the main thread's working time (DevTools ``Performance.getMetrics``: TaskDuration) at the start
and at the end of the window and prints the share of the window the main thread was busy, with the
timers on the page. Nothing changes on the floor meanwhile, so that share is what ticking costs.
Uses DATABASE_URL if set, otherwise a throw-away embedded PostgreSQL. Target (issue #19): under 10%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from browser import start_browser
from http_timing import free_port
from signed_in import credentials
from throwaway import run_on_a_server

from db.migrate import migrate_url
from db.pool import create_pool, recreate_database
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

AGENTS, HOLDS, COMPLAINTS, QUEUES, WAITING_PER_QUEUE = 150, 60, 50, 6, 5
TARGET_BUSY = 0.10
TIMERS_DRAWN = "return document.querySelectorAll('.row.hold .timer.red').length"


def busy_floor(now: datetime) -> list[dict]:
    """The floor's events: agents on calls, holds started 61 s to 10 min ago, callbacks due from 20
    minutes ago to 2 hours ahead, and callers waiting."""
    events: list[dict] = []

    def add(kind: str, ago_s: float, **fields) -> None:
        events.append({"id": f"e{len(events)}", "type": kind, "ts": (now - timedelta(seconds=ago_s)).isoformat(),
                       **fields})

    for n in range(AGENTS):
        add("agent.state", 3600, agent=f"a{n:03}", state="on_call" if n < HOLDS + 40 else "available",
            name=f"Agent {n:03}", team=f"Team {n % 8}")
    for n in range(HOLDS + 40):
        call = f"c{n}"
        add("call.queued", 900, call_id=call, queue=f"queue {n % QUEUES}", caller=f"+1 555 01{n:02}")
        add("call.answered", 880, call_id=call, agent=f"a{n:03}")
        if n < HOLDS:
            add("call.hold_started", 61 + n * 9, call_id=call, agent=f"a{n:03}")
    for n in range(COMPLAINTS):
        due = now + timedelta(minutes=-20 + n * 3)
        add("complaint.opened", 7200, complaint_id=f"k{n}", agent=f"a{n:03}", customer=f"Customer {n}",
            due=due.isoformat())
    for q in range(QUEUES):
        for n in range(WAITING_PER_QUEUE):
            add("call.queued", 5 + n * 20, call_id=f"w{q}-{n}", queue=f"queue {q}", caller=f"+1 555 02{q}{n}")
    return events


async def bench(admin_url: str, seconds: float) -> None:
    url = await recreate_database(admin_url, "bench_wall_main_thread")
    await migrate_url(url)
    now = datetime.now(UTC)
    pool = await create_pool(url)
    try:
        await EventWriter(pool, "bench").write([Received(now, *parse_message(json.dumps(busy_floor(now))))])
    finally:
        await pool.close()
    signed_in = await credentials(url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_CONFIG": "", "CALLBOARD_TIMEZONE": "UTC"}
    server = subprocess.Popen([sys.executable, "-m", "callboard", "--log-level", "WARNING", "dashboard",
                               "--host", "127.0.0.1", "--port", str(port)], env=env)
    browser = await asyncio.to_thread(start_browser, 3840, 2160)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                await asyncio.to_thread(browser.get, signed_in.display_url(f"http://127.0.0.1:{port}"))
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        while not await asyncio.to_thread(browser.execute_script, TIMERS_DRAWN):
            if time.monotonic() > deadline:
                raise TimeoutError("the wall did not show its holds within 120 s")
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # let the first paints settle
        timers = await asyncio.to_thread(browser.execute_script,
                                         "return document.querySelectorAll('[data-timer]').length")
        shown = await asyncio.to_thread(browser.execute_script,
                                        "return document.querySelectorAll('[data-timer]:not(.under-limit)')"
                                        ".length")
        await asyncio.to_thread(browser.execute_cdp_cmd, "Performance.enable", {"timeDomain": "timeTicks"})
        first = await asyncio.to_thread(task_seconds, browser)
        began = time.monotonic()
        await asyncio.sleep(seconds)
        last = await asyncio.to_thread(task_seconds, browser)
        window = time.monotonic() - began
    finally:
        browser.quit()
        server.terminate()
        server.wait(timeout=30)
    busy = (last - first) / window
    verdict = "met" if busy < TARGET_BUSY else "MISSED"
    print(f"4K wall (3840x2160): {timers} timers on the page ({shown} of them shown), {AGENTS} agents, {HOLDS} "
          f"holds, {COMPLAINTS} callbacks")
    print(f"main thread busy {busy:.1%} of {window:.0f} s while the timers tick  (target < {TARGET_BUSY:.0%}: "
          f"{verdict})")


def task_seconds(browser) -> float:
    """The seconds Chromium's main thread has spent on tasks so far in this page."""
    metrics = browser.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s of ticking, to check the benchmark works")
    args = parser.parse_args()
    run_on_a_server(lambda admin_url: bench(admin_url, 10.0 if args.quick else 60.0))


if __name__ == "__main__":
    main()
