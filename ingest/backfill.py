"""``callboard import FILE``: load history through the ingest's writer, with progress and a summary.

A history file (the protocol's JSON lines, or Asterisk's queue_log) is read by its format's importer
(``ingest/importers/``) on a thread of its own, in chunks of consecutive lines, and written by two
transactions in flight, as the live ingest does, under the feed the history belongs to. Event ids
make it idempotent: importing a file twice, or history the live ingest already stored, stores each
event once. The import never moves the feed's resume point nor marks the feed as alive: the live
ingest of the same feed is unaffected.

Its batches are not announced one by one: each would make every open dashboard read the whole day
again (a batch of history touches too many rows to announce them), several times a second. The
import announces that once every ``ANNOUNCE_EVERY_S`` seconds while it stores, and once at its end
(or, if it can, when it fails or is interrupted).

Bad lines are dead letters naming their line; a compressed file cut short or damaged is stored up
to the last line that can be read, and the import then fails naming that line. A lost
database is waited for, about a minute. At the end the per-day agent totals of the days the history
touched are computed, so reports over them are fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import TypeVar

import asyncpg
from tqdm import tqdm

from callboard.metrics import Thresholds
from callboard.settings import Settings
from db.changes import announce_floor
from db.pool import DATA_ERRORS, TRANSIENT_ERRORS, create_pool, transaction

from .exceptions import ImportInterrupted, ImportRefused, ImportUnreadable
from .importers import UNREADABLE, Chunk, first_line, jsonl, queue_log
from .partitions import make_partitions
from .rollup import AgentDayTotals
from .writer import EventWriter, Received

logger = logging.getLogger(__name__)

EVENTS_PER_CHUNK = 10_000
# While an import stores, open dashboards read the whole day again at most this often (seconds).
ANNOUNCE_EVERY_S = 5.0
# How long an import that failed or was interrupted tries to tell open dashboards (seconds).
LAST_ANNOUNCEMENT_WAIT_S = 5.0
# Transactions in flight at once: while the database applies one chunk, the next is staged.
WRITERS = 2
# Chunks read ahead of the writers.
READ_AHEAD = 4
# Waits between attempts while the database is unreachable (about a minute in all), then the import stops.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 5.0, 5.0, 10.0, 10.0, 10.0, 10.0)


@dataclasses.dataclass
class ImportSummary:
    path: Path
    lines: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    days_rolled_up: int = 0
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def text(self) -> str:
        return (f"imported {self.path}: {self.lines:,} lines, {self.events:,} events: {self.stored:,} stored, "
                f"{self.duplicates:,} already stored; {self._skipped_text()}{self.dead_lettered:,} dead-lettered "
                f"(see the dead_letters table); per-day totals computed for {self.days_rolled_up} days; "
                f"{self.seconds:.1f} s, {self.events_per_s:,.0f} events/s")

    def _skipped_text(self) -> str:
        return f"{self.skipped:,} skipped (nothing for the floor in them); " if self.skipped else ""


Progress = Callable[[Chunk], None]
T = TypeVar("T")


class Backfill:
    """Writes one file's chunks for ``feed`` through an :class:`EventWriter` that keeps no resume point."""

    def __init__(self, pool: asyncpg.Pool, feed: str, thresholds: Thresholds, *,
                 announce_every_s: float = ANNOUNCE_EVERY_S) -> None:
        self._pool = pool
        self._feed = feed
        self._writer = EventWriter(pool, feed, keeps_resume_point=False, announces=False)
        self._totals = AgentDayTotals(pool, thresholds)
        self._days_with_partitions: set[date] = set()
        self._announce_every = announce_every_s
        self._announced_at = 0.0  # when it last announced, or when the run began (time.monotonic())
        self._unannounced = False  # whether something was stored since the last announcement

    async def run(self, path: Path, chunks: Iterator[Chunk], progress: Progress = lambda chunk: None) -> ImportSummary:
        summary = ImportSummary(path)
        began = self._announced_at = time.monotonic()
        queue: asyncio.Queue[Chunk | None] = asyncio.Queue(READ_AHEAD)
        tasks = [asyncio.create_task(self._read(chunks, queue)),
                 *(asyncio.create_task(self._write(queue, summary, progress)) for _ in range(WRITERS))]
        try:
            unreadable, *_ = await asyncio.gather(*tasks)
        except BaseException:
            await self._stop(tasks)
            raise
        if self._unannounced:
            await self._retrying(self._announce)
        summary.seconds = time.monotonic() - began
        summary.days_rolled_up = len(await self._retrying(self._totals.roll_up_stale))
        if unreadable is not None:  # raised once what was read before it is stored
            raise ImportUnreadable(f"{unreadable} ({summary.text()})") from unreadable.__cause__
        return summary

    async def _stop(self, tasks: list[asyncio.Task]) -> None:
        """The import failed or was interrupted: stop its tasks, then tell open dashboards of what they
        stored, trying once (the database may be what failed)."""
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._unannounced:
            with contextlib.suppress(*TRANSIENT_ERRORS, TimeoutError):
                async with asyncio.timeout(LAST_ANNOUNCEMENT_WAIT_S):
                    await self._announce()

    async def _read(self, chunks: Iterator[Chunk], queue: asyncio.Queue[Chunk | None]) -> ImportUnreadable | None:
        """Parse on a thread (the file may be large and compressed) so the writers' round trips go on.
        A file that cannot be read to its end (compressed, and cut short or damaged) is read up to
        there (ingest/importers: ``Lines``): the chunks read are stored, and the reason is returned."""
        unreadable = None
        while True:
            try:
                chunk = await asyncio.to_thread(next, chunks, None)
            except ImportUnreadable as exc:
                unreadable = exc
                break
            if chunk is None:
                break
            await queue.put(chunk)
        for _ in range(WRITERS):
            await queue.put(None)
        return unreadable

    async def _write(self, queue: asyncio.Queue[Chunk | None], summary: ImportSummary, progress: Progress) -> None:
        while (chunk := await queue.get()) is not None:
            await self._make_partitions(chunk)
            received_at = datetime.now(UTC)
            await self._store(received_at, chunk, summary)
            summary.lines = max(summary.lines, chunk.last_line)
            summary.events += len(chunk.events)
            summary.skipped += chunk.skipped
            progress(chunk)

    async def _make_partitions(self, chunk: Chunk) -> None:
        """Make the event log's partitions of the chunk's days first: history brings day after day
        without one, and a batch that finds its day missing is written twice."""
        days = {event.ts.astimezone(UTC).date() for event in chunk.events} - self._days_with_partitions
        if days:
            await self._retrying(lambda: make_partitions(self._pool, days))
            self._days_with_partitions |= days

    async def _store(self, received_at: datetime, chunk: Chunk, summary: ImportSummary) -> None:
        # Before the write too: a write cut off by an interruption may have committed all the same.
        self._unannounced |= bool(chunk.events or chunk.rejects)
        try:
            result = await self._retrying(
                lambda: self._writer.write([Received(received_at, chunk.events, chunk.rejects)]))
        except DATA_ERRORS as exc:  # the protocol's checks leave nothing known to cause this
            raise ImportRefused(f"the database refused an event of lines {chunk.first_line}-{chunk.last_line} ({exc}); "
                                "mend it and import again: what was stored is kept once") from exc
        summary.stored += result.stored
        summary.duplicates += result.duplicates
        summary.dead_lettered += result.dead_lettered
        self._unannounced |= bool(result.stored or result.dead_lettered)  # the other writer may have announced
        if self._unannounced and time.monotonic() - self._announced_at >= self._announce_every:
            await self._retrying(self._announce)

    async def _announce(self) -> None:
        """Tell every open dashboard to read the whole day again: what was stored may be in it."""
        self._announced_at, self._unannounced = time.monotonic(), False
        async with transaction(self._pool) as conn:
            await announce_floor(conn, {"feed": self._feed, "imported": True}, None)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        for delay in (*RETRY_DELAYS, None):
            try:
                return await attempt()
            except TRANSIENT_ERRORS as exc:
                if delay is None:
                    raise ImportInterrupted(
                        f"the database stayed unreachable ({str(exc) or type(exc).__name__}); what was imported "
                        "is kept: run the same import again to store the rest") from exc
                logger.warning("database unreachable; the import waits and tries again",
                               extra={"action": "import_retry", "error": str(exc) or type(exc).__name__,
                                      "retry_in_s": delay})
                await asyncio.sleep(delay)


def recognise_format(path: Path) -> str:
    """``jsonl`` when the first line that is not blank is a JSON object or array, else ``queue_log``."""
    try:
        line = first_line(path)
    except UNREADABLE as exc:
        raise ImportUnreadable(f"{path}: cannot be read ({exc}); is it whole?") from exc
    return "jsonl" if line[:1] in (b"{", b"[") else "queue_log"


def read_chunks(path: Path, file_format: str, zone: tzinfo) -> Iterator[Chunk]:
    """The file's chunks, read as ``file_format`` (one of ``ingest.importers.FORMATS``); ``zone`` is that of a
    queue_log's timestamps that have no offset."""
    if file_format == "queue_log":
        return queue_log.read_chunks(path, EVENTS_PER_CHUNK, zone)
    return jsonl.read_chunks(path, EVENTS_PER_CHUNK)


async def import_file(settings: Settings, database_url: str, path: Path, feed: str, *, file_format: str | None = None,
                      zone: tzinfo | None = None, show_progress: bool = True) -> ImportSummary:
    """The ``callboard import`` command: the file's events stored under ``feed``, with a progress bar.
    The format is recognised by content unless given; ``zone`` defaults to the site's."""
    chunks = read_chunks(path, file_format or recognise_format(path), zone or settings.timezone)
    pool = await create_pool(database_url, min_size=1, max_size=WRITERS + 1)
    try:
        with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, disable=not show_progress,
                  smoothing=0.1) as bar:
            counted = {"events": 0}

            def progress(chunk: Chunk) -> None:
                counted["events"] += len(chunk.events)
                bar.update(max(0, chunk.position - bar.n))
                bar.set_postfix_str(f"{counted['events']:,} events", refresh=False)

            return await Backfill(pool, feed, settings.thresholds()).run(path, chunks, progress)
    finally:
        await pool.close()
