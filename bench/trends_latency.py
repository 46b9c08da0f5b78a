"""Trends over a year of history: the importer's speed, then the managers' reads, beside the same
reads counted from the calls.

    python bench/trends_latency.py           # a year, 500 agents, at least 20 million events (about 15 min)
    python bench/trends_latency.py --quick   # 30 days, 100 agents, for a smoke test

Writes a simulated floor's history (``simulator/history.py``) to a JSON lines file, sized so that
the year holds at least ``--events`` events, and loads it with the real ``callboard import`` (which
prints its events/s and computes the per-day and quarter-hour totals at the end). Then starts the
real dashboard (``callboard dashboard``) in its own process and measures, from an HTTP client on
loopback with one kept-alive connection, the median and p95 of /api/v1/trends for 30 days in every
bucket (and filtered by queue, by team, by shift), of the weekday-by-hour heat map, of a year by
day, and of /api/v1/agents for 30 days, and the /trends page's first complete paint in headless
Chromium (from the start of the load until every chart has drawn its data). Each request is
printed beside the same request with every day marked stale, so that it is counted from the calls
as before any totals existed, and the ratio.
Reports the database's size per million events. Uses DATABASE_URL if set, otherwise a throw-away
embedded PostgreSQL. Issue #16's targets: a 30-day trend <= 300 ms median, a year by day <= 1 s,
the agents' data for 30 days <= 500 ms, the /trends page's first complete paint <= 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import asyncpg
from browser import start_browser
from http_timing import free_port, measure, summary, wait_until_answering
from signed_in import credentials
from throwaway import run_on_a_server

from db.migrate import migrate_url
from db.pool import recreate_database
from simulator.floor import CallFloor
from simulator.history import write_history

SEED = 16


def calibrated_peak(agents: int, events_per_day: float) -> float:
    """The peak calls per minute at which the floor makes about ``events_per_day`` (from a day's sample)."""
    start = datetime(2026, 3, 2, tzinfo=UTC)
    sample = CallFloor(SEED, start, agents=agents)
    made = len(sample.events_until(start + timedelta(days=1)))
    return sample.peak_calls_per_minute * events_per_day / made * 1.1


def run_import(path: Path, url: str) -> str:
    done = subprocess.run([sys.executable, "-m", "callboard", "--log-level", "WARNING", "import", str(path),
                           "--feed-name", "bench", "--no-progress"],
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


async def database_facts(url: str) -> tuple[int, int, int, list[str], list[str]]:
    """Events stored, the database's bytes and the raw event log's, the queues and the teams."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")  # what autovacuum does to settled history
        events = await conn.fetchval("SELECT count(*) FROM event_log")
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
        log_size = await conn.fetchval(
            "SELECT sum(pg_total_relation_size(partition::text::regclass)) FROM event_log_days")
        queues = [row["queue"] for row in await conn.fetch("SELECT DISTINCT queue FROM queue_quarter_counts")]
        teams = [row["team"] for row in await conn.fetch("SELECT DISTINCT team FROM agents WHERE team IS NOT NULL")]
        return events, size, log_size, sorted(queues), sorted(teams)
    finally:
        await conn.close()


async def mark_every_day_stale(url: str, stale: bool) -> None:
    """Make every day count from the calls (or undo that), as before any totals were computed."""
    conn = await asyncpg.connect(url)
    try:
        if stale:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_marked (day date PRIMARY KEY)")
            await conn.execute("WITH marked AS (INSERT INTO stale_days (day) SELECT day FROM agent_days "
                               "ON CONFLICT DO NOTHING RETURNING day) INSERT INTO bench_marked SELECT day FROM marked")
        else:
            await conn.execute("DELETE FROM stale_days WHERE day IN (SELECT day FROM bench_marked)")
            await conn.execute("DROP TABLE bench_marked")
    finally:
        await conn.close()


# True once every chart of the page has drawn its data (Plotly keeps it on the graph's div).
ALL_CHARTS_DRAWN = """
var cards = document.querySelectorAll('[data-chart]');
if (!cards.length) return false;
for (var card of cards) {
  var g = card.querySelector('.js-plotly-plot');
  if (!g || !g.data || !g._fullLayout) return false;
}
return cards.length;
"""


def page_paints(base_url: str, path: str, times: int, sign_in_url: str) -> tuple[list[float], int]:
    """Seconds from starting to load ``path`` in headless Chromium until every chart is drawn, per
    load (the first one, which fills the browser's cache, left out); and how many charts there were.
    The browser signs in first, with the one-time link ``sign_in_url``."""
    driver = start_browser()
    took, charts = [], 0
    try:
        driver.get(sign_in_url)
        for n in range(times + 1):
            driver.get("about:blank")
            began = time.perf_counter()
            driver.get(base_url + path)
            deadline = began + 60
            while not (charts := driver.execute_script(ALL_CHARTS_DRAWN)):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{path}: the charts were not all drawn within 60 s")
                time.sleep(0.01)
            if n:
                took.append(time.perf_counter() - began)
    finally:
        driver.quit()
    return took, charts


def requests_to_time(queues: list[str], teams: list[str], now: datetime) -> list[tuple[str, str, float | None]]:
    month = quote((now - timedelta(days=30)).isoformat())
    year = quote((now - timedelta(days=365)).isoformat())
    trend = f"/api/v1/trends?from={month}"
    return [
        *((f"trends, 30 days by {bucket}", f"{trend}&bucket={bucket}", 300.0)
          for bucket in ("15m", "1h", "1d", "1w", "shift")),
        (f"trends, 30 days by hour, queue {queues[0]}", f"{trend}&bucket=1h&queue={quote(queues[0])}", 300.0),
        (f"trends, 30 days by hour, team {teams[0]}", f"{trend}&bucket=1h&team={quote(teams[0])}", 300.0),
        ("trends, 30 days by day, the Late shift", f"{trend}&bucket=1d&shift=Late", 300.0),
        ("heat map, 30 days (weekday x hour)", f"/api/v1/trends/weekday-hours?from={month}", 300.0),
        ("trends, a year by day", f"/api/v1/trends?from={year}&bucket=1d", 1000.0),
        ("agents, 30 days", f"/api/v1/agents?from={month}", 500.0),
    ]


async def bench(admin_url: str, days: int, agents: int, events: int, times: int) -> None:
    print(f"machine: {os.cpu_count()} cores; importer and dashboard in their own processes, PostgreSQL on "
          "the same machine")
    url = await recreate_database(admin_url, "bench_trends")
    await migrate_url(url)
    with tempfile.TemporaryDirectory(prefix="callboard-history-") as tmp:
        path = Path(tmp) / "history.jsonl"
        began = time.monotonic()
        written = write_history(path, seed=SEED, agents=agents, days=days,
                                peak_calls_per_minute=calibrated_peak(agents, events / days))
        os.sync()  # a centre's file is on disk already: the import is not timed against writing it out
        print(f"history: {written:,} events of {days} days, {agents} agents, written in "
              f"{time.monotonic() - began:.0f} s ({path.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        began = time.monotonic()
        imported = run_import(path, url)
        print(f"{imported}\n  (with the totals computed at the end: {time.monotonic() - began:.0f} s in all)",
              flush=True)
    stored, size, log_size, queues, teams = await database_facts(url)
    print(f"database: {size / 2**20:,.0f} MiB for {stored:,} events: "
          f"{size / 2**20 / (stored / 1e6):,.0f} MiB per million events, {log_size / size:.0%} of it the raw "
          "event log (what CALLBOARD_KEEP_EVENTS_DAYS drops)")
    signed_in = await credentials(url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_TIMEZONE": "Asia/Shanghai", "CALLBOARD_CONFIG": "",
           "CALLBOARD_SHIFTS": "Early=07:00-15:00;Late=15:00-23:00;Night=23:00-07:00"}
    server = subprocess.Popen([sys.executable, "-m", "callboard", "--log-level", "WARNING", "dashboard",
                               "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        wait_until_answering(client, "/healthz")
        now = datetime.now(UTC)
        shown = []
        for name, path, target in requests_to_time(queues, teams, now):
            took = measure(client, path, times, signed_in.api_headers)
            shown.append((name, path, took, target))
            print(summary(name, took, target), flush=True)
        paints, charts = page_paints(f"http://127.0.0.1:{port}", "/trends?range=last_30_days&bucket=1h", 5,
                                     signed_in.sign_in_url(f"http://127.0.0.1:{port}"))
        print(summary(f"/trends, last 30 days: all {charts} charts drawn", paints, 2000.0), flush=True)
        client.close()  # the server may have closed it while the browser loaded the page; open it again
        print("the same, counted from the calls (every day marked stale):")
        await mark_every_day_stale(url, True)
        try:
            for name, path, took, _ in shown:
                raw = measure(client, path, max(3, times // 10), signed_in.api_headers)
                ratio = sorted(raw)[len(raw) // 2] / sorted(took)[len(took) // 2]
                print(summary(f"  {name}", raw, None) + f"  {ratio:5.1f}x the time", flush=True)
        finally:
            await mark_every_day_stale(url, False)
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run, to check the benchmark works")
    parser.add_argument("--events", type=int, help="events the history holds at least (default 20 million)")
    args = parser.parse_args()
    days, agents, events, times = (30, 100, 500_000, 5) if args.quick else (365, 500, 20_000_000, 20)
    run_on_a_server(lambda admin_url: bench(admin_url, days, agents, args.events or events, times))


if __name__ == "__main__":
    main()
