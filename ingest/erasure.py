"""Erasing customers' personal data older than ``CALLBOARD_KEEP_PERSONAL_DATA_DAYS``.

Every hour the ingest forgets the callers' numbers and complaints' customers (callboard/privacy.py)
of everything before the UTC day that many days ago: in calls, complaints, the event log's bodies
(the fields taken out, every other field kept) and the dead letters' raw text. It goes a small
batch at a time, each its own transaction, skipping rows the live ingest holds, so that it never
holds up a live batch for long. Every figure stays: figures never read these values, and repeat
callers are found by ``calls.caller_hash`` (docs/metrics.md). A day of the event log is erased once
and remembered (``event_log_days_erased``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from callboard import privacy
from db.pool import TRANSIENT_ERRORS, connection
from db.queries import QUERIES

from .partitions import LOCK_TIMEOUT, MAINTAIN_EVERY_S, RETRY_S, today

logger = logging.getLogger(__name__)

# Rows changed per transaction: small enough that a live batch never waits on one for long.
BATCH = 1000


@dataclasses.dataclass
class Erased:
    """How many of each held personal data and no longer do."""

    calls: int = 0
    complaints: int = 0
    events: int = 0
    dead_letters: int = 0

    def __bool__(self) -> bool:
        return any(dataclasses.astuple(self))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def _update(pool: asyncpg.Pool, query: str, *args: object) -> int:
    async with connection(pool) as conn, conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        status = await conn.execute(QUERIES[query], *args)
    return int(status.split()[-1])


async def _erase_rows(pool: asyncpg.Pool, query: str, before: datetime, batch: int) -> int:
    """Run ``query`` a batch at a time until a batch finds fewer rows than it may take."""
    total = 0
    while True:
        erased = await _update(pool, query, before, batch)
        total += erased
        if erased < batch:
            return total


async def _erase_day_of_events(pool: asyncpg.Pool, day: date, batch: int) -> int:
    """Take the personal fields out of every body of ``day``'s events, in key order, a batch at a time."""
    total, after = 0, ("", "")
    while True:
        async with connection(pool) as conn, conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            row = await conn.fetchrow(QUERIES["privacy.erase_event_bodies"], _midnight(day),
                                      _midnight(day + timedelta(days=1)), *after, batch,
                                      list(privacy.EVENT_FIELDS))
        if row is None:
            async with connection(pool) as conn:
                await conn.execute(QUERIES["privacy.mark_day_erased"], day)
            return total
        total += row["erased"]
        after = (row["feed"], row["event_id"])


async def erase_before(pool: asyncpg.Pool, first_kept: date, batch: int = BATCH) -> Erased:
    """Erase the personal data of everything before the UTC day ``first_kept``; what was erased."""
    before = _midnight(first_kept)
    erased = Erased(calls=await _erase_rows(pool, "privacy.erase_callers", before, batch),
                    complaints=await _erase_rows(pool, "privacy.erase_customers", before, batch),
                    dead_letters=await _erase_rows(pool, "privacy.erase_dead_letters", before, batch))
    async with connection(pool) as conn:
        days = [row["day"] for row in await conn.fetch(QUERIES["privacy.days_to_erase"], first_kept)]
    for day in days:
        erased.events += await _erase_day_of_events(pool, day, batch)
    return erased


async def erase_forever(pool: asyncpg.Pool, keep_days: int, interval_s: float = MAINTAIN_EVERY_S) -> None:
    """Erase personal data older than ``keep_days`` now and every ``interval_s`` (sooner after a
    failure); until cancelled."""
    while True:
        wait_s = min(interval_s, RETRY_S)
        try:
            first_kept = today() - timedelta(days=keep_days)
            if erased := await erase_before(pool, first_kept):
                logger.info("customers' personal data older than the keep period erased; figures are kept",
                            extra={"action": "personal_data_erased", "before": first_kept.isoformat(),
                                   **dataclasses.asdict(erased)})
            wait_s = interval_s
        except asyncpg.LockNotAvailableError:
            logger.info("rows to erase were busy; erasing again soon",
                        extra={"action": "erasure_busy", "retry_in_s": wait_s})
        except TRANSIENT_ERRORS:
            pass  # the writer reports the database being down
        except Exception:
            logger.exception("erasing old personal data failed; trying again soon",
                             extra={"action": "erasure_failed", "retry_in_s": wait_s})
        await asyncio.sleep(wait_s)
