"""Alerts are rows before they are messages.

Writing (the rule engine, the Alerts page, an acknowledge link): :func:`raise_alert`,
:func:`escalate`, :func:`hand_over`, :func:`acknowledge` and :func:`resolve` each make one state change, on a connection
the caller passes, in one transaction with its ``alert_events`` row and one ``notifications`` row per
recipient. Each change is conditional: made twice (by two service instances, or a double click),
it is made once and the second call returns None.

Sending: a :class:`Sender` claims due rows with a conditional UPDATE under a lease, hands each to
its channel, and records the outcome under the same claim: sent; retried later, with exponential
backoff and jitter; or dead, with the reason, after a permanent refusal or the last attempt.
A sender that dies mid-send leaves its claim to expire; another sender (or itself, restarted) then
sends the row again with the same idempotency key. Delivery is therefore at least once, and the
guarantee is stated in docs/alerts.md.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import asyncpg

from callboard.privacy import mask_customer
from callboard.settings import Settings
from db.changes import ALERTS_CHANNEL, announce_alert
from db.pool import TRANSIENT_ERRORS, connection, transaction
from db.queries import QUERIES

from . import links
from .channels import Channel
from .exceptions import ChannelError, OutboxError
from .listening import listening
from .messages import AlertFacts, Message, compose
from .rota import Recipient

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StateChange:
    alert_id: int
    event_id: int
    notification_ids: tuple[int, ...]


async def _change(conn: asyncpg.Connection, update: str, args: Iterable[Any], change: str, *,
                  at: datetime.datetime, by: str | None, recipients: Iterable[Recipient]) -> StateChange | None:
    unique = list({(r.person, r.channel): r for r in recipients}.values())
    try:
        async with conn.transaction():
            alert = await conn.fetchrow(QUERIES[update], *args)
            if alert is None:
                return None
            event_id = await conn.fetchval(QUERIES["alerts.insert_event"], alert["id"], change, at, by,
                                           alert["level"], alert["details"])
            rows = await conn.fetch(QUERIES["alerts.insert_notifications"], event_id,
                                    [r.person for r in unique], [r.channel for r in unique],
                                    [r.address for r in unique], [r.language for r in unique])
            await announce_alert(conn, alert["id"])
    except asyncpg.PostgresError as exc:
        raise OutboxError(f"the alert's {change} was not stored: {type(exc).__name__}") from exc
    return StateChange(alert["id"], event_id, tuple(row["id"] for row in rows))


async def raise_alert(conn: asyncpg.Connection, *, kind: str, subject: str, at: datetime.datetime,
                      details: Mapping[str, Any], recipients: Iterable[Recipient]) -> StateChange | None:
    """Raise an alert and notify ``recipients``; None if the same alert is already unresolved.

    ``details`` holds what the messages say (queue, agent, customer, due_at, value: docs/alerts.md);
    a customer in it is masked before it is stored.
    """
    stored = {key: value.isoformat() if isinstance(value, datetime.datetime) else value
              for key, value in details.items()}
    if stored.get("customer"):
        stored["customer"] = mask_customer(stored["customer"])
    return await _change(conn, "alerts.raise_alert", (kind, subject, at, stored), "raised",
                         at=at, by=None, recipients=recipients)


async def escalate(conn: asyncpg.Connection, alert_id: int, *, level: int, at: datetime.datetime,
                   recipients: Iterable[Recipient]) -> StateChange | None:
    """Move an open alert up to escalation ``level`` and notify that level; None if it was not open or
    already at that level or higher."""
    return await _change(conn, "alerts.escalate_alert", (alert_id, level), "escalated", at=at, by=None,
                         recipients=recipients)


async def hand_over(conn: asyncpg.Connection, alert_id: int, *, level: int, handover: datetime.datetime,
                    at: datetime.datetime, recipients: Iterable[Recipient]) -> StateChange | None:
    """Tell ``recipients``, who came on call at rota hand-over ``handover``, of an alert still open at
    ``level``; None if it was acknowledged, resolved, escalated or already handed over at that hand-over."""
    return await _change(conn, "alerts.hand_over_alert", (alert_id, handover, level), "handed_over", at=at, by=None,
                         recipients=recipients)


async def acknowledge(conn: asyncpg.Connection, alert_id: int, *, by: str, at: datetime.datetime,
                      recipients: Iterable[Recipient] = ()) -> StateChange | None:
    """Acknowledge an open alert (escalation stops); None if it was not open."""
    return await _change(conn, "alerts.acknowledge_alert", (alert_id, at, by), "acknowledged", at=at, by=by,
                         recipients=recipients)


async def resolve(conn: asyncpg.Connection, alert_id: int, *, by: str, at: datetime.datetime,
                  recipients: Iterable[Recipient] = ()) -> StateChange | None:
    """Resolve an alert; None if it was resolved already."""
    return await _change(conn, "alerts.resolve_alert", (alert_id, at, by), "resolved", at=at, by=by,
                         recipients=recipients)


def retry_delay(attempts: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempts + 1``: ``base_s`` doubled per attempt made, at most ``cap_s``,
    of which a random half is taken off so that senders retrying together spread out."""
    ceiling = min(cap_s, base_s * 2 ** (attempts - 1))
    return ceiling / 2 + rand() * ceiling / 2


@dataclasses.dataclass(frozen=True)
class SenderOptions:
    batch: int = 20  # most rows in flight at once
    lease_s: float = 90.0  # a claim lasts this long; must outlast send_timeout_s
    send_timeout_s: float = 30.0  # an attempt not finished by then counts as failed (temporary)
    retry_base_s: float = 5.0
    retry_cap_s: float = 900.0
    poll_s: float = 5.0  # look for due rows at least this often without a notification

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderOptions:
        """An attempt cut off after CALLBOARD_ALERT_SEND_TIMEOUT_S, its claim held three times as long."""
        return cls(send_timeout_s=settings.alert_send_timeout_s, lease_s=3 * settings.alert_send_timeout_s)

    def __post_init__(self) -> None:
        if not self.lease_s > self.send_timeout_s:
            raise ValueError("the lease must outlast an attempt: lease_s > send_timeout_s")


class Sender:
    """The always-on loop that delivers the outbox. Any number may run against one database."""

    def __init__(self, pool: asyncpg.Pool, database_url: str, channels: Mapping[str, Channel], settings: Settings,
                 options: SenderOptions = SenderOptions(), *, name: str | None = None,
                 rand: Callable[[], float] = random.random) -> None:
        self._pool, self._database_url, self._channels = pool, database_url, channels
        self._settings, self._options, self._rand = settings, options, rand
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()  # set while woken by NOTIFY: a new row is sent without waiting for a poll
        self._in_flight: set[asyncio.Task] = set()
        self.counts: collections.Counter[str] = collections.Counter()  # sent, retried, dead, lost_claim

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set, then finish the attempts in flight and return.

        Woken by NOTIFY on a connection of its own (``database_url``, outside the pool), checked with
        ``SELECT 1`` whenever it wakes;
        on a lost database it waits and connects again.
        """
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self._listen_and_send(stopping)
                except TRANSIENT_ERRORS as exc:
                    logger.warning("database unreachable; sending again when it is back",
                                   extra={"action": "sender_database_lost", "error": type(exc).__name__})
                    await self._pool.expire_connections()  # none that the loss left half-used is handed out again
                    await asyncio.wait([stopping], timeout=min(self._options.poll_s, 2.0))
        finally:
            stopping.cancel()
            if self._in_flight:
                await asyncio.wait(self._in_flight)

    async def _listen_and_send(self, stopping: asyncio.Future) -> None:
        async with listening(self._database_url, ALERTS_CHANNEL, self._wake) as listener:
            self.listening.set()
            try:
                while not stopping.done():
                    self._wake.clear()
                    await self.send_due()
                    async with connection(self._pool) as conn:
                        due_in = await conn.fetchval(QUERIES["alerts.next_due_in"])
                    wait_s = self._options.poll_s if due_in is None else min(self._options.poll_s, due_in + 0.01)
                    waker = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait([waker, stopping], timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
                    waker.cancel()
                    await listener.fetchval("SELECT 1")
            finally:
                self.listening.clear()

    async def send_due(self) -> int:
        """Claim as many due rows as there is room for in flight and start sending them; how many."""
        room = self._options.batch - len(self._in_flight)
        if room <= 0:
            return 0
        claim = f"{self.name}:{uuid.uuid4().hex[:12]}"
        async with connection(self._pool) as conn:
            rows = await conn.fetch(QUERIES["alerts.claim_notifications"], claim, self._options.lease_s, room)
        for row in rows:
            task = asyncio.create_task(self._deliver(row, claim))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(rows)

    def _finished(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # room for more
        if not task.cancelled() and task.exception() is not None:
            logger.error("recording a notification's outcome failed; its claim will expire and it is sent again",
                         extra={"action": "outcome_not_recorded", "error": type(task.exception()).__name__})

    async def wait_idle(self) -> None:
        """Until no attempt is in flight (for tests and a clean stop)."""
        while self._in_flight:
            await asyncio.wait(set(self._in_flight))

    def message(self, row: Mapping[str, Any]) -> Message:
        """The message of a claimed row: the same words and links on every attempt."""
        settings = self._settings
        facts = AlertFacts.from_details(alert_id=row["alert_id"], kind=row["kind"], change=row["change"],
                                        subject=row["subject"], at=row["at"], level=row["level"],
                                        details=row["details"], by=row["by"])
        base = settings.dashboard_url()
        ack = None
        if settings.alert_link_secret:
            expires = row["at"] + datetime.timedelta(hours=settings.alert_link_valid_h)
            ack = links.ack_url(base, settings.alert_link_secret, row["id"], expires)
        return compose(facts, language=row["language"] or settings.language, zone=settings.timezone,
                       key=str(row["idempotency_key"]), alert_url=links.alert_url(base, row["alert_id"]),
                       ack_url=ack)

    async def _deliver(self, row: Mapping[str, Any], claim: str) -> None:
        log = {"notification": row["id"], "channel": row["channel"], "attempt": row["attempts"]}
        try:
            channel = self._channels.get(row["channel"])
            if channel is None:
                raise ChannelError(f"no channel named {row['channel']!r} is configured", permanent=False)
            async with asyncio.timeout(self._options.send_timeout_s):
                await channel.notify(self.message(row), row["address"])
        except ChannelError as exc:
            error, permanent = str(exc), exc.permanent
        except TimeoutError:
            error, permanent = f"no answer within {self._options.send_timeout_s:g} s", False
        except Exception as exc:  # a fault of ours; the row is kept and retried, the fault logged
            logger.exception("a channel failed unexpectedly", extra={"action": "channel_fault", **log})
            error, permanent = f"unexpected {type(exc).__name__}", False
        else:
            await self._record("alerts.mark_sent", row, claim, outcome="sent", log=log)
            return
        if permanent or row["attempts"] >= self._settings.alert_send_attempts:
            reason = error if permanent else f"{row['attempts']} attempts; the last: {error}"
            await self._record("alerts.mark_dead", row, claim, reason, outcome="dead", log=log)
            logger.warning("notification dead", extra={"action": "notification_dead", "permanent": permanent, **log})
        else:
            delay = retry_delay(row["attempts"], self._options.retry_base_s, self._options.retry_cap_s, self._rand)
            await self._record("alerts.mark_retry", row, claim, error, delay, outcome="retried", log=log)
            logger.warning("notification failed; retrying", extra={"action": "notification_retry",
                                                                    "retry_in_s": round(delay, 1), **log})

    async def _record(self, query: str, row: Mapping[str, Any], *args: Any, outcome: str,
                      log: Mapping[str, Any]) -> None:
        """Record the outcome of the attempt to send notification ``row`` and show it on the dashboards."""
        async with transaction(self._pool) as conn:
            status = await conn.execute(QUERIES[query], row["id"], *args)
            if not status.endswith(" 0"):
                await announce_alert(conn, row["alert_id"])
        if status.endswith(" 0"):  # UPDATE 0: our claim expired and another sender took the row over
            self.counts["lost_claim"] += 1
            logger.warning("claim expired before the outcome was recorded; the row may be sent twice, with one "
                           "idempotency key", extra={"action": "claim_lost", **log})
            return
        self.counts[outcome] += 1
        logger.debug("notification outcome", extra={"action": f"notification_{outcome}", **log})
