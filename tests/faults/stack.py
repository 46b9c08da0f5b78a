"""The real parts a fault test drives: a live feed process, a `callboard ingest` process, and checks.

The feed is bench/feed.py --live: it produces events on a clock and honours resume requests, so
what was produced is known exactly whatever happens to the connection or the ingest. The ingest
is the real command, with its /readyz port. What is stored is counted in event_log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

from callboard.demo import free_port

from ..conftest import start_postgres, stop_postgres, timeout, wait_for
from ..proxy import CuttableProxy

FEED_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "feed.py"
FEED_NAME = "faults"


class LiveFeed:
    """bench/feed.py --live in its own process."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, events: int, rate: float) -> None:
        self.process = process
        self.port = port
        self.events = events
        self.rate = rate
        self.started_at: float | None = None  # loop time its clock started
        self._produced = asyncio.Event()
        self._reading = asyncio.create_task(self._read_status())

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def produced_by(self, moment: float) -> int:
        """How many events the feed had produced at loop time ``moment``."""
        if self.started_at is None:
            return 0
        return min(self.events, int((moment - self.started_at) * self.rate))

    async def produced_everything(self, seconds: float) -> None:
        """Wait for the feed to say every event is out (on its clock, connected or not)."""
        await asyncio.wait_for(self._produced.wait(), timeout(seconds))

    async def _read_status(self) -> None:
        while line := await self.process.stdout.readline():
            if line.split() == [b"started"]:
                self.started_at = asyncio.get_running_loop().time()
            elif line.split() == [b"produced", str(self.events).encode()]:
                self._produced.set()


@contextlib.asynccontextmanager
async def live_feed(events: int, rate: float, *, seed: int = 1) -> AsyncIterator[LiveFeed]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(FEED_SCRIPT), "--live", "--events", str(events), "--rate", str(rate), "--seed", str(seed),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        ready = await asyncio.wait_for(process.stdout.readline(), timeout(60))
        feed = LiveFeed(process, int(ready.split()[1]), events, rate)
        yield feed
    finally:
        process.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout(10))
        if process.returncode is None:
            process.kill()
            await process.wait()


class IngestProcess:
    """`callboard ingest` in its own process, its log in ``log_path``."""

    def __init__(self, database_url: str, feed_url: str, log_path: Path, env: dict[str, str]) -> None:
        self.database_url = database_url
        self.feed_url = feed_url
        self.log_path = log_path
        self.env = env
        self.health_port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.peak_rss_bytes = 0  # the highest of every process started so far, as last sampled

    async def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, **self.env}
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "callboard", "ingest", "--feed", self.feed_url, "--feed-name", FEED_NAME,
                "--port", str(self.health_port), env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, number: int) -> None:
        self.note_peak_rss()
        self.process.send_signal(number)

    def note_peak_rss(self) -> None:
        """Sample the process's peak resident memory so far (VmHWM), while it runs."""
        with contextlib.suppress(OSError, AttributeError):
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
            self.peak_rss_bytes = max(self.peak_rss_bytes, kib * 1024)

    async def exited(self, seconds: float) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout(seconds))

    async def readiness(self) -> tuple[int, dict] | None:
        """/readyz's status code and body; None while nothing answers. Fails if the process is gone."""
        if not self.running:
            raise AssertionError(f"the ingest exited ({self.process.returncode}); its log ends:\n"
                                 + self.log()[-4000:])
        return await asyncio.to_thread(_get_json, f"http://127.0.0.1:{self.health_port}/readyz")

    def metric_now(self, name: str) -> float:
        """The sum of a metric's samples (over its labels) from /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith((name + " ", name + "{")))

    async def written(self) -> float:
        """Events this process stored for the first time, by its metrics."""
        return await asyncio.to_thread(self.metric_now, "callboard_ingest_events_written_total")

    async def is_ready(self) -> bool:
        answer = await self.readiness()
        return answer is not None and answer[0] == 200

    async def says_database_down(self) -> bool:
        answer = await self.readiness()
        return answer is not None and answer[0] == 503 and answer[1]["database_up"] is False

    async def stop(self) -> None:
        if self.running:
            self.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout(30))
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def ingest_process(database_url: str, feed_url: str, log_path: Path,
                         **env: str) -> AsyncIterator[IngestProcess]:
    ingest = IngestProcess(database_url, feed_url, log_path, env)
    await ingest.start()
    try:
        yield ingest
    finally:
        await ingest.stop()


def _get_json(url: str) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None


@dataclass(frozen=True)
class Stored:
    rows: int
    distinct_seqs: int
    first_seq: int | None
    last_seq: int | None

    def exactly(self, events: int) -> bool:
        """Every one of ``events`` consecutive events, once."""
        return (self.rows == self.distinct_seqs == events
                and self.last_seq is not None and self.last_seq - self.first_seq == events - 1)


async def stored(database_url: str) -> Stored | None:
    """What event_log holds for the feed; None while the database does not answer."""
    try:
        conn = await asyncpg.connect(database_url, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None
    try:
        row = await conn.fetchrow("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM event_log "
                                  "WHERE feed = $1", FEED_NAME)
    finally:
        await conn.close()
    return Stored(*row)


async def wait_stored_more_than(database_url: str, count: int, seconds: float = 30) -> None:
    async def more() -> bool:
        now = await stored(database_url)
        return now is not None and now.rows > count
    await wait_for(more, seconds, f"more than {count} events stored")


async def wait_stored_exactly(database_url: str, events: int, seconds: float = 60) -> Stored:
    async def complete() -> bool:
        now = await stored(database_url)
        return now is not None and now.rows >= events
    await wait_for(complete, seconds, f"{events} events stored")
    return await stored(database_url)


async def outage(postgres, ingest: IngestProcess, mode: str, seconds: float) -> None:
    """PostgreSQL stopped in ``mode`` for ``seconds``; /readyz says not ready during it and ready after."""
    await asyncio.to_thread(stop_postgres, postgres, mode)
    await wait_for(ingest.says_database_down, 10, "/readyz to say the database is down")
    await asyncio.sleep(seconds)  # the outage itself
    assert await ingest.says_database_down()
    await asyncio.to_thread(start_postgres, postgres)
    await wait_for(ingest.is_ready, 20, "/readyz to say ready again")


async def every_event_stored_once(database_url: str, feed: LiveFeed, ingest: IngestProcess,
                                  catch_up_s: float = 60) -> Stored:
    """Wait for the feed to produce its last event and for all of them to be stored; check each is
    stored once and the ingest still runs and is ready."""
    await feed.produced_everything(feed.events / feed.rate + 30)
    result = await wait_stored_exactly(database_url, feed.events, catch_up_s)
    assert ingest.running, ingest.log()[-4000:]
    await wait_for(ingest.is_ready, 10, "/readyz to say ready")
    assert result.exactly(feed.events), result
    return result


def journal_segments(data_dir: Path) -> list[Path]:
    directory = data_dir / "journal" / FEED_NAME
    return sorted(directory.glob("*.journal")) if directory.exists() else []


@contextlib.asynccontextmanager
async def database_proxy(database_url: str) -> AsyncIterator[tuple[CuttableProxy, str]]:
    """A proxy on a loopback TCP port to the embedded server's Unix socket; and the URL through it."""
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query)["host"][0]
    proxy = CuttableProxy("localhost", unix_path=f"{socket_dir}/.s.PGSQL.{parts.port or 5432}")
    proxy_port = await proxy.start()
    try:
        yield proxy, f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy_port}{parts.path}"
    finally:
        await proxy.close()


@contextlib.contextmanager
def small_journal_disk(data_dir: Path, mib: int = 1):
    """A ``mib`` MiB disk for the journal: a tmpfs mounted on its directory where that is allowed (as
    root), else the journal's own cap. Yields the environment the ingest needs and which it was."""
    directory = data_dir / "journal"
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(directory)],
                             capture_output=True).returncode == 0
    try:
        yield ({}, "tmpfs") if mounted else ({"CALLBOARD_JOURNAL_MAX_MB": str(mib)}, "CALLBOARD_JOURNAL_MAX_MB")
    finally:
        if mounted:
            subprocess.run(["umount", str(directory)], check=True)
