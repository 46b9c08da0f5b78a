"""Alert latency: a complaint callback falling due -> its overdue alert raised -> its first
notification taken by a local webhook receiver.

    python bench/alerts.py            # full size: 10,000 open complaints, 500 due in the same minute
    python bench/alerts.py --quick    # 1,000 open complaints, 50 due in the same 20 s

Stores the open complaints (all but the burst due hours from now), starts the real alert service
(``callboard alerts serve``, its own process) with one person on call all day, reached through a
webhook to a receiver in this process on loopback, and waits until the service is ready. Then:

- baseline: one complaint falls due alone, with the others open;
- burst: the burst's complaints, stored in one commit (with the ingest's NOTIFY), fall due at
  random instants within one window; each raised its due-soon alert on arrival, as it would have
  15 minutes earlier.

For each complaint it measures, from its due time: the overdue alert's ``raised_at`` (as stored),
and the receiver's receipt of the first notification of that alert (one clock: the service and
the receiver run on this machine). Prints p50, p99 and the worst of each, against issue #17's
targets: raised within 5 s, first notification within 10 s. Uses DATABASE_URL if set, otherwise
a throw-away embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp import web
from throwaway import run_on_a_server

from callboard.demo import free_port
from db.changes import CHANNEL as CHANGES
from db.migrate import migrate_url
from db.pool import recreate_database
from db.queries import QUERIES

TARGET_RAISE_S, TARGET_NOTIFY_S = 5.0, 10.0
ROTA = """
[people.lead]
contacts = [{ channel = "hook" }]

[[shifts]]
person = "lead"
start = "00:00"
end = "24:00"
"""


class Receiver:
    """The webhook's other end: when the first notification of each overdue alert arrived."""

    def __init__(self) -> None:
        self.first_overdue: dict[str, float] = {}  # complaint subject -> Unix time received

    async def handle(self, request: web.Request) -> web.Response:
        received = time.time()
        alert = json.loads(await request.read())["alert"]
        if alert["kind"] == "callback_overdue" and alert["change"] == "raised":
            self.first_overdue.setdefault(alert["subject"], received)
        return web.Response(text="ok")


async def store_complaints(conn: asyncpg.Connection, dues: list[tuple[str, datetime]]) -> None:
    async with conn.transaction():
        await conn.copy_records_to_table(
            "complaints", columns=["feed", "complaint_id", "agent", "opened_at", "due"],
            records=[("bench", cid, "a001", due - timedelta(hours=2), due) for cid, due in dues])
        await conn.execute(QUERIES["changes.notify"], CHANGES, [json.dumps({"complaints": len(dues)})])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(conn: asyncpg.Connection, receiver: Receiver, dues: dict[str, datetime],
                  wait_s: float) -> tuple[list[float], list[float]]:
    """(raise latencies, first-notification latencies) in seconds after each due time."""
    subjects = {f"bench/{cid}": due for cid, due in dues.items()}
    deadline = time.monotonic() + wait_s
    while not subjects.keys() <= receiver.first_overdue.keys() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    rows = await conn.fetch("SELECT subject, raised_at FROM alerts WHERE kind = 'callback_overdue' "
                            "AND subject = any($1::text[])", list(subjects))
    raised = [(row["raised_at"] - subjects[row["subject"]]).total_seconds() for row in rows]
    notified = [receiver.first_overdue[subject] - due.timestamp() for subject, due in subjects.items()
                if subject in receiver.first_overdue]
    missing = len(subjects) - min(len(raised), len(notified))
    if missing:
        print(f"  {missing} of {len(subjects)} complaints got no overdue notification within {wait_s:.0f} s")
    return raised, notified


def report(name: str, raised: list[float], notified: list[float]) -> None:
    for what, values, target in (("raised", raised, TARGET_RAISE_S),
                                 ("first notification", notified, TARGET_NOTIFY_S)):
        if not values:
            print(f"  {name:<28} {what:<20} no data")
            continue
        worst = max(values)
        verdict = "met" if worst <= target else "MISSED"
        print(f"  {name:<28} {what:<20} p50 {percentile(values, 0.5):6.2f} s   p99 {percentile(values, 0.99):6.2f} s"
              f"   max {worst:6.2f} s   (n={len(values)}; target <= {target:g} s: {verdict})")


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


async def bench(admin_url: str, open_count: int, burst: int, window_s: float) -> None:
    url = await recreate_database(admin_url, "callboard_bench_alerts")
    await migrate_url(url)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    receiver_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", receiver_port).start()
    conn = await asyncpg.connect(url)
    rng = random.Random(17)
    now = datetime.now(UTC)
    # The open complaints not in the burst fall due 2 to 10 hours from now: open, not yet alerting.
    await store_complaints(conn, [(f"K{n}", now + timedelta(hours=2 + 8 * rng.random()))
                                  for n in range(open_count - burst - 1)])
    with tempfile.TemporaryDirectory(prefix="callboard-bench-alerts-") as tmp:
        config, rota = Path(tmp) / "callboard.toml", Path(tmp) / "rota.toml"
        config.write_text(f'[alerts.channels.hook]\nkind = "webhook"\n'
                          f'url = "http://127.0.0.1:{receiver_port}/hook"\nsecret = "bench"\n')
        rota.write_text(ROTA)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_CONFIG": str(config), "CALLBOARD_ROTA": str(rota),
               "CALLBOARD_TIMEZONE": "UTC", "CALLBOARD_DATA_DIR": tmp}
        service = subprocess.Popen([sys.executable, "-m", "callboard", "--log-level", "WARNING", "alerts", "serve",
                                    "--port", str(port)], env=env)
        try:
            while not await asyncio.to_thread(ready, port):
                await asyncio.sleep(0.2)
            print(f"alert latency, {open_count} open complaints; seconds after each callback's due time")
            alone = {"ALONE": datetime.now(UTC) + timedelta(seconds=5)}
            await store_complaints(conn, list(alone.items()))
            report("baseline: 1 due alone", *await measure(conn, receiver, alone, 5 + 30))
            start = datetime.now(UTC) + timedelta(seconds=10)
            dues = {f"B{n}": start + timedelta(seconds=window_s * rng.random()) for n in range(burst)}
            await store_complaints(conn, list(dues.items()))
            report(f"burst: {burst} due in {window_s:g} s", *await measure(conn, receiver, dues, 10 + window_s + 60))
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(30)
            await conn.close()
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 open complaints, 50 due in the same 20 s")
    args = parser.parse_args()
    sizes = (1_000, 50, 20.0) if args.quick else (10_000, 500, 60.0)
    run_on_a_server(lambda admin_url: bench(admin_url, *sizes))


if __name__ == "__main__":
    main()
