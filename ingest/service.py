"""The ingest service: one feed in, batched transactions out, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import random
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from callboard.metrics import Thresholds
from callboard.settings import Settings
from callboard.settings import load as load_settings
from db.changes import announce_freshness
from db.pool import DATA_ERRORS, TRANSIENT_ERRORS, connection, create_pool, needs_operator, transaction
from db.queries import QUERIES

from .erasure import erase_forever
from .health import serving
from .journal import Journal, Message
from .partitions import maintain_forever
from .protocol import Rejected, parse_message
from .resume_point import ResumePoint, highest_seq
from .rollup import AgentDayTotals, roll_up_forever
from .sources import OpenSource, Source, callboard_feed
from .stored_floor import StoredFloorReader
from .telemetry import IngestTelemetry
from .writer import EventWriter, Received

logger = logging.getLogger(__name__)

# Messages waiting for the writer in memory; past that they go to the journal, and when that is
# full too the feed is not read (back-pressure).
QUEUE_MESSAGES = 20_000
RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
# How often the ingest tells the dashboard it is alive; well under CALLBOARD_STALE_AFTER_S.
HEARTBEAT_S = 5.0
# While the database fails, how often the heartbeat looks for it; when it answers, writers waiting
# out a long retry delay try again at once.
PROBE_S = 0.5
# Put in the memory queue to wake a writer when messages wait in the journal only.
JOURNAL_WAITING = None
# Transactions in flight at once: while the database works on one, the ingest prepares the next.
WRITERS = 2
# How long a stop may wait for the database to take what was received.
STOP_FLUSH_S = 10.0
# How often to look for calls that were answered or ended but never queued.
SWEEP_S = 60.0


def default_feed_name(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def journal_directory(data_dir: Path, feed_name: str) -> Path:
    return data_dir / "journal" / re.sub(r"[^A-Za-z0-9._-]", "_", feed_name)


class IngestService:
    def __init__(self, pool: asyncpg.Pool, feed_url: str, feed_name: str, *, open_source: OpenSource = callboard_feed,
                 settings: Settings | None = None, batch_max: int = 2000, telemetry: IngestTelemetry | None = None,
                 never_queued_after_s: float = 600.0, journal: Journal | None = None,
                 queue_messages: int = QUEUE_MESSAGES, thresholds: Thresholds | None = None) -> None:
        self.telemetry = telemetry or IngestTelemetry()
        self._pool = pool
        self._feed_name = feed_name
        self._writer = EventWriter(pool, feed_name)
        self._day_totals = AgentDayTotals(pool, thresholds or Thresholds())
        self._resume_point = ResumePoint()
        self._batch_max = batch_max
        self._never_queued_after_s = never_queued_after_s
        self._queue: asyncio.Queue[Received | None] = asyncio.Queue(queue_messages)
        self._journal = journal
        self._in_flight: dict[int, list[Received]] = {}  # batches being written, by number
        self.telemetry.waiting_messages.set_function(self._messages_in_memory)
        self._feed_url = feed_url
        self._open_source = open_source
        self._settings = settings or load_settings({})
        self.source: Source | None = None  # once the resume position is known
        self.telemetry.source_note = lambda: self.source.note if self.source else None
        self._reported_kinds: set[str] = set()
        self._reported_journal_full = False
        self._database_failing = False
        self._database_answered = asyncio.Event()  # wakes writers waiting to retry
        self.stored = 0
        self.dead_lettered = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then write what was received and return."""
        stopping = asyncio.create_task(stop.wait())
        resuming = asyncio.create_task(self._with_retry(self._resume_position))
        await asyncio.wait({resuming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not resuming.done():  # told to stop while the database was unreachable: nothing received yet
            resuming.cancel()
            logger.info("ingest stopped before the database answered", extra={"action": "ingest_stopped"})
            return
        self.source = self._open_source(self._feed_url, deliver=self._deliver, on_connection=self._record_connection,
                                        last_seq=resuming.result(), settings=self._settings,
                                        stored_floor=StoredFloorReader(self._pool, self._feed_name))
        await self._record_connection(False)  # until the feed answers (a killed ingest left it true)
        receiving = asyncio.create_task(self.source.run(), name="feed")
        if self._journal is not None and self._journal.pending:  # left by an earlier run
            self._queue.put_nowait(JOURNAL_WAITING)
        writers = {asyncio.create_task(self._write_forever(), name=f"writer-{n}") for n in range(WRITERS)}
        beating = asyncio.create_task(self._heartbeat(), name="heartbeat")
        sweeping = asyncio.create_task(self._sweep_forever(), name="sweep")
        rolling_up = asyncio.create_task(roll_up_forever(self._day_totals), name="roll-up")
        partitioning = asyncio.create_task(maintain_forever(self._pool, self._settings.keep_events_days),
                                           name="partitions")
        upkeep = [beating, sweeping, rolling_up, partitioning]
        if self._settings.keep_personal_data_days:
            upkeep.append(asyncio.create_task(erase_forever(self._pool, self._settings.keep_personal_data_days),
                                              name="erasure"))
        done, _ = await asyncio.wait({receiving, stopping, *writers}, return_when=asyncio.FIRST_COMPLETED)
        for task in (*upkeep, receiving):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rolling_up  # a day being computed is rolled back and stays stale
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        if not done & writers:
            try:  # write everything already received, unless the database is down
                async with asyncio.timeout(STOP_FLUSH_S):
                    await self._all_written()
            except TimeoutError:
                self._journal_unwritten()
        for task in writers:
            task.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
        if self._journal is not None:
            self._journal.close()
            if self._journal.pending:
                logger.warning("stopping with messages in the journal; they are written at the next start",
                               extra={"action": "stop_journal_kept", "directory": str(self._journal.directory),
                                      "bytes": self._journal.size})
        stopping.cancel()
        with contextlib.suppress(Exception):
            await self._record_connection(False)
        logger.info("ingest stopped", extra={"action": "ingest_stopped", "stored": self.stored,
                                             "dead_lettered": self.dead_lettered})
        for task in done - {stopping}:
            task.result()  # a crashed task re-raises here

    async def _all_written(self) -> None:
        """Memory is empty and no batch is being written (from memory or the journal)."""
        await self._queue.join()
        while self._in_flight:
            await asyncio.sleep(0.05)

    def _journal_unwritten(self) -> None:
        """At a stop the database did not allow: keep what is in memory in the journal, oldest first."""
        unwritten = [received for batch in self._in_flight.values() for received in batch]
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not JOURNAL_WAITING:
                unwritten.append(item)
        kept = lost = 0
        for received in unwritten:
            for raw in [event.raw for event in received.events] + [reject.raw for reject in received.rejects]:
                if self._journal is not None and self._journal.append(raw, received.received_at):
                    kept += 1
                else:
                    lost += 1
        logger.warning("stopping before the database took every event; kept in the journal for the next start "
                       "(any left over are resent by the feed after the last stored seq, if it can)",
                       extra={"action": "stop_unflushed", "journaled": kept, "not_journaled": lost})

    async def _resume_position(self) -> int | None:
        async with connection(self._pool) as conn:
            return await conn.fetchval(QUERIES["ingest.resume_position"], self._feed_name)

    async def _deliver(self, received: Received, message: Message) -> None:
        self.telemetry.on_received(received.events)
        journal = self._journal
        if journal is not None and (journal.pending or self._database_failing or self._queue.full()):
            # While the database fails, messages go straight to disk, where a crash cannot lose them;
            # once anything is in the journal, later messages follow it there, to keep them in order.
            if journal.append(message, received.received_at):
                if journal.unsynced:  # a segment just filled: on the disk before the next message is read
                    await journal.sync()
                self.telemetry.on_journaled(journal.size)
                if self._queue.empty():
                    self._queue.put_nowait(JOURNAL_WAITING)  # wakes a writer to write the journal
                return
            if not self._reported_journal_full:
                self._reported_journal_full = True
                logger.error("journal full; no longer reading the feed until the database takes events again "
                             "(the feed resends after the last stored seq; raise CALLBOARD_JOURNAL_MAX_MB to hold "
                             "more)", extra={"action": "journal_full", "bytes": journal.size})
        await self._queue.put(received)

    async def _record_connection(self, connected: bool) -> None:
        self.telemetry.feed_status(connected)
        try:
            async with transaction(self._pool) as conn:
                await conn.execute(QUERIES["ingest.record_connection"], self._feed_name, connected)
                await announce_freshness(conn, self._feed_name)
        except (*TRANSIENT_ERRORS, asyncpg.PostgresError):
            pass  # the heartbeat and the writer report the database being down

    async def _heartbeat(self) -> None:
        while True:
            try:
                async with transaction(self._pool) as conn:
                    await conn.execute(QUERIES["ingest.record_heartbeat"], self._feed_name)
                    await announce_freshness(conn, self._feed_name)
                self._database_is_up()
            except TRANSIENT_ERRORS:
                self._database_is_down()  # the writer logs it
            except Exception:
                logger.exception("heartbeat failed; trying again", extra={"action": "heartbeat_failed"})
            await asyncio.sleep(PROBE_S if self._database_failing else HEARTBEAT_S)

    def _database_is_up(self) -> None:
        self._database_failing = False
        self.telemetry.database_status(True)
        self._database_answered.set()

    def _database_is_down(self) -> None:
        self._database_failing = True
        self.telemetry.database_status(False)
        self._database_answered.clear()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                dropped = await self._writer.dead_letter_calls_never_queued(self._never_queued_after_s)
            except TRANSIENT_ERRORS:
                continue  # the writer reports the database being down
            except Exception:
                logger.exception("sweep for calls never queued failed; trying again next time",
                                 extra={"action": "sweep_failed"})
                continue
            if dropped:
                self.telemetry.dead_lettered.labels("impossible_transition").inc(len(dropped))
                logger.warning("events for calls that were never queued moved to dead_letters; is the feed "
                               "dropping call.queued events?",
                               extra={"action": "calls_never_queued", "calls": len(dropped)})

    async def _write_forever(self) -> None:
        while True:
            taken = [await self._queue.get()]
            count = _size(taken[0])
            while count < self._batch_max and not self._queue.empty():
                taken.append(self._queue.get_nowait())
                count += _size(taken[-1])
            batch = [received for received in taken if received is not JOURNAL_WAITING]
            if batch:
                await self._write(batch)
            for _ in taken:
                self._queue.task_done()
            if self._journal is not None and self._journal.pending and self._queue.empty():
                await self._write_journal()

    async def _write_journal(self) -> None:
        """Write the journal, oldest segment first, while nothing newer waits in memory.

        Only once memory is empty: every message received before the journal's has been taken
        by a writer by then, so the resume point cannot pass it while it is only in memory.
        Both writers may be at it, each with a segment of its own.
        """
        while self._journal.pending and self._queue.empty():
            taken = await self._journal.take()
            if taken is None:
                return
            path, messages = taken
            for start in range(0, len(messages), self._batch_max):
                await self._write([Received(received_at, *parse_message(message))
                                   for received_at, message in messages[start:start + self._batch_max]])
            self._journal.release(path)
            self._reported_journal_full = False
            self.telemetry.on_journal_written(self._journal.size)
            if not self._journal.pending:
                logger.info("journal written to the database; back to writing from memory",
                            extra={"action": "journal_drained"})

    async def _write(self, batch: list[Received]) -> None:
        self._report_rejects(batch)
        number = self._resume_point.number()
        self._in_flight[number] = batch
        try:
            batch_seq = await self._commit(batch, number)
        except DATA_ERRORS as exc:
            # Something in the batch is unstorable: write event by event so only it is lost to the log.
            logger.warning("batch refused by the database; writing its events one by one",
                           extra={"action": "batch_split", "error": str(exc)})
            batch_seq = None
            for received in batch:
                for single in _one_per_event(received):
                    batch_seq = highest_seq(batch_seq, await self._commit_or_dead_letter(single, number))
        self._resume_point.committed(number, batch_seq)
        del self._in_flight[number]

    async def _commit_or_dead_letter(self, single: Received, number: int) -> int | None:
        try:
            return await self._commit([single], number)
        except DATA_ERRORS as exc:
            event = single.events[0]
            logger.warning("event refused by the database; dead-lettered",
                           extra={"action": "event_dead_lettered", "kind": "storage", "event_type": event.type})
            reason = f"{event.type}: the database refused it: {exc}"
            reject = Rejected("storage", reason, json.dumps(event.body, ensure_ascii=False), event.id)
            await self._commit([Received(single.received_at, [], [reject])], number)
            return event.seq

    async def _commit(self, batch: list[Received], number: int) -> int | None:
        """Write ``batch`` (numbered ``number``) in one transaction; its highest seq."""
        began = time.monotonic()
        result = await self._with_retry(lambda: self._writer.write(batch, lambda seq: self._resume_after(number, seq)))
        events = [event for received in batch for event in received.events]
        rejects = [reject for received in batch for reject in received.rejects]
        self.telemetry.on_committed(events, result.stored_by_type, result.duplicates, rejects,
                                    time.monotonic() - began)
        self.stored += result.stored
        self.dead_lettered += result.dead_lettered
        return result.batch_seq

    def _messages_in_memory(self) -> int:
        return self._queue.qsize() + sum(map(len, self._in_flight.values()))

    def _resume_after(self, number: int, batch_seq: int | None) -> int | None:
        """The resume point to store with batch ``number``: never past an event only in memory, and never
        past what this process has received from the feed (a journal from an earlier run may hold
        events beyond a gap that only the feed can fill)."""
        seq = self._resume_point.to_store(number, batch_seq)
        received = self.source.last_seq if self.source else None
        return None if seq is None or received is None else min(seq, received)

    def _report_rejects(self, batch: list[Received]) -> None:
        """Log the first reject of each kind; the reason stays in dead_letters (it may quote personal data)."""
        for received in batch:
            for reject in received.rejects:
                if reject.kind not in self._reported_kinds:
                    self._reported_kinds.add(reject.kind)
                    logger.warning(
                        "bad input from the feed dead-lettered; later ones of this kind are only counted "
                        "(see the dead_letters table)",
                        extra={"action": "dead_lettered", "kind": reject.kind, "event_id": reject.event_id},
                    )

    async def _with_retry(self, attempt):
        """``attempt()``'s result, retried through every fault retrying can cure; a fault that needs an
        operator (bad credentials, no schema) raises DatabaseUnusable, saying what to do."""
        for tries in itertools.count():
            try:
                result = await attempt()
                self._database_is_up()
                return result
            except asyncpg.TransactionRollbackError as exc:
                # A deadlock or serialization failure, e.g. with another client writing the same rows.
                logger.info("transaction rolled back by the database; retrying it at once",
                            extra={"action": "batch_retry", "error": str(exc)})
            except TRANSIENT_ERRORS as exc:
                self._database_is_down()
                delay = RETRY_DELAYS[min(tries, len(RETRY_DELAYS) - 1)] * (0.5 + random.random())
                if tries in (0, 10) or tries % 60 == 0:
                    logger.warning(
                        "database write failed; retrying, with received events held in memory and the "
                        "journal (check that PostgreSQL is up and has disk space)",
                        extra={"action": "db_retry", "error": str(exc) or type(exc).__name__,
                               "error_type": type(exc).__name__, "retry_in_s": round(delay, 2),
                               "messages_in_memory": self._messages_in_memory(),
                               "journal_bytes": self._journal.size if self._journal is not None else 0},
                    )
                with contextlib.suppress(TimeoutError):  # back sooner if the heartbeat finds the database
                    async with asyncio.timeout(delay):
                        await self._database_answered.wait()
            except Exception as exc:
                if unusable := needs_operator(exc):
                    raise unusable from exc
                raise


def _size(received: Received | None) -> int:
    return 0 if received is None else len(received.events) + len(received.rejects)


def _one_per_event(received: Received) -> list[Received]:
    singles = [Received(received.received_at, [event], []) for event in received.events]
    if received.rejects:
        singles.append(Received(received.received_at, [], received.rejects))
    return singles


def tune_garbage_collection() -> None:
    """Collect cycles less often: the ingest makes objects by the hundred thousand a second, nearly
    all freed by reference counting, and holds up to QUEUE_MESSAGES of them, which frequent
    collections would scan over and over (measured: a tenth of the ingest's CPU)."""
    gc.freeze()  # what start-up created lives as long as the process
    gc.set_threshold(100_000, 50, 100)


async def run(settings: Settings, database_url: str, stop: asyncio.Event, *, feed_url: str,
              feed_name: str | None = None, host: str | None = None, port: int | None = None,
              open_source: OpenSource = callboard_feed) -> None:
    """The ``callboard ingest`` process, reading the feed at ``feed_url`` through ``open_source``; with
    ``port``, also serve /metrics, /healthz and /readyz."""
    telemetry = IngestTelemetry()
    feed_name = feed_name or default_feed_name(feed_url)
    async with contextlib.AsyncExitStack() as stack:
        if port is not None:
            await stack.enter_async_context(serving(telemetry, host or settings.ingest_host, port))
        journal = Journal(journal_directory(settings.data_dir, feed_name), settings.journal_max_mb * 2**20)
        stack.callback(journal.close)
        pool = await _connect_with_retry(database_url, stop, settings.db_timeout_s)
        if pool is None:
            return
        stack.push_async_callback(pool.close)
        service = IngestService(pool, feed_url, feed_name, open_source=open_source, settings=settings,
                                batch_max=settings.batch_max, telemetry=telemetry,
                                never_queued_after_s=settings.never_queued_after_s, journal=journal,
                                thresholds=settings.thresholds())
        await service.run(stop)


async def _connect_with_retry(database_url: str, stop: asyncio.Event, timeout_s: float) -> asyncpg.Pool | None:
    """A pool once the database answers; None if told to stop first."""
    delay = 0.2
    while not stop.is_set():
        try:
            # The writers, and the heartbeat, sweep, roll-up and partitions one each.
            return await create_pool(database_url, min_size=1, max_size=WRITERS + 4,
                                     timeout_s=timeout_s)
        except TRANSIENT_ERRORS as exc:
            logger.warning("database unreachable at start; retrying",
                           extra={"action": "db_retry", "error": str(exc), "retry_in_s": delay})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
            delay = min(delay * 2, 5.0)
        except Exception as exc:
            if unusable := needs_operator(exc):
                raise unusable from exc
            raise
    return None
