"""Importing Asterisk's queue_log: lines per second through the real ``callboard import``.

    python bench/queue_log_import.py           # a year of a 300-agent centre: tens of millions of lines
    python bench/queue_log_import.py --quick   # 2 days, 50 agents, for a smoke test

Runs a simulated floor (``simulator/floor.py``) over the days and writes what Asterisk's app_queue
would have logged for it as a queue_log file (ENTERQUEUE, RINGNOANSWER for every third answered
call, CONNECT, CALLERONHOLD/CALLEROFFHOLD, COMPLETECALLER/COMPLETEAGENT, ABANDON, EXITWITHTIMEOUT,
BLINDTRANSFER, AGENTLOGIN/AGENTLOGOFF, PAUSE/UNPAUSE), and beside it the same floor's events as the
protocol's JSON lines. Then prints:

- the translation alone (``ingest/importers/queue_log.py``, every line to a checked event, no
  database), in lines/s;
- ``callboard import --format queue_log`` of the file into an empty database: lines/s (the
  import's own time, then with the per-day totals computed at the end);
- as the baseline, ``callboard import`` of the JSON lines into another empty database.

Uses DATABASE_URL if set, otherwise a throw-away embedded PostgreSQL. The target: >= 50,000 lines/s.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from throwaway import run_on_a_server

from db.migrate import migrate_url
from db.pool import recreate_database
from ingest.importers import queue_log
from simulator.floor import CallFloor

SEED = 23
TARGET_LINES_PER_S = 50_000
STEP = timedelta(hours=6)


class QueueLogWriter:
    """What app_queue logs for the protocol events of a floor, one ``epoch|callid|queue|agent|VERB|data``
    line per event that Asterisk would log (surveys, complaints and talking states it does not)."""

    def __init__(self) -> None:
        self._calls: dict[str, tuple[str, str, int, int]] = {}  # call id -> channel id, queue, queued at, answered at
        self._logged_in: set[str] = set()
        self._answered = 0

    def lines(self, event: dict) -> list[str]:
        at = int(datetime.fromisoformat(event["ts"]).timestamp())
        kind = event["type"]
        if kind == "agent.state":
            return self._agent_lines(at, event)
        if not kind.startswith("call.") or (kind != "call.queued" and event["call_id"] not in self._calls):
            return []
        if kind == "call.queued":
            channel = f"{at}.{len(self._calls)}"
            self._calls[event["call_id"]] = (channel, event["queue"], at, at)
            return [f"{at}|{channel}|{event['queue']}|NONE|ENTERQUEUE||{event['caller']}|1"]
        channel, queue, queued_at, answered_at = self._calls[event["call_id"]]
        line = f"{at}|{channel}|{queue}|{{}}"
        if kind == "call.answered":
            self._calls[event["call_id"]] = (channel, queue, queued_at, at)
            self._answered += 1
            connect = line.format(f"{event['agent']}|CONNECT|{at - queued_at}|{at}.{self._answered}|3")
            if self._answered % 3:
                return [connect]
            return [line.format(f"{event['agent']}|RINGNOANSWER|15000"), connect]
        if kind in ("call.hold_started", "call.hold_ended"):
            verb = "CALLERONHOLD" if kind == "call.hold_started" else "CALLEROFFHOLD"
            return [line.format(f"{event['agent']}|{verb}|")]
        if kind == "call.transferred":
            return [line.format(f"{event['from_agent']}|BLINDTRANSFER|2001|from-internal|"
                                f"{answered_at - queued_at}|{at - answered_at}|1")]
        if kind == "call.abandoned":
            return [line.format(f"NONE|ABANDON|1|1|{at - queued_at}")]
        if kind == "call.ended":
            del self._calls[event["call_id"]]
            if "agent" not in event:
                return [line.format(f"NONE|EXITWITHTIMEOUT|1|1|{at - queued_at}")]
            verb = "COMPLETECALLER" if event["released_by"] == "customer" else "COMPLETEAGENT"
            return [line.format(f"{event['agent']}|{verb}|{answered_at - queued_at}|{at - answered_at}|1")]
        return []

    def _agent_lines(self, at: int, event: dict) -> list[str]:
        agent, state = event["agent"], event["state"]
        if state == "logged_out":
            self._logged_in.discard(agent)
            return [f"{at}|NONE|NONE|{agent}|AGENTLOGOFF|SIP/{agent}|0"]
        if agent not in self._logged_in:
            self._logged_in.add(agent)
            return [f"{at}|NONE|NONE|{agent}|AGENTLOGIN|SIP/{agent}"]
        if state in ("break", "not_ready"):
            return [f"{at}|NONE|NONE|{agent}|PAUSEALL|{event.get('reason', state)}"]
        if state == "available":
            return [f"{at}|NONE|NONE|{agent}|UNPAUSEALL|"]
        return []  # talking and wrap-up are not logged


def write_files(folder: Path, days: float, agents: int) -> tuple[Path, int, Path, int]:
    """(the queue_log, its lines, the JSON lines, their events) of ``days`` before the last midnight."""
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    floor = CallFloor(SEED, until - timedelta(days=days), agents=agents)
    writer = QueueLogWriter()
    log_path, json_path = folder / "queue_log", folder / "history.jsonl"
    lines = events = 0
    with log_path.open("w", encoding="utf-8") as log, json_path.open("wb") as jsonl:
        moment = until - timedelta(days=days)
        while moment < until:
            moment = min(moment + STEP, until)
            batch = floor.events_until(moment)
            if moment == until:  # released and logged out, as the simulator ends its runs
                batch += floor.shutdown()
            written = [line for event in batch for line in writer.lines(event)]
            log.write("".join(line + "\n" for line in written))
            jsonl.write(b"".join(orjson.dumps(event) + b"\n" for event in batch))
            lines += len(written)
            events += len(batch)
    return log_path, lines, json_path, events


def translation_rate(path: Path) -> tuple[float, int, int]:
    """(lines/s, events, skipped) of the translation alone, every line checked as the import checks it."""
    began = time.perf_counter()
    events = skipped = 0
    for chunk in queue_log.read_chunks(path, 10_000):
        events += len(chunk.events)
        skipped += chunk.skipped
        assert not chunk.rejects, chunk.rejects[:3]
    took = time.perf_counter() - began
    return chunk.last_line / took, events, skipped


def run_import(path: Path, url: str, file_format: str) -> tuple[str, float, float]:
    """The summary ``callboard import`` prints, the seconds the whole command took and the CPU seconds
    its own process used (the rest of the work is PostgreSQL's)."""
    began, used = time.perf_counter(), os.times()
    done = subprocess.run([sys.executable, "-m", "callboard", "--log-level", "WARNING", "import", str(path),
                           "--format", file_format, "--feed-name", "bench", "--no-progress"],
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=True)
    after = os.times()
    cpu = after.children_user - used.children_user + after.children_system - used.children_system
    return done.stdout.strip(), time.perf_counter() - began, cpu


def import_seconds(summary: str) -> float:
    """The import's own seconds (before the per-day totals), as its summary gives them."""
    return float(re.search(r"; ([\d.]+) s, ", summary).group(1))


async def bench(admin_url: str, days: float, agents: int) -> None:
    print(f"machine: {os.cpu_count()} cores; the import in its own process, PostgreSQL on the same machine")
    with tempfile.TemporaryDirectory(prefix="callboard-queue-log-") as tmp:
        began = time.monotonic()
        log_path, lines, json_path, events = write_files(Path(tmp), days, agents)
        os.sync()  # a centre's file is on disk already: the import is not timed against writing it out
        print(f"queue_log: {lines:,} lines ({log_path.stat().st_size / 2**20:,.0f} MiB) for {days:g} days of "
              f"{agents} agents; as JSON lines {events:,} events; written in {time.monotonic() - began:.0f} s",
              flush=True)

        rate, translated, skipped = translation_rate(log_path)
        print(f"translation alone: {rate:,.0f} lines/s ({translated:,} events, {skipped:,} lines skipped)",
              flush=True)

        url = await recreate_database(admin_url, "bench_queue_log")
        await migrate_url(url)
        summary, took, cpu = run_import(log_path, url, "queue_log")
        own = import_seconds(summary)
        verdict = "meets" if lines / own >= TARGET_LINES_PER_S else "MISSES"
        print(f"{summary}\nqueue_log import: {lines / own:,.0f} lines/s ({verdict} the target of "
              f"{TARGET_LINES_PER_S:,}); {lines / took:,.0f} lines/s with start-up and the per-day totals "
              f"({took:.1f} s in all); the import's own process used {cpu / lines * 1e6:.1f} µs of CPU a line",
              flush=True)

        url = await recreate_database(admin_url, "bench_queue_log_jsonl")
        await migrate_url(url)
        summary, took, cpu = run_import(json_path, url, "jsonl")
        print(f"{summary}\nbaseline, the same floor as JSON lines: {events / import_seconds(summary):,.0f} events/s "
              f"({took:.1f} s in all; {cpu / events * 1e6:.1f} µs of the import process's CPU an event)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run, to check the benchmark works")
    parser.add_argument("--days", type=float, help="days of history (default 365; 2 with --quick)")
    parser.add_argument("--agents", type=int, help="agents on the floor (default 300; 50 with --quick)")
    args = parser.parse_args()
    days, agents = (2, 50) if args.quick else (365, 300)
    run_on_a_server(lambda admin_url: bench(admin_url, args.days or days, args.agents or agents))


if __name__ == "__main__":
    main()
