"""Soak: a realistic floor for an hour with the wall open; memory, queries and push latency must stay flat.

    python bench/soak.py            # one hour
    python bench/soak.py --quick    # about two minutes, to check the soak works
    python bench/soak.py --minutes 480

Runs the production processes as a centre does: the simulated floor (``callboard simulate``, 150
agents in real time, in a time zone where it is late morning, the floor's busy hours), the ingest
subscribed to it, and the dashboard with two workers (``--workers 2``), with /wall open in headless
Chromium. Uses DATABASE_URL if set, otherwise a throw-away embedded PostgreSQL.

It measures twice, over a window at the start (after a warm-up) and one at the end:
- resident memory (RSS) of the ingest, of the dashboard (its parent and workers) and of Chromium;
- the wall page's JavaScript heap in use after a garbage collection (what the page keeps: Chromium's
  RSS also holds what it has yet to collect);
- queries per second: transactions PostgreSQL committed for the database (``pg_stat_database``);
- the floor's rate: events the ingest wrote per second (its /metrics);
- push latency: a caller written to a queue of its own ("soak-probe"), every 2 s, from just before
  its commit to the first animation frame after the wall shows the new waiting figure (stamped in
  the page by a MutationObserver; the bench and the browser read the same clock).

Flat = pass (exit 0): at the end each role's RSS is at most 25% (plus 20 MiB) above the start, the
page's heap at most 25% (plus 5 MiB), queries per second at most 50% above, and push latency's p95
at most twice the start's (plus 100 ms). Otherwise it says which figure grew and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import asyncpg
import psutil
from browser import start_browser
from http_timing import free_port
from signed_in import credentials
from throwaway import run_on_a_server
from wall_latency import OBSERVE

from db.migrate import migrate_url
from db.pool import create_pool, recreate_database
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

PROBE_QUEUE = "soak-probe"
PROBE_EVERY_S = 2.0
AGENTS = 150


def zone_where_it_is_late_morning() -> str:
    offset = 11 - datetime.now(UTC).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # the Etc/GMT sign is inverted


def get_text(port: int, path: str) -> str:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        client.request("GET", path)
        return client.getresponse().read().decode()
    finally:
        client.close()


def events_written(ingest_port: int) -> float:
    text = get_text(ingest_port, "/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("callboard_ingest_events_written_total"))


def rss_mib(process: psutil.Process) -> float:
    """The process and its descendants (the dashboard's workers, Chromium's renderers)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def page_heap_mib(browser) -> float:
    """The wall page's JavaScript heap in use, after a garbage collection: what the page keeps."""
    browser.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    return browser.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"] / 2**20


async def transactions(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                   "WHERE datname = current_database()")
    finally:
        await conn.close()


class Probe:
    """Callers written, one by one, to a queue only the bench uses; the wall shows how many wait."""

    def __init__(self, pool: asyncpg.Pool, browser) -> None:
        self._writer = EventWriter(pool, "soak-probe")
        self._browser = browser
        self.sent = 0

    async def once(self) -> float:
        """Write one more caller; return ms from just before the write to the wall painting it."""
        self.sent += 1
        number, began = self.sent, time.time()
        frame = json.dumps([{"id": f"probe-{number}", "ts": datetime.now(UTC).isoformat(), "type": "call.queued",
                             "call_id": f"probe-{number}", "queue": PROBE_QUEUE, "caller": "+44 20 7946 0000"}])
        await self._writer.write([Received(datetime.now(UTC), *parse_message(frame))])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            painted = await asyncio.to_thread(self._browser.execute_script,
                                              "return window.wallBench.frame[arguments[0]];", str(number))
            if painted is not None:
                return painted - began * 1000
            await asyncio.sleep(0.02)
        raise RuntimeError(f"the wall did not show {number} waiting in {PROBE_QUEUE} within 30 s")


async def measure(url: str, ingest_port: int, roles: dict[str, psutil.Process], probe: Probe, browser,
                  seconds: float) -> dict:
    began, events_before, xacts_before = time.monotonic(), events_written(ingest_port), await transactions(url)
    latencies = []
    while time.monotonic() - began < seconds:
        started = time.monotonic()
        latencies.append(await probe.once())
        await asyncio.sleep(max(0.0, PROBE_EVERY_S - (time.monotonic() - started)))
    elapsed = time.monotonic() - began
    await asyncio.sleep(1.1)  # backends publish their transaction counts at most once a second
    return {"rss": {name: rss_mib(process) for name, process in roles.items()},
            "heap": await asyncio.to_thread(page_heap_mib, browser),
            "qps": (await transactions(url) - xacts_before) / (time.monotonic() - began),
            "events": (events_written(ingest_port) - events_before) / elapsed,
            "p50": statistics.median(latencies), "p95": statistics.quantiles(latencies, n=20)[-1],
            "probes": len(latencies)}


def report(label: str, figures: dict) -> None:
    memory = "  ".join(f"{name} {mib:6.1f} MiB" for name, mib in figures["rss"].items())
    print(f"{label:5}  RSS: {memory}   the wall page's JS heap {figures['heap']:6.1f} MiB")
    print(f"{'':5}  queries/s {figures['qps']:7.1f}   floor events/s {figures['events']:6.1f}   "
          f"push latency p50 {figures['p50']:6.0f} ms  p95 {figures['p95']:6.0f} ms  ({figures['probes']} probes)",
          flush=True)


def growth(start: dict, end: dict) -> list[str]:
    grown = [f"RSS of the {name}: {start['rss'][name]:.1f} -> {end['rss'][name]:.1f} MiB"
             for name in start["rss"] if end["rss"][name] > start["rss"][name] * 1.25 + 20]
    if end["heap"] > start["heap"] * 1.25 + 5:
        grown.append(f"the wall page's JS heap: {start['heap']:.1f} -> {end['heap']:.1f} MiB")
    if end["qps"] > start["qps"] * 1.5:
        grown.append(f"queries/s: {start['qps']:.1f} -> {end['qps']:.1f}")
    if end["p95"] > start["p95"] * 2 + 100:
        grown.append(f"push latency p95: {start['p95']:.0f} -> {end['p95']:.0f} ms")
    return grown


async def soak(admin_url: str, minutes: float, window_s: float, warm_up_s: float) -> int:
    url = await recreate_database(admin_url, "callboard_soak")
    await migrate_url(url)
    signed_in = await credentials(url)
    data_dir = tempfile.mkdtemp(prefix="callboard-soak-")
    env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_TIMEZONE": zone_where_it_is_late_morning(),
           "CALLBOARD_CONFIG": "", "CALLBOARD_DATA_DIR": data_dir}
    command = [sys.executable, "-m", "callboard", "--log-level", "WARNING"]
    feed_port, ingest_port, dashboard_port = free_port(), free_port(), free_port()
    processes = [
        subprocess.Popen([*command, "simulate", "--serve", f"127.0.0.1:{feed_port}", "--agents", str(AGENTS)], env=env),
        subprocess.Popen([*command, "ingest", "--feed", f"ws://127.0.0.1:{feed_port}", "--feed-name", "soak",
                          "--host", "127.0.0.1", "--port", str(ingest_port)], env=env),
        subprocess.Popen([*command, "dashboard", "--workers", "2", "--host", "127.0.0.1",
                          "--port", str(dashboard_port)], env=env),
    ]
    browser, pool = None, None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if events_written(ingest_port) > 0 and "ok" in get_text(dashboard_port, "/healthz"):
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError("the floor, the ingest or the dashboard did not start")
            await asyncio.sleep(0.5)
        browser = start_browser()
        # signed in as a wall screen is, with a display's URL
        await asyncio.to_thread(browser.get, signed_in.display_url(f"http://127.0.0.1:{dashboard_port}"))
        drawn = "return document.querySelector('.wall-queues') !== null;"
        while not await asyncio.to_thread(browser.execute_script, drawn):  # the wall's first drawing
            if time.monotonic() > deadline + 60:
                raise RuntimeError("the wall was not drawn")
            await asyncio.sleep(0.2)
        await asyncio.to_thread(browser.execute_script, OBSERVE, PROBE_QUEUE)
        pool = await create_pool(url, min_size=1, max_size=2)
        probe = Probe(pool, browser)
        roles = {"ingest": psutil.Process(processes[1].pid), "dashboard": psutil.Process(processes[2].pid),
                 "chromium": psutil.Process(browser.service.process.pid)}
        print(f"soak: {minutes:g} min, {AGENTS}-agent floor in real time, /wall open, dashboard --workers 2; "
              f"windows of {window_s:g} s", flush=True)
        await asyncio.sleep(warm_up_s)
        soak_began = time.monotonic()
        start = await measure(url, ingest_port, roles, probe, browser, window_s)
        report("start", start)
        await asyncio.sleep(max(0.0, minutes * 60 - window_s - (time.monotonic() - soak_began)))
        end = await measure(url, ingest_port, roles, probe, browser, window_s)
        report("end", end)
        for process in processes:
            if process.poll() is not None:
                print(f"FAIL: {process.args[3]} exited with {process.returncode} during the soak")
                return 1
        grown = growth(start, end)
        print("FAIL, grew: " + "; ".join(grown) if grown else "PASS: flat")
        return 1 if grown else 0
    finally:
        if pool is not None:
            await pool.close()
        if browser is not None:
            browser.quit()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about two minutes, to check the soak works")
    parser.add_argument("--minutes", type=float, default=60, help="how long to soak (default 60)")
    args = parser.parse_args()
    minutes, window_s, warm_up_s = (1.5, 20, 10) if args.quick else (args.minutes, 120, 60)
    codes = []
    run_on_a_server(lambda admin_url: _keep(codes, soak(admin_url, minutes, window_s, warm_up_s)))
    sys.exit(codes[0])


async def _keep(codes: list[int], running) -> None:
    codes.append(await running)


if __name__ == "__main__":
    main()
