"""Per-day agent totals and per-quarter-hour queue and floor totals: the ingest keeps them, so that
long reports and trends need not count every call.

A report of the agent figures (``/api/v1/agents``) over weeks reads, for each whole UTC day of
its window, the day's totals per agent (``agent_day_counts``), and counts only the partial days
at its ends from the calls themselves. The totals are exactly what ``live.agent_counts`` gives
for the day, so the report's figures are the same either way (docs/metrics.md). Trends read the
day's quarter hours likewise (``queue_quarter_counts``, ``floor_quarter_counts`` and its agents': what
``live.queue_counts`` and ``trends.floor_counts`` give for each quarter).

They stay right because every ingest transaction marks stale the complete days whose counts its
events may change (``ingest.apply_derived_state``), and readers count a stale day from the calls.
This loop computes the stale days again, one day per transaction, under a lock that waits for
the ingest transactions in flight and holds new ones off meanwhile (``rollup.lock_for_roll_up``):
whatever changes a day after its totals were computed marks it stale again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg

from callboard.metrics import AGENT_COUNT_FIELDS, FLOOR_COUNT_FIELDS, QUEUE_COUNT_FIELDS, Thresholds
from db.pool import TRANSIENT_ERRORS, connection, transaction
from db.queries import QUERIES

logger = logging.getLogger(__name__)

# How often the loop looks for stale days. Short: until a day is computed again, reports count it
# from the calls, which is right but slower.
ROLL_UP_S = 10.0
# At start, days without totals are looked for this far back: the longest report (92 days) and
# the day in progress. Afterwards only the last two days, where a day has just ended.
LOOK_BACK_AT_START_DAYS = 93
LOOK_BACK_DAYS = 2
# A roll-up takes its lock when no ingest transaction is in flight, trying this often for this
# long; only then does it wait for the lock, holding new ingest transactions off meanwhile.
LOCK_TRY_EVERY_S = 0.01
LOCK_TRIES = 200


QUARTER = timedelta(minutes=15)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _columns(rows: list[asyncpg.Record], fields: tuple[str, ...]) -> list[list]:
    return [[row[field] for row in rows] for field in fields]


class AgentDayTotals:
    """Computes the per-day agent totals of stale days, under one set of thresholds."""

    def __init__(self, pool: asyncpg.Pool, thresholds: Thresholds) -> None:
        self._pool = pool
        self._t = thresholds

    async def mark_days_without_totals(self, days: int) -> None:
        """Mark stale the complete days of the last ``days`` that have no totals under our thresholds."""
        t = self._t
        async with connection(self._pool) as conn:
            await conn.execute(QUERIES["rollup.mark_days_without_totals"], days, t.answer_target_s, t.hold_limit_s,
                               t.short_abandon_s)

    async def roll_up_one(self, marked_before: datetime) -> date | None:
        """Compute again, in one transaction, the latest complete day marked stale before ``marked_before``;
        the day, or None if there is none."""
        t = self._t
        async with connection(self._pool) as conn:
            if not await conn.fetchval(QUERIES["rollup.any_stale_day"], marked_before):
                return None
        async with transaction(self._pool) as conn:
            for _ in range(LOCK_TRIES):
                if await conn.fetchval(QUERIES["rollup.try_lock_for_roll_up"]):
                    break
                await asyncio.sleep(LOCK_TRY_EVERY_S)
            else:
                await conn.execute(QUERIES["rollup.lock_for_roll_up"])
            day = await conn.fetchval(QUERIES["rollup.claim_stale_day"], marked_before)
            if day is None:
                return None
            start, end = day_start(day), day_start(day + timedelta(days=1))
            rows = await conn.fetch(QUERIES["live.agent_counts"], start, end, t.answer_target_s, t.hold_limit_s,
                                    end, end, True)
            holds_open = sum(row["holds_open"] for row in rows)
            await conn.execute(QUERIES["rollup.forget_day"], day)
            columns = [[row[field] for row in rows] if not holds_open else [] for field in AGENT_COUNT_FIELDS]
            await conn.execute(QUERIES["rollup.store_day"], day, t.answer_target_s, t.hold_limit_s, t.short_abandon_s,
                               holds_open, [row["agent"] for row in rows] if not holds_open else [], *columns)
            if not holds_open:
                await self._store_quarters(conn, day, start, end)
        return day

    async def _store_quarters(self, conn: asyncpg.Connection, day: date, start: datetime, end: datetime) -> None:
        """The day's queue and floor counts per quarter hour, counted by the trends' own queries."""
        t = self._t
        quarters = [start + n * QUARTER for n in range((end - start) // QUARTER)]
        rows = await conn.fetch(QUERIES["live.queue_counts"], quarters, end, t.answer_target_s, t.short_abandon_s,
                                None)
        await conn.execute(QUERIES["rollup.store_queue_quarters"], day, quarters,
                           *_columns(rows, ("bucket", "queue", *QUEUE_COUNT_FIELDS)))
        rows = await conn.fetch(QUERIES["trends.floor_counts"], quarters, end, t.hold_limit_s, end, None, None)
        await conn.execute(QUERIES["rollup.store_floor_quarters"], day, quarters,
                           *_columns(rows, ("bucket", "queue", "agent", *FLOOR_COUNT_FIELDS)))

    async def roll_up_stale(self) -> list[date]:
        """Compute every complete day stale now again, one transaction each; the days computed.

        A day marked again meanwhile waits for the next pass: while events for a past day stream
        in (a feed catching up), the day is computed once a pass, not over and over.
        """
        began = datetime.now(UTC)
        days = []
        while (day := await self.roll_up_one(began)) is not None:
            days.append(day)
        return days


async def roll_up_forever(totals: AgentDayTotals, interval_s: float = ROLL_UP_S) -> None:
    """Every ``interval_s``, compute the stale days again; until cancelled."""
    look_back = LOOK_BACK_AT_START_DAYS
    while True:
        await asyncio.sleep(interval_s)
        began = time.monotonic()
        try:
            await totals.mark_days_without_totals(look_back)
            days = await totals.roll_up_stale()
        except TRANSIENT_ERRORS:
            continue  # the writer reports the database being down
        except Exception:
            logger.exception("computing the per-day agent totals failed; trying again next time",
                             extra={"action": "roll_up_failed"})
            continue
        look_back = LOOK_BACK_DAYS
        if days:
            logger.info("per-day agent totals computed", extra={
                "action": "agent_days_rolled_up", "days": len(days), "first_day": min(days).isoformat(),
                "last_day": max(days).isoformat(), "seconds": round(time.monotonic() - began, 3)})
