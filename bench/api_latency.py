"""API latency on a big floor: /api/v1/live and a 30-day /api/v1/agents over 10 million events.

    python bench/api_latency.py            # full run: 10 million events (loading takes minutes)
    python bench/api_latency.py --quick    # 1 million events, fewer requests, for a smoke test

Loads, set-based (``bench/api_latency.sql``), months of history — the event log plus the floor
state the ingest derives from it — for 1,000 agents, then the floor now: 300 callers waiting,
600 calls being talked, 60 of them on hold, 100 open complaints. Starts the real dashboard
(``callboard dashboard``) in its own process and measures, from an HTTP client on loopback with
one kept-alive connection, the median and p95 of /api/v1/live (the shared snapshot), of
/api/v1/live?since= (computed for the request: today), of /api/v1/agents for 30 days, and of what
the managers' pages read for 30 days: /api/v1/agents/days (the Agents page) and /api/v1/trends by
day (the Trends page's charts). As the baseline, the agents report for one day. Before the
dashboard starts, the ingest's own roll-up code computes the per-day agent totals of the loaded
history (as a running ingest does within seconds), and the time it took is printed. Uses
DATABASE_URL if set, otherwise a throw-away embedded PostgreSQL. Targets (medians): live <= 50 ms,
agents (30 days) <= 500 ms, agents by day (30 days) <= 500 ms, trends (30 days) <= 300 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import asyncpg
from http_timing import free_port, measure, summary
from signed_in import credentials
from throwaway import run_on_a_server

from callboard.metrics import Thresholds
from db.migrate import migrate_url
from db.pool import create_pool, recreate_database
from db.queries import Queries
from ingest.rollup import LOOK_BACK_AT_START_DAYS, AgentDayTotals

BENCH = Path(__file__).parent
SQL = Queries(BENCH)
AGENTS, WAITING, HOLDS = 1000, 300, 60
# Events per history call (queued; answered or abandoned; ended; a hold on 3 in 20; a survey on
# 1 in 7 answered; a complaint on 1 in 200) — used to size the load to the target event count.
EVENTS_PER_CALL = 3.34


async def load(url: str, events: int, days: int, now: datetime) -> int:
    start, end = now - timedelta(days=days, hours=1), now - timedelta(hours=1)
    calls = int((events - 2 * AGENTS * days) / EVENTS_PER_CALL)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; SET work_mem = '64MB'")
        # The days' partitions first: agents' states are partitioned by month, made with the days.
        steps = [("event_log_days", (start - timedelta(days=1), now + timedelta(days=1))),
                 ("agents", (AGENTS,)), ("history_calls", (calls, start, end, AGENTS)), ("history_holds", ()),
                 ("history_surveys", ()), ("history_complaints", ()), ("history_agent_states", (start, end)),
                 ("history_event_log", ()), ("floor_now", (now, WAITING, HOLDS))]
        for name, args in steps:
            began = time.monotonic()
            await conn.execute(SQL[f"api_latency.{name}"], *args)
            print(f"  loaded {name} in {time.monotonic() - began:.0f} s", flush=True)
        began = time.monotonic()
        await conn.execute("VACUUM ANALYZE")  # what autovacuum does to settled history
        print(f"  vacuum analyze in {time.monotonic() - began:.0f} s", flush=True)
        return await conn.fetchval(SQL["api_latency.event_count"])
    finally:
        await conn.close()


async def roll_up(url: str) -> int:
    """What the ingest's roll-up loop does at start: every complete day without per-day totals, computed."""
    pool = await create_pool(url)
    try:
        totals = AgentDayTotals(pool, Thresholds())
        await totals.mark_days_without_totals(LOOK_BACK_AT_START_DAYS)
        return len(await totals.roll_up_stale())
    finally:
        await pool.close()


async def bench(admin_url: str, events: int, days: int, requests: int) -> None:
    print(f"machine: {os.cpu_count()} cores; dashboard in its own process, PostgreSQL on the same machine")
    url = await recreate_database(admin_url, "bench_api")
    await migrate_url(url)
    now = datetime.now(UTC)
    print(f"loading about {events:,} events over {days} days ...", flush=True)
    began = time.monotonic()
    stored = await load(url, events, days, now)
    print(f"loaded {stored:,} events in {time.monotonic() - began:.0f} s; {AGENTS} agents, {WAITING} waiting, "
          f"{HOLDS} open holds")
    began = time.monotonic()
    days = await roll_up(url)
    print(f"per-day agent totals for {days} days computed in {time.monotonic() - began:.1f} s "
          f"({(time.monotonic() - began) / max(days, 1) * 1000:.0f} ms a day)", flush=True)
    signed_in = (await credentials(url)).api_headers
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_TIMEZONE": "UTC", "CALLBOARD_CONFIG": ""}
    server = subprocess.Popen([sys.executable, "-m", "callboard", "--log-level", "WARNING", "dashboard",
                               "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                client.request("GET", "/api/v1/live", headers=signed_in)
                live = json.loads(client.getresponse().read())
                break
            except (ConnectionError, http.client.HTTPException, json.JSONDecodeError):
                if time.monotonic() > deadline:
                    raise
                client.close()
                time.sleep(0.2)
        print(f"live snapshot: {len(live['agents'])} agents, {live['totals']['waiting']} waiting, "
              f"{len(live['holds_open'])} open holds, {live['totals']['offered']} calls offered today")
        today = quote(now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat())
        month = quote((datetime.now(UTC) - timedelta(days=30)).isoformat())
        day = quote((datetime.now(UTC) - timedelta(days=1)).isoformat())
        print(summary("/api/v1/live (shared snapshot)", measure(client, "/api/v1/live", requests, signed_in), 50))
        # Computed for the request, as the hub computes the shared snapshot at each change: what one
        # refresh costs (it bounds how fast a change can reach the pages), not a target of its own.
        print(summary("/api/v1/live?since=today (computed)", measure(client, f"/api/v1/live?since={today}",
                                                                     requests // 4, signed_in), None))
        print(summary("/api/v1/agents, 30 days", measure(client, f"/api/v1/agents?from={month}",
                                                         max(10, requests // 10), signed_in), 500))
        # What the managers' pages read: the Agents page's scorecards and a Trends page's charts.
        print(summary("/api/v1/agents/days, 30 days", measure(client, f"/api/v1/agents/days?from={month}",
                                                              max(10, requests // 10), signed_in), 500))
        print(summary("/api/v1/trends, 30 days by day", measure(client, f"/api/v1/trends?from={month}&bucket=1d",
                                                                max(10, requests // 10), signed_in), 300))
        print(summary("baseline: /api/v1/agents, 1 day", measure(client, f"/api/v1/agents?from={day}",
                                                                 max(10, requests // 10), signed_in), None))
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run, to check the benchmark works")
    parser.add_argument("--days", type=int, default=90, help="days of history the events span (default 90)")
    args = parser.parse_args()
    sizes = (1_000_000, args.days, 40) if args.quick else (10_000_000, args.days, 200)
    run_on_a_server(lambda admin_url: bench(admin_url, *sizes))

if __name__ == "__main__":
    main()
