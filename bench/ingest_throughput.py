"""Ingest speed: websocket frames of one event each → committed with derived state.

    python bench/ingest_throughput.py            # full run (about 4 minutes)
    python bench/ingest_throughput.py --quick    # smaller, for a smoke test

Prints sustained events/s with p50/p99 receipt-to-commit latency, the same for a paced
1,000 events/s, and again while the ingest's roll-up computes past days again beside it (three days
of history, marked stale every few seconds as late events would; and for the events received while
it was computing a day, what background work costs a live batch), again while ``callboard import``
loads a 500-agent floor's past days beside it in its own process (more than it can load meanwhile;
issue #16: an import must not stall the live ingest beyond its commit-latency target; with how
often it told open dashboards to read the whole day again), the ingest
process's peak RSS, and, as the baseline, the naive writer (one transaction per event) run in this
same process on the same events. Uses DATABASE_URL if set, otherwise a throw-away embedded
PostgreSQL. Targets: >= 30,000 events/s and p99 <= 250 ms at 1,000 events/s (issue #3); p99 <= 50 ms
at 1,000 events/s with roll-ups running (issue #19).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
from throwaway import run_on_a_server

from callboard.metrics import Thresholds
from db.changes import CHANNEL
from db.migrate import migrate_url
from db.pool import connect, create_pool, recreate_database
from ingest.protocol import parse_message
from ingest.rollup import ROLL_UP_S, AgentDayTotals
from ingest.service import IngestService, tune_garbage_collection
from ingest.writer import EventWriter, Received
from simulator import CallFloor
from simulator.history import write_history

BENCH = Path(__file__).parent
HISTORY_DAYS = 3
MARK_EVERY_S = 4.0
LIVE_P99_TARGET_S = 0.250  # issue #3
WITH_ROLL_UPS_P99_TARGET_S = 0.050  # issue #19


class TimedIngest:
    """The real ingest service, with every commit's receipt-to-commit latency recorded, and when its
    roll-up computed a day."""

    def __init__(self, pool: asyncpg.Pool, feed_url: str, expected: int) -> None:
        self.service = IngestService(pool, feed_url, "bench")
        self.latencies: list[float] = []
        self.received: list[datetime] = []  # each latency's receipt time
        self.computing: list[tuple[datetime, datetime]] = []  # from when to when the roll-up computed a day
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
                self.received.extend([received.received_at] * len(received.events))
            if self.first_receipt is None:
                self.first_receipt = time.monotonic() - max(self.latencies)
            if len(self.latencies) >= self._expected:
                self.done.set()
            return result

        self.service._writer.write = timed_write
        roll_up_one = self.service._day_totals.roll_up_one

        async def timed_roll_up_one(marked_before: datetime):
            began = datetime.now(UTC)
            computed = await roll_up_one(marked_before)
            if computed is not None:
                self.computing.append((began, datetime.now(UTC)))
            return computed

        self.service._day_totals.roll_up_one = timed_roll_up_one

    def latencies_while_computing(self) -> list[float]:
        """The latencies of the events received while the roll-up computed a day."""
        return self.latencies_received_during(self.computing)

    def latencies_received_during(self, spans: list[tuple[datetime, datetime]]) -> list[float]:
        return [lag for lag, at in zip(self.latencies, self.received, strict=True)
                if any(began <= at <= ended for began, ended in spans)]


class ImportBeside:
    """``callboard import`` of a history file into the live ingest's database, in its own process
    (as a manager would run it), and from when to when it ran."""

    def __init__(self, url: str, path: Path) -> None:
        self._url = url
        self._path = path
        self.span: tuple[datetime, datetime] | None = None
        self.summary = "(stopped before its end)"
        self.announced = 0  # how often the import told open dashboards to read the whole day again

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.announced += orjson.loads(payload).get("feed") == "history"

    async def __call__(self) -> None:
        listener = await connect(self._url)
        await listener.add_listener(CHANNEL, self._heard)
        try:
            await self._import()
        finally:
            await listener.close()

    async def _import(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callboard", "--log-level", "WARNING", "import", str(self._path),
            "--feed-name", "history", "--no-progress", env={**os.environ, "DATABASE_URL": self._url},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        began = datetime.now(UTC)
        try:
            printed, _ = await process.communicate()
            self.summary = printed.decode().strip()
        finally:
            self.span = (began, datetime.now(UTC))
            if process.returncode is None:
                process.terminate()
                await process.wait()


async def run_ingest(url: str, events: int, rate: float, beside: Callable[[], Awaitable[None]] | None = None,
                     ) -> tuple[float, TimedIngest]:
    """Events/s and the timed ingest (every event's receipt-to-commit seconds); ``beside`` runs meanwhile."""
    feed = subprocess.Popen([sys.executable, str(BENCH / "feed.py"), "--events", str(events), "--rate", str(rate)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(feed.stdout.readline().split()[1])
        pool = await create_pool(url, min_size=2, max_size=4)
        try:
            timed = TimedIngest(pool, f"ws://127.0.0.1:{port}", events)
            stop = asyncio.Event()
            running = asyncio.create_task(timed.service.run(stop))
            side = asyncio.create_task(beside()) if beside else None
            await asyncio.wait_for(timed.done.wait(), timeout=600)
            if side:
                side.cancel()
            elapsed = time.monotonic() - timed.first_receipt
            stop.set()
            await running
            return events / elapsed, timed
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


async def with_history(admin_url: str, name: str, days: int) -> str:
    """A fresh database holding ``days`` complete days of a 100-agent floor before today."""
    url = await fresh_database(admin_url, name)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    events = CallFloor(3, today - timedelta(days=days), agents=100).events_until(today)
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        writer = EventWriter(pool, "history")
        for start in range(0, len(events), 5000):
            await writer.write([Received(datetime.now(UTC), *parse_message(orjson.dumps(events[start:start + 5000])))])
        await AgentDayTotals(pool, Thresholds()).roll_up_stale()
    finally:
        await pool.close()
    return url


def marking_days_stale(url: str, days: int, every_s: float) -> Callable[[], Awaitable[None]]:
    """Every ``every_s``, mark the ``days`` before today stale, as late events for them would."""
    async def mark() -> None:
        conn = await asyncpg.connect(url)
        try:
            while True:
                await conn.execute("INSERT INTO stale_days (day) SELECT current_date - n FROM generate_series(1, $1) n "
                                   "ON CONFLICT (day) DO UPDATE "
                                   "SET mark = excluded.mark, marked_at = excluded.marked_at",
                                   days)
                await asyncio.sleep(every_s)
        finally:
            await conn.close()
    return mark


async def fresh_database(admin_url: str, name: str) -> str:
    url = await recreate_database(admin_url, name)
    await migrate_url(url)
    return url


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000)[round(share * 1000) - 1]


def history_to_import(folder: Path, days: int) -> tuple[Path, int]:
    """``days`` of a 500-agent floor before today as a history file, flushed to disk; how many events."""
    path = folder / "history.jsonl"
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    written = write_history(path, seed=5, agents=500, days=days, until=today)
    os.sync()  # a centre's file is on disk already: the import is not timed against writing it out
    return path, written


async def bench(admin_url: str, events: int, paced_seconds: int, naive_events: int, import_days: int) -> None:
    tune_garbage_collection()  # as `callboard ingest` does
    print(f"machine: {os.cpu_count()} cores; feed in its own process, PostgreSQL on the same machine")
    rate, timed = await run_ingest(await fresh_database(admin_url, "bench_burst"), events, 0)
    latencies = timed.latencies
    print(f"sustained: {rate:,.0f} events/s over {events:,} single-event frames; "
          f"receipt->commit p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms")
    paced = 1000 * paced_seconds
    _, timed = await run_ingest(await fresh_database(admin_url, "bench_paced"), paced, 1000)
    latencies = timed.latencies
    print(f"paced 1,000 events/s for {paced_seconds} s: receipt->commit "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms")
    url = await with_history(admin_url, "bench_rolling", HISTORY_DAYS)
    _, timed = await run_ingest(url, paced, 1000, marking_days_stale(url, HISTORY_DAYS, MARK_EVERY_S))
    latencies, computing = timed.latencies, timed.latencies_while_computing()
    print(f"paced 1,000 events/s for {paced_seconds} s while the roll-up computes {HISTORY_DAYS} past days again "
          f"(marked stale every {MARK_EVERY_S:.0f} s; the loop runs every {ROLL_UP_S:.0f} s): receipt->commit "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms  "
          f"(target p99 <= {WITH_ROLL_UPS_P99_TARGET_S * 1000:.0f} ms: "
          f"{'met' if percentile(latencies, 0.99) <= WITH_ROLL_UPS_P99_TARGET_S else 'MISSED'})")
    if len(computing) >= 2:
        print(f"  of which the {len(computing):,} events received while the roll-up computed a day "
              f"({len(timed.computing)} days): p50 {percentile(computing, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(computing, 0.99) * 1000:.1f} ms, max {max(computing) * 1000:.1f} ms")
    with tempfile.TemporaryDirectory(prefix="callboard-bench-history-") as folder:
        path, history = history_to_import(Path(folder), import_days)
        url = await fresh_database(admin_url, "bench_importing")
        importing = ImportBeside(url, path)
        _, timed = await run_ingest(url, paced, 1000, importing)
    beside = timed.latencies_received_during([importing.span])
    p99 = percentile(beside, 0.99)
    print(f"paced 1,000 events/s for {paced_seconds} s while `callboard import` loads {history:,} events "
          f"({import_days} days, 500 agents) beside it: receipt->commit of the {len(beside):,} events received "
          f"during the import p50 {percentile(beside, 0.5) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(beside) * 1000:.1f} ms  (the live ingest's target, p99 <= {LIVE_P99_TARGET_S * 1000:.0f} ms: "
          f"{'met' if p99 <= LIVE_P99_TARGET_S else 'MISSED'}; that with roll-ups running, "
          f"{WITH_ROLL_UPS_P99_TARGET_S * 1000:.0f} ms: {'met' if p99 <= WITH_ROLL_UPS_P99_TARGET_S else 'missed'})"
          f"\n  the import: {importing.summary}"
          f"\n  open dashboards told to read the whole day again {importing.announced} times in "
          f"{(importing.span[1] - importing.span[0]).total_seconds():.0f} s")
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
    sizes = (20_000, 5, 2_000, 1) if args.quick else (300_000, 30, 10_000, 5)
    run_on_a_server(lambda admin_url: bench(admin_url, *sizes))

if __name__ == "__main__":
    main()
