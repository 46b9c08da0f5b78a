"""Live snapshot refresh per change: the live state in memory beside the snapshot read whole.

    python bench/live_snapshot.py            # full run: 1,000 agents, 10 million events of history
    python bench/live_snapshot.py --quick    # 1,000 agents, 300,000 events, for a smoke test

Loads the history and the floor now as bench/api_latency.py does (``bench/api_latency.sql``: 1,000
agents logged in, 300 callers waiting, 600 calls being talked, 60 on hold, 100 open complaints).
Then, in this process, commits changes one at a time through the real ingest writer (each a
batch of four events: a waiting caller answered, the agent's state, a new caller, a call ended),
and after each times what a dashboard does to refresh its live snapshot: with
``CALLBOARD_LIVE_STATE=recompute`` the whole snapshot read again (``LiveData.snapshot``), with
``incremental`` the rows the batch's NOTIFY payload carries (read by the writer in the batch's
transaction) applied to the state in memory and the snapshot formed from it, its entries formed
again only where the batch changed them (``LiveState.snapshot``). It also times the writer's batch
(the events written, the rows read back and announced, the commit). Both snapshots of the same
moment are compared at the end. Uses DATABASE_URL if set, otherwise a throw-away embedded PostgreSQL. Target: the
incremental refresh <= 5 ms (median).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# The project's packages before this folder's modules (bench/alerts.py would hide the alerts package).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api_latency import load  # noqa: E402
from throwaway import run_on_a_server  # noqa: E402

from callboard.metrics import Thresholds  # noqa: E402
from dashboard.data import LiveData  # noqa: E402
from dashboard.live_state import LiveState  # noqa: E402
from db.changes import CHANNEL  # noqa: E402
from db.migrate import migrate_url  # noqa: E402
from db.pool import connect, create_pool, recreate_database  # noqa: E402
from ingest.protocol import parse_message  # noqa: E402
from ingest.writer import EventWriter, Received  # noqa: E402

TARGET_MS = 5.0


def change(n: int) -> list[dict]:
    """The n-th change of the floor: four events, three calls and an agent touched."""
    now = datetime.now(UTC).isoformat()
    agent = f"a{n % 1000 + 1:04}"
    return [
        {"id": f"live-{n}-answer", "type": "call.answered", "ts": now, "call_id": f"w{n % 300 + 1}", "agent": agent},
        {"id": f"live-{n}-state", "type": "agent.state", "ts": now, "agent": agent, "state": "on_call"},
        {"id": f"live-{n}-queued", "type": "call.queued", "ts": now, "call_id": f"live{n}", "queue": "billing",
         "caller": "+86 138 0000 0000"},
        {"id": f"live-{n}-ended", "type": "call.ended", "ts": now, "call_id": f"t{n % 600 + 1}", "agent": agent,
         "released_by": "customer", "resolved": True},
    ]


def summary(name: str, ms: list[float], target: float | None = None) -> str:
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1]
    verdict = "" if target is None else f"  target median <= {target:g} ms: " + (
        "met" if statistics.median(ms) <= target else "MISSED")
    return f"  {name:<40} p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  ({len(ms)}){verdict}"


async def bench(admin_url: str, events: int, days: int, changes: int) -> None:
    print(f"machine: {os.cpu_count()} cores; writer and dashboard code in this process, PostgreSQL on the same machine")
    url = await recreate_database(admin_url, "bench_live_snapshot")
    await migrate_url(url)
    print(f"loading about {events:,} events over {days} days ...", flush=True)
    began = time.monotonic()
    stored = await load(url, events, days, datetime.now(UTC))
    print(f"loaded {stored:,} events in {time.monotonic() - began:.0f} s", flush=True)
    thresholds = Thresholds()
    pool = await create_pool(url)
    listener = await connect(url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    try:
        live = LiveData(pool, thresholds, UTC, stale_after_s=30)
        state = LiveState(pool, live, thresholds)
        began = time.monotonic()
        first = await state.snapshot()
        print(f"live state built in {(time.monotonic() - began) * 1000:.0f} ms: {len(first['agents'])} agents, "
              f"{first['totals']['waiting']} waiting, {len(first['holds_open'])} open holds, "
              f"{first['totals']['offered']:,} calls offered today", flush=True)
        writer = EventWriter(pool, "bench")
        recompute_ms, incremental_ms, write_ms = [], [], []
        for n in range(changes):
            parsed, rejects = parse_message(json.dumps(change(n)))
            began = time.perf_counter()
            await writer.write([Received(datetime.now(UTC), parsed, rejects)])
            write_ms.append((time.perf_counter() - began) * 1000)
            payloads = [await asyncio.wait_for(heard.get(), 10)]
            while "rows" in (last := json.loads(payloads[-1])) and last["part"] < last["parts"]:
                payloads.append(await asyncio.wait_for(heard.get(), 10))
            began = time.perf_counter()
            await live.snapshot()
            recompute_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            for payload in payloads:
                state.heard(json.loads(payload))
            await state.snapshot()
            incremental_ms.append((time.perf_counter() - began) * 1000)
        moment = datetime.now(UTC)
        equal = await state.snapshot(moment) == await live.snapshot(now=moment)
    finally:
        await listener.close()
        await pool.close()
    print(f"live snapshot refresh after each change ({changes} changes of 4 events):")
    print(summary("recompute (the whole snapshot read)", recompute_ms))
    print(summary("incremental (the batch's rows, as announced)", incremental_ms, TARGET_MS))
    ratio = statistics.median(recompute_ms) / statistics.median(incremental_ms)
    print(f"  recompute / incremental, medians: {ratio:.1f}x")
    print(f"the two snapshots of the same moment are {'equal' if equal else 'NOT EQUAL'}")
    print(summary("the writer's batch, written, its rows read and announced, committed", write_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run, to check the benchmark works")
    args = parser.parse_args()
    sizes = (300_000, 7, 30) if args.quick else (10_000_000, 90, 200)
    run_on_a_server(lambda admin_url: bench(admin_url, *sizes))


if __name__ == "__main__":
    main()
