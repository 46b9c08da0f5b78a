"""Write a simulated floor's past days as a history file, for ``callboard import`` (JSON lines).

The floor opens ``days`` before ``until`` and runs to it; at the end it is shut down as the live
simulator's is (callers released, agents logged out), so imported history leaves no call open.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import orjson

from simulator.floor import CallFloor

STEP = timedelta(hours=6)


def write_history(path: Path, *, seed: int, agents: int, days: float, until: datetime | None = None,
                  local_tz: tzinfo | None = None, peak_calls_per_minute: float | None = None) -> int:
    """Write the history to ``path`` (gzip-compressed if its name ends in .gz); how many events."""
    until = until or datetime.now(UTC)
    start = until - timedelta(days=days)
    floor = CallFloor(seed, start.astimezone(local_tz or UTC), agents=agents, run_started=start,
                      peak_calls_per_minute=peak_calls_per_minute)
    written = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        moment = start
        while moment < until:
            moment = min(moment + STEP, until)
            events = floor.events_until(moment)
            written += _write(file, events)
        written += _write(file, floor.shutdown())
    return written


def _write(file, events: list[dict]) -> int:
    file.write(b"".join(orjson.dumps(event) + b"\n" for event in events))
    return len(events)
