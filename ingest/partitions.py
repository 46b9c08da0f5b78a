"""The tables partitioned by time: made ahead of the events, and the log's days dropped past the retention.

The event log has one partition per UTC day (db/migrations/0011...), the derived tables that only
grow by time (agents' states, the roll-ups) one per UTC month (db/migrations/0016...), and a day's
partition comes with its months'. The ingest makes the coming days' partitions ahead, so that a
live batch never waits on one being made; a batch that brings a day with none (history, an event
far in the future) has it made on demand (:func:`make_partitions`). With
``CALLBOARD_KEEP_EVENTS_DAYS`` set, the log's days older than that are dropped whole: detached
without locking out the ingest or the dashboard, then removed. Every figure stays, because figures
are computed from the derived tables and roll-ups, never from the raw events (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import asyncpg

from db.pool import TRANSIENT_ERRORS, connection
from db.queries import QUERIES

logger = logging.getLogger(__name__)

# The tables partitioned by time: the event log by day, and those of db/migrations' monthly_tables by month.
PARTITIONED_BY_TIME = frozenset({"event_log", "agent_states", "agent_day_counts", "queue_quarter_counts",
                                 "floor_quarter_counts_by_agent", "floor_quarter_counts"})
# Days ahead of today (UTC) whose partitions always exist.
DAYS_AHEAD = 7
# How often the ingest looks at the partitions: often enough that a day is never missing, rarely
# enough to cost nothing.
MAINTAIN_EVERY_S = 3600.0
# After a round that failed, the next comes this soon.
RETRY_S = 60.0
# A partition change waits this long for a lock before giving up until the next round, so that it
# never queues the ingest's writes behind a long report.
LOCK_TIMEOUT = "2s"


def today() -> date:
    return datetime.now(UTC).date()


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def make_partitions(pool: asyncpg.Pool, days: Iterable[date]) -> None:
    """Make the partitions of ``days`` (the log's days and the monthly tables' months) that do not
    exist yet; a lock not granted within LOCK_TIMEOUT (partitions being changed meanwhile) raises,
    to be tried again."""
    async with connection(pool) as conn, conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        await conn.execute(QUERIES["partitions.make_partitions"], sorted(set(days)))


async def drop_days_before(pool: asyncpg.Pool, first_kept: date) -> list[date]:
    """Drop the log's partitions of the days before ``first_kept``; the days dropped.

    Each is detached concurrently (it waits for the queries reading it, and blocks none), then
    dropped; one left half detached by a stop is finished first.
    """
    dropped = []
    async with connection(pool) as conn:
        await conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        try:
            for row in await conn.fetch(QUERIES["partitions.detaching"]):
                await conn.execute(f"ALTER TABLE event_log DETACH PARTITION {_identifier(row['partition'])} FINALIZE")
                await conn.execute(f"DROP TABLE {_identifier(row['partition'])}")
            for row in await conn.fetch(QUERIES["partitions.days_before"], first_kept):
                partition = _identifier(row["partition"])
                await conn.execute(f"ALTER TABLE event_log DETACH PARTITION {partition} CONCURRENTLY")
                await conn.execute(f"DROP TABLE {partition}")
                dropped.append(row["day"])
        finally:
            await conn.execute("RESET lock_timeout")
    return dropped


async def maintain(pool: asyncpg.Pool, keep_days: int | None) -> None:
    """Make the partitions of yesterday to DAYS_AHEAD days ahead; drop those past ``keep_days``."""
    now = today()
    await make_partitions(pool, (now + timedelta(days=n) for n in range(-1, DAYS_AHEAD + 1)))
    if keep_days is None:
        return
    first_kept = now - timedelta(days=keep_days)
    if dropped := await drop_days_before(pool, first_kept):
        logger.info("raw events older than the retention dropped; figures and roll-ups are kept",
                    extra={"action": "events_dropped", "first_day": min(dropped).isoformat(),
                           "last_day": max(dropped).isoformat(), "keep_days": keep_days})


async def maintain_forever(pool: asyncpg.Pool, keep_days: int | None, interval_s: float = MAINTAIN_EVERY_S) -> None:
    """Maintain the partitions now and every ``interval_s`` (sooner after a failure); until cancelled."""
    while True:
        wait_s = min(interval_s, RETRY_S)
        try:
            await maintain(pool, keep_days)
            wait_s = interval_s
        except (asyncpg.LockNotAvailableError, asyncpg.ObjectNotInPrerequisiteStateError):
            logger.info("the event log was busy; its partitions are looked at again soon",
                        extra={"action": "partitions_busy", "retry_in_s": wait_s})
        except TRANSIENT_ERRORS:
            pass  # the writer reports the database being down
        except Exception:
            logger.exception("maintaining the event log's partitions failed; trying again soon (events of a "
                             "day without a partition get one when they come)",
                             extra={"action": "partitions_failed", "retry_in_s": wait_s})
        await asyncio.sleep(wait_s)
