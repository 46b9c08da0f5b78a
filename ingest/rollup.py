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
This loop computes the stale days again beside the ingest, never holding it off: a day from one
read-only snapshot, then its totals stored in a short transaction that takes the day off the stale
list, last, only if nothing marked it again since that snapshot (each marking takes a new number,
``rollup.unmark_day``); otherwise it stores nothing, and the day stays stale and is computed again.
A batch marking the day meanwhile waits only for that transaction's commit. A day is computed only
once every transaction that began before it ended has ended too (one of those may have judged the
day not yet complete and so left it unmarked: ``rollup.ingest_in_flight_since``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg

from callboard.metrics import AGENT_COUNT_FIELDS, FLOOR_COUNT_FIELDS, QUEUE_COUNT_FIELDS, Thresholds
from db.pool import TRANSIENT_ERRORS, connection
from db.queries import QUERIES

logger = logging.getLogger(__name__)

# How often the loop looks for stale days. Short: until a day is computed again, reports count it
# from the calls, which is right but slower.
ROLL_UP_S = 10.0
# At start, days without totals are looked for this far back: the longest report (92 days) and
# the day in progress. Afterwards only the last two days, where a day has just ended.
LOOK_BACK_AT_START_DAYS = 93
LOOK_BACK_DAYS = 2


QUARTER = timedelta(minutes=15)


@dataclasses.dataclass(frozen=True, slots=True)
class DayCounts:
    """One day's counts, as read from one snapshot: per agent, and per quarter hour (``quarters``)
    per queue and per queue and agent."""

    agents: list[asyncpg.Record]
    quarters: list[datetime]
    queues: list[asyncpg.Record]
    floor: list[asyncpg.Record]


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

    async def roll_up_one(self, marked_before: datetime) -> tuple[date, bool] | None:
        """Compute again the latest complete day marked stale before ``marked_before``: the day and
        whether its totals were stored (not if it was marked again meanwhile), or None if there is
        none, or none that may be computed yet."""
        async with connection(self._pool) as conn:
            stale = await conn.fetchrow(QUERIES["rollup.next_stale_day"], marked_before)
            if stale is None:
                return None
            day, mark = stale["day"], stale["mark"]
            end = day_start(day + timedelta(days=1))
            if await conn.fetchval(QUERIES["rollup.ingest_in_flight_since"], end):
                return None  # the next pass
        async with connection(self._pool) as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            totals = await self._count_day(conn, day)
        return day, await self._store_unless_marked_again(day, mark, totals)

    async def _store_unless_marked_again(self, day: date, mark: int, counts: DayCounts) -> bool:
        """Store the day's totals and take it off the stale list, in one transaction, unless it was
        marked again since ``mark`` (then nothing is stored, and it is computed again later).

        The day leaves the list last: a batch marking it again meanwhile (late events for it) waits
        for that row, so only for this transaction's commit, not for the writing of its totals.
        """
        async with connection(self._pool) as conn:
            storing = conn.transaction()
            await storing.start()
            try:
                await self._store_day(conn, day, counts)
                unmarked = await conn.fetchval(QUERIES["rollup.unmark_day"], day, mark) is not None
            except asyncpg.PostgresError:
                await storing.rollback()
                raise
            await (storing.commit() if unmarked else storing.rollback())
            return unmarked

    async def _count_day(self, conn: asyncpg.Connection, day: date) -> DayCounts:
        """The day's agent counts and its queue and floor counts per quarter hour, from one snapshot."""
        t = self._t
        start, end = day_start(day), day_start(day + timedelta(days=1))
        agents = await conn.fetch(QUERIES["live.agent_counts"], start, end, t.answer_target_s, t.hold_limit_s,
                                  end, end, True)
        if any(row["holds_open"] for row in agents):
            return DayCounts(agents, [], [], [])
        quarters = [start + n * QUARTER for n in range((end - start) // QUARTER)]
        queues = await conn.fetch(QUERIES["live.queue_counts"], quarters, end, t.answer_target_s, t.short_abandon_s,
                                  None)
        floor = await conn.fetch(QUERIES["trends.floor_counts"], quarters, end, t.hold_limit_s, end, None, None)
        return DayCounts(agents, quarters, queues, floor)

    async def _store_day(self, conn: asyncpg.Connection, day: date, counts: DayCounts) -> None:
        """Replace the day's totals. A day with holds still open at its end keeps no counts: it is
        counted from the calls until those holds end."""
        t = self._t
        holds_open = sum(row["holds_open"] for row in counts.agents)
        agents = [] if holds_open else counts.agents
        await conn.execute(QUERIES["rollup.forget_day"], day)
        await conn.execute(QUERIES["rollup.store_day"], day, t.answer_target_s, t.hold_limit_s, t.short_abandon_s,
                           holds_open, [row["agent"] for row in agents], *_columns(agents, AGENT_COUNT_FIELDS))
        if holds_open:
            return
        await conn.execute(QUERIES["rollup.store_queue_quarters"], day, counts.quarters,
                           *_columns(counts.queues, ("bucket", "queue", *QUEUE_COUNT_FIELDS)))
        await conn.execute(QUERIES["rollup.store_floor_quarters"], day, counts.quarters,
                           *_columns(counts.floor, ("bucket", "queue", "agent", *FLOOR_COUNT_FIELDS)))

    async def roll_up_stale(self) -> list[date]:
        """Compute every complete day stale now again, one transaction each; the days whose totals
        were stored.

        A day marked again meanwhile waits for the next pass: while events for a past day stream
        in (a feed catching up), the day is computed once a pass, not over and over.
        """
        began = datetime.now(UTC)
        days = []
        while (computed := await self.roll_up_one(began)) is not None:
            day, stored = computed
            if stored:
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
