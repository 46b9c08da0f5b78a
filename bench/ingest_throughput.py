"""Ingest speed: websocket frames of one event each → committed with derived state.

    python bench/ingest_throughput.py            # full run (about 2 minutes)
    python bench/ingest_throughput.py --quick    # smaller, for a smoke test

Prints sustained events/s with p50/p99 receipt-to-commit latency, the same for a paced
1,000 events/s, the ingest process's peak RSS, and, as the baseline, the naive writer (one
transaction per event) run in this same process on the same events. Uses DATABASE_URL if set,
otherwise a throw-away embedded PostgreSQL. Issue #3's targets: >= 30,000 events/s, and
p99 <= 250 ms at 1,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from throwaway import run_on_a_server

from db.migrate import migrate_url
from db.pool import create_pool, recreate_database
from ingest.protocol import parse_message
from ingest.service import IngestService, tune_garbage_collection
from ingest.writer import EventWriter, Received

BENCH = Path(__file__).parent


class TimedIngest:
    """The real ingest service, with every commit's receipt-to-commit latency recorded."""

    def __init__(self, pool: asyncpg.Pool, feed_url: str, expected: int) -> None:
        self.service = IngestService(pool, feed_url, "bench")
        self.latencies: list[float] = []
        self.first_receipt: float | None = None
        self.done = asyncio.Event()
        self._expected = expected
        write = self.service._writer.write

        async def timed_write(batch: list[Received], *args):
            result = await write(batch, *args)
            committed = datetime.now(UTC)
            for received in batch:
                lag = (committed - received.received_at).total_seconds()
                self.latencies.extend([lag] * len(received.events))
            if self.first_receipt is None:
                self.first_receipt = time.monotonic() - max(self.latencies)
            if len(self.latencies) >= self._expected:
                self.done.set()
            return result

        self.service._writer.write = timed_write


async def run_ingest(url: str, events: int, rate: float) -> tuple[float, list[float]]:
    feed = subprocess.Popen([sys.executable, str(BENCH / "feed.py"), "--events", str(events), "--rate", str(rate)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(feed.stdout.readline().split()[1])
        pool = await create_pool(url, min_size=2, max_size=4)
        try:
            timed = TimedIngest(pool, f"ws://127.0.0.1:{port}", events)
            stop = asyncio.Event()
            running = asyncio.create_task(timed.service.run(stop))
            await asyncio.wait_for(timed.done.wait(), timeout=600)
            elapsed = time.monotonic() - timed.first_receipt
            stop.set()
            await running
            return events / elapsed, timed.latencies
        finally:
            await pool.close()
    finally:
        feed.stdin.close()
        feed.wait(timeout=30)


async def run_naive(url: str, frames: list[str]) -> float:
    """One transaction per event through the same writer: the obvious way to write an ingest."""
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        writer = EventWriter(pool, "naive")
        began = time.monotonic()
        for frame in frames:
            await writer.write([Received(datetime.now(UTC), *parse_message(frame))])
        return len(frames) / (time.monotonic() - began)
    finally:
        await pool.close()


async def fresh_database(admin_url: str, name: str) -> str:
    url = await recreate_database(admin_url, name)
    await migrate_url(url)
    return url


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000)[round(share * 1000) - 1]


async def bench(admin_url: str, events: int, paced_seconds: int, naive_events: int) -> None:
    tune_garbage_collection()  # as `callboard ingest` does
    print(f"machine: {os.cpu_count()} cores; feed in its own process, PostgreSQL on the same machine")
    rate, latencies = await run_ingest(await fresh_database(admin_url, "bench_burst"), events, 0)
    print(f"sustained: {rate:,.0f} events/s over {events:,} single-event frames; "
          f"receipt->commit p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms")
    paced = 1000 * paced_seconds
    _, latencies = await run_ingest(await fresh_database(admin_url, "bench_paced"), paced, 1000)
    print(f"paced 1,000 events/s for {paced_seconds} s: receipt->commit "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms")
    print(f"ingest peak RSS (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    sys.path.insert(0, str(BENCH))
    from feed import frames

    naive = await run_naive(await fresh_database(admin_url, "bench_naive"), frames(naive_events, 1))
    print(f"baseline, one transaction per event: {naive:,.0f} events/s over {naive_events:,} events "
          f"-> batched ingest is {rate / naive:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run, to check the benchmark works")
    args = parser.parse_args()
    sizes = (20_000, 5, 2_000) if args.quick else (300_000, 30, 10_000)
    run_on_a_server(lambda admin_url: bench(admin_url, *sizes))

if __name__ == "__main__":
    main()
