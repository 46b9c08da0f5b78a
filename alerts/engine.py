"""The rule engine: the always-on loop that raises, escalates, hands over and resolves alerts.

It listens for the ingest's NOTIFY at each commit (``callboard_changes``) on a connection of its
own (outside the pool), checked with ``SELECT 1`` every few seconds, and keeps a timer to the next instant a rule can
fire by the clock alone (:mod:`alerts.rules`): a callback due at T raises its alert at T, not at
the next poll. On each wake it reads the floor in one consistent snapshot, applies the rules,
and makes each state change through :mod:`alerts.outbox`, where it is conditional: any number of
engines may run against one database and each change is made once.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg

from callboard import metrics
from callboard.settings import Settings
from db import changes
from db.pool import TRANSIENT_ERRORS, connection
from db.queries import QUERIES

from . import outbox, rules
from .exceptions import OutboxError
from .listening import listening
from .rota import Recipient, Rota

logger = logging.getLogger(__name__)

UTC = datetime.UTC
# Check the listening connection this often while asleep.
CHECK_S = 5.0
RECONNECT_S = 1.0


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(UTC)


class AlertEngine:
    """Raises and resolves alerts from the live data; escalates and hands over those not acknowledged."""

    def __init__(self, pool: asyncpg.Pool, database_url: str, settings: Settings, rota: Rota | None, *,
                 clock: Callable[[], datetime.datetime] = now_utc) -> None:
        self._pool, self._database_url, self._settings, self._rota = pool, database_url, settings, rota
        self._clock = clock
        self._rules = rules.Rules.from_settings(settings)
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()  # set while the engine is connected and woken by each commit
        self.counts: collections.Counter[str] = collections.Counter()  # raised:<kind>, resolved, escalated, ...

    async def run(self, stop: asyncio.Event) -> None:
        """Apply the rules until ``stop`` is set; through a lost database it waits and connects again."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self._listen_and_apply(stopping)
                except TRANSIENT_ERRORS as exc:
                    await self._database_lost(exc)
                except OutboxError as exc:
                    if not isinstance(exc.__cause__, TRANSIENT_ERRORS):
                        raise
                    await self._database_lost(exc.__cause__)
                else:
                    continue
                await asyncio.wait([stopping], timeout=RECONNECT_S)
        finally:
            self.listening.clear()
            stopping.cancel()

    async def _database_lost(self, exc: BaseException) -> None:
        self.listening.clear()
        logger.warning("database unreachable; applying the rules again when it is back",
                       extra={"action": "engine_database_lost", "error": type(exc).__name__})
        await self._pool.expire_connections()  # none that the loss left half-used is handed out again

    async def _listen_and_apply(self, stopping: asyncio.Future) -> None:
        async with listening(self._database_url, changes.CHANNEL, self._wake,
                             wakes=changes.may_move_the_floor) as listener:
            self.listening.set()
            try:
                while not stopping.done():
                    self._wake.clear()
                    next_at = await self.apply()
                    await self._sleep_until(next_at, listener, stopping)
            finally:
                self.listening.clear()

    async def _sleep_until(self, next_at: datetime.datetime | None, listener: asyncpg.Connection,
                           stopping: asyncio.Future) -> None:
        """Until ``next_at``, a NOTIFY or a stop, checking the listening connection every few seconds."""
        while not (self._wake.is_set() or stopping.done()):
            left_s = CHECK_S if next_at is None else (next_at - self._clock()).total_seconds()
            if left_s <= 0:
                return
            waker = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait([waker, stopping], timeout=min(CHECK_S, left_s), return_when=asyncio.FIRST_COMPLETED)
            waker.cancel()
            await listener.fetchval("SELECT 1")

    async def apply(self) -> datetime.datetime | None:
        """Read the floor, make every state change the rules call for now; the next instant to look again."""
        now = self._clock()
        async with connection(self._pool) as conn:
            floor, unresolved = await self._read(conn, now)
            decisions = rules.evaluate(floor, unresolved, self._rules)
            for decision in decisions.raises:
                await self._raise(conn, decision, now)
            by_id = {alert["id"]: alert for alert in unresolved}
            for decision in decisions.resolves:
                await self._resolve(conn, by_id[decision.alert_id], decision.notify, now)
            if decisions.raises or decisions.resolves:  # escalation and hand-over start from the alerts as now
                unresolved = [dict(row) for row in await conn.fetch(QUERIES["alerts.unresolved_alerts"])]
            next_escalation = await self._escalate(conn, unresolved, now)
            next_handover = await self._hand_over(conn, unresolved, now)
        instants = [t for t in (decisions.next_at, next_escalation, next_handover) if t is not None]
        return min(instants, default=None)

    async def _read(self, conn: asyncpg.Connection, now: datetime.datetime) -> tuple[rules.Floor, list[dict]]:
        t = self._settings.thresholds()
        horizon = now + self._rules.due_soon
        # One consistent view of the floor, even while the ingest commits between these reads.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            complaints = await conn.fetch(QUERIES["alerts.complaints_due_by"], horizon)
            next_due = await conn.fetchval(QUERIES["alerts.first_complaint_due_after"], horizon)
            holds = await conn.fetch(QUERIES["live.open_holds"])
            today = metrics.start_of_day(now, self._settings.timezone)
            counts = await conn.fetch(QUERIES["live.queue_counts"], [today], now, t.answer_target_s,
                                      t.short_abandon_s, None)
            waiting = await conn.fetch(QUERIES["live.waiting"])
            feeds = await conn.fetch(QUERIES["alerts.feeds"])
            unresolved = [dict(row) for row in await conn.fetch(QUERIES["alerts.unresolved_alerts"])]
        return rules.Floor(now=now, complaints=complaints, next_complaint_due=next_due, holds=holds,
                           queues=_queue_figures(counts, waiting, now), feeds=feeds), unresolved

    def _recipients(self, at: datetime.datetime, level: int) -> list[Recipient]:
        return self._rota.recipients(at, level) if self._rota else []

    async def _raise(self, conn: asyncpg.Connection, decision: rules.Raise, now: datetime.datetime) -> None:
        change = await _made(outbox.raise_alert(conn, kind=decision.kind, subject=decision.subject, at=now,
                                                details=decision.details, recipients=self._recipients(now, 0)),
                             "raised", decision.subject)
        if change is not None:
            self.counts[f"raised:{decision.kind}"] += 1
            logger.info("alert raised", extra={"action": "alert_raised", "alert": change.alert_id,
                                               "kind": decision.kind, "notifications": len(change.notification_ids)})

    async def _resolve(self, conn: asyncpg.Connection, alert: Mapping[str, Any], notify: bool,
                       now: datetime.datetime) -> None:
        told = [Recipient(r["person"], r["channel"], r["address"], r["language"]) for r in alert["notified"]]
        change = await _made(outbox.resolve(conn, alert["id"], by=rules.RESOLVED_BY, at=now,
                                            recipients=told if notify else ()), "resolved", alert["id"])
        if change is not None:
            self.counts["resolved"] += 1
            logger.info("alert resolved", extra={"action": "alert_resolved", "alert": alert["id"],
                                                 "kind": alert["kind"], "notified": notify})

    async def _escalate(self, conn: asyncpg.Connection, waiting: Sequence[Mapping[str, Any]],
                        now: datetime.datetime) -> datetime.datetime | None:
        levels = len(self._rota.escalation_chain(now)) if self._rota else 0
        due, next_at = rules.escalations(waiting, now, self._rules, levels)
        for alert_id, level in due:
            change = await _made(outbox.escalate(conn, alert_id, level=level, at=now,
                                                 recipients=self._recipients(now, level)), "escalated", alert_id)
            if change is not None:
                self.counts["escalated"] += 1
                logger.info("alert escalated", extra={"action": "alert_escalated", "alert": alert_id, "level": level})
        return next_at

    async def _hand_over(self, conn: asyncpg.Connection, waiting: Sequence[Mapping[str, Any]],
                         now: datetime.datetime) -> datetime.datetime | None:
        """Tell whoever has come on call at an open alert's level, and has not been told of it yet."""
        if self._rota is None:
            return None
        handover = self._rota.last_handover(now)
        for alert in waiting:
            if alert["state"] != "open" or handover is None:
                continue
            told = {r["person"] for r in alert["notified"]}
            new = [r for r in self._recipients(now, alert["level"]) if r.person not in told]
            if not new:
                continue
            change = await _made(outbox.hand_over(conn, alert["id"], level=alert["level"], handover=handover,
                                                  at=now, recipients=new), "handed_over", alert["id"])
            if change is not None:
                self.counts["handed_over"] += 1
                logger.info("alert handed over", extra={"action": "alert_handed_over", "alert": alert["id"],
                                                        "level": alert["level"]})
        return self._rota.next_handover(now)


async def _made(change: Awaitable[outbox.StateChange | None], name: str,
                alert: int | str) -> outbox.StateChange | None:
    """The state change made, or None: already made by another engine, or refused by the database for
    a reason other than a lost connection (logged; tried again at the next wake-up). A lost
    connection is raised, for the engine to connect again."""
    try:
        return await change
    except OutboxError as exc:
        if isinstance(exc.__cause__, TRANSIENT_ERRORS):
            raise
        logger.error("an alert's state change was refused; trying again at the next wake-up",
                     extra={"action": "alert_change_refused", "change": name, "alert": alert, "error": str(exc)})
        return None


def _queue_figures(counts: Sequence[Mapping[str, Any]], waiting: Sequence[Mapping[str, Any]],
                   now: datetime.datetime) -> list[dict[str, Any]]:
    """Each queue's figures today, as the wall computes them."""
    counts_by_queue = {row["queue"]: row for row in counts}
    waiting_by_queue = {row["queue"]: row for row in waiting}
    empty = dict.fromkeys(metrics.QUEUE_COUNT_FIELDS, 0)
    tiles = []
    for queue in sorted((counts_by_queue.keys() | waiting_by_queue.keys()) - {None}):
        wait = waiting_by_queue.get(queue)
        tiles.append(metrics.queue_figures(queue, counts_by_queue.get(queue, empty),
                                           wait["waiting"] if wait else 0, wait["oldest_queued_at"] if wait else None,
                                           now))
    return tiles
