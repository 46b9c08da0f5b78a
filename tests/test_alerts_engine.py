"""The rule engine on a real PostgreSQL, its notifications delivered to a real local HTTP receiver
and a real SMTP server by the real sender.

Most tests drive the engine's clock by hand and call :meth:`AlertEngine.apply` (one wake-up),
so that minutes of escalation and shift hand-overs take no time; one runs the engine's own loop
to show it wakes at a callback's due instant and at the ingest's NOTIFY.

The rota of these tests (UTC): li-wei is lead 07:00-15:00 (e-mail and webhook), noor lead
15:00-23:00 (e-mail), sam backup all day (webhook), mo manager all day (e-mail).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import zoneinfo

import pytest

from alerts import outbox
from alerts.engine import AlertEngine
from alerts.outbox import Sender
from alerts.rota import parse
from db.changes import CHANNEL as CHANGES
from db.pool import create_pool
from db.queries import QUERIES

from . import test_alerts_outbox
from .conftest import start_postgres, stop_postgres, timeout, wait_for
from .test_alerts_outbox import FAST, running, settings

# The outbox tests' fixtures: a real local HTTP receiver and SMTP server, channels "hook" and "mail".
certificate_authority = test_alerts_outbox.certificate_authority
receivers = test_alerts_outbox.receivers
UTC = datetime.UTC
MIN = datetime.timedelta(minutes=1)
T0 = datetime.datetime(2025, 3, 4, 14, 0, tzinfo=UTC)  # a Tuesday, li-wei on call
ROTA = {
    "people": {
        "li-wei": {"language": "zh-Hans", "contacts": [{"channel": "mail", "address": "li.wei@example.com"},
                                                       {"channel": "hook"}]},
        "noor": {"contacts": [{"channel": "mail", "address": "noor@example.com"}]},
        "sam": {"contacts": [{"channel": "hook"}]},
        "mo": {"contacts": [{"channel": "mail", "address": "mo@example.com"}]},
    },
    "shifts": [
        {"person": "li-wei", "level": "lead", "start": "07:00", "end": "15:00"},
        {"person": "noor", "level": "lead", "start": "15:00", "end": "23:00"},
        {"person": "sam", "level": "backup", "start": "00:00", "end": "24:00"},
        {"person": "mo", "level": "manager", "start": "00:00", "end": "24:00"},
    ],
}


def rota():
    return parse(ROTA, zoneinfo.ZoneInfo("UTC"), {"mail": "smtp", "hook": "webhook"})


class Clock:
    def __init__(self, at: datetime.datetime) -> None:
        self.at = at

    def __call__(self) -> datetime.datetime:
        return self.at


def engine_at(pool, clock, **overrides):
    return AlertEngine(pool, "postgresql://unused-by-apply", settings(CALLBOARD_TIMEZONE="UTC", **overrides), rota(),
                       clock=clock)


async def open_complaint(pool, cid="K1", due=T0 + 30 * MIN, *, feed="pbx"):
    """A complaint waiting for its callback, taken on a billing call, as the ingest stores it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO calls (feed, call_id, queue, queued_at, answered_at, answered_by, ended_at) "
                           "VALUES ($1, $2, 'billing', $3::timestamptz, $3, 'a017', "
                           "$3::timestamptz + interval '5 min')",
                           feed, f"call-{cid}", due - 60 * MIN)
        await conn.execute("INSERT INTO complaints (feed, complaint_id, agent, call_id, customer, opened_at, due) "
                           "VALUES ($1, $2, 'a017', $3, '+44 20 7946 0001', $4, $5)",
                           feed, cid, f"call-{cid}", due - 60 * MIN, due)
        await conn.execute(QUERIES["changes.notify"], CHANGES, [json.dumps({"complaints": [cid]})])


async def call_back(pool, cid="K1", at=T0):
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE complaints SET callback_at = $2, callback_agent = 'a017' WHERE complaint_id = $1",
                           cid, at)
        await conn.execute(QUERIES["changes.notify"], CHANGES, [json.dumps({"complaints": [cid]})])


async def changes(pool):
    """(kind, change, recipient, channel) of every notification, in order."""
    return [tuple(r) for r in await pool.fetch(
        "SELECT a.kind, e.change, n.recipient, n.channel FROM notifications n "
        "JOIN alert_events e ON e.id = n.alert_event_id JOIN alerts a ON a.id = e.alert_id ORDER BY n.id")]


async def events(pool):
    return [tuple(r) for r in await pool.fetch(
        "SELECT a.kind, e.change, e.level FROM alert_events e JOIN alerts a ON a.id = e.alert_id ORDER BY e.id")]


async def all_sent(pool) -> bool:
    return await pool.fetchval("SELECT count(*) FILTER (WHERE sent_at IS NULL) = 0 AND count(*) > 0 "
                               "FROM notifications")


# --- The callback rules -------------------------------------------------------------------------

async def test_an_overdue_complaint_notifies_each_recipient_exactly_once_per_state_change(pool, database_url,
                                                                                          receivers):
    receiver, mailbox, channels = receivers
    clock = Clock(T0)
    engine = engine_at(pool, clock)
    await open_complaint(pool, due=T0 + 10 * MIN)
    assert await engine.apply() == T0 + 10 * MIN  # it sleeps until the callback falls due
    clock.at = T0 + 10 * MIN
    await engine.apply()
    await engine.apply()  # woken again (another commit): nothing new
    await call_back(pool, at=T0 + 12 * MIN)
    clock.at = T0 + 12 * MIN
    await engine.apply()
    assert sorted(await changes(pool)) == sorted([
        ("callback_due_soon", "raised", "li-wei", "mail"), ("callback_due_soon", "raised", "li-wei", "hook"),
        ("callback_overdue", "raised", "li-wei", "mail"), ("callback_overdue", "raised", "li-wei", "hook"),
        ("callback_overdue", "resolved", "li-wei", "mail"), ("callback_overdue", "resolved", "li-wei", "hook")])
    # The due-soon alert was resolved without a message when the overdue one replaced it.
    assert ("callback_due_soon", "resolved", 0) in await events(pool)
    async with running(Sender(pool, database_url, channels, settings(), FAST)):
        await wait_for(lambda: all_sent(pool), message="every notification sent")
    assert sorted(m["Subject"] for m in mailbox.messages) == sorted([
        "投诉回电将在10分钟后到期 · billing", "投诉回电已逾期0秒 · billing", "已解决：投诉回电已逾期2分钟 · billing"])
    keys = [r.headers["Idempotency-Key"] for r in receiver.received("/hook")]
    assert len(keys) == len(set(keys)) == 3
    stored = await pool.fetchrow("SELECT details FROM alerts WHERE kind = 'callback_overdue'")
    assert stored["details"]["customer"] == "•••• 0001"


async def test_closing_a_complaint_resolves_its_alert(pool):
    clock = Clock(T0)
    engine = engine_at(pool, clock)
    await open_complaint(pool, due=T0 - MIN)
    await engine.apply()
    await pool.execute("UPDATE complaints SET closed_at = $1", T0 + MIN)
    clock.at = T0 + MIN
    await engine.apply()
    assert await events(pool) == [("callback_overdue", "raised", 0), ("callback_overdue", "resolved", 0)]
    assert await pool.fetchval("SELECT resolved_by FROM alerts") == "callboard"


async def test_a_failing_receiver_is_retried_and_then_succeeds(pool, receivers, database_url):
    receiver, _, channels = receivers
    receiver.answers += [503, 500]
    await open_complaint(pool, due=T0 - MIN)
    await engine_at(pool, Clock(T0)).apply()
    async with running(Sender(pool, database_url, channels, settings(), FAST)):
        await wait_for(lambda: all_sent(pool), message="sent after two failures")
    hook = await pool.fetchrow("SELECT attempts, sent_at, last_error FROM notifications "
                               "WHERE channel = 'hook'")
    assert hook["attempts"] == 3 and hook["sent_at"] is not None and hook["last_error"] is None
    assert len({r.headers["Idempotency-Key"] for r in receiver.received("/hook")}) == 1


# --- Escalation and hand-over -------------------------------------------------------------------

async def test_an_unacknowledged_alert_escalates_level_by_level_and_acknowledging_stops_it(pool):
    clock = Clock(T0)
    engine = engine_at(pool, clock)  # escalation after 10 min
    await open_complaint(pool, due=T0 - MIN)
    assert await engine.apply() == T0 + 10 * MIN  # asleep until the escalation is due
    clock.at = T0 + 10 * MIN
    await engine.apply()
    assert (await changes(pool))[-1] == ("callback_overdue", "escalated", "sam", "hook")
    alert_id = await pool.fetchval("SELECT id FROM alerts")
    async with pool.acquire() as conn:
        await outbox.acknowledge(conn, alert_id, by="sam", at=T0 + 11 * MIN)
    clock.at = T0 + 60 * MIN
    assert await engine.apply() is not None
    assert await events(pool) == [("callback_overdue", "raised", 0), ("callback_overdue", "escalated", 1),
                                  ("callback_overdue", "acknowledged", 1)]  # no escalation to mo


async def test_escalation_goes_up_to_the_manager_and_stays_there(pool):
    clock = Clock(T0)
    engine = engine_at(pool, clock)
    await open_complaint(pool, due=T0 - MIN)
    for minutes in (0, 10, 20, 30, 40):
        clock.at = T0 + minutes * MIN
        await engine.apply()
    assert await events(pool) == [("callback_overdue", "raised", 0), ("callback_overdue", "escalated", 1),
                                               ("callback_overdue", "escalated", 2)]
    assert (await changes(pool))[-1] == ("callback_overdue", "escalated", "mo", "mail")


async def test_at_a_shift_hand_over_the_new_lead_is_told_of_open_alerts_once(pool, database_url, receivers):
    _, mailbox, channels = receivers
    clock = Clock(T0 + 50 * MIN)  # 14:50, li-wei's shift ends at 15:00
    engine = engine_at(pool, clock, CALLBOARD_ALERT_ESCALATE_AFTER_MIN="60")
    await open_complaint(pool, due=T0 + 45 * MIN)
    assert await engine.apply() == T0 + 60 * MIN  # the hand-over is the next instant to look again
    clock.at = T0 + 60 * MIN
    other_pool = await create_pool(database_url)
    try:  # two services at the hand-over: it is made once
        other = engine_at(other_pool, clock, CALLBOARD_ALERT_ESCALATE_AFTER_MIN="60")
        await asyncio.gather(engine.apply(), other.apply())
    finally:
        await other_pool.close()
    clock.at = T0 + 61 * MIN
    await engine.apply()
    assert await changes(pool) == [
        ("callback_overdue", "raised", "li-wei", "mail"), ("callback_overdue", "raised", "li-wei", "hook"),
        ("callback_overdue", "handed_over", "noor", "mail")]
    async with running(Sender(pool, database_url, channels, settings(), FAST)):
        await wait_for(lambda: all_sent(pool), message="every notification sent")
    assert [m["Subject"] for m in mailbox.messages if m["To"] == "noor@example.com"] == [
        "You are now on call, not acknowledged: Complaint callback overdue by 15 min · billing"]


# --- The loop -----------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def engine_running(engine: AlertEngine):
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        await asyncio.wait_for(engine.listening.wait(), timeout(10))
        yield engine
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout(10))


async def test_the_engine_raises_at_the_due_instant_and_on_the_ingest_notify_without_polling(pool, database_url):
    engine = AlertEngine(pool, database_url, settings(CALLBOARD_TIMEZONE="UTC"), rota())
    async with engine_running(engine):
        due = datetime.datetime.now(UTC) + datetime.timedelta(seconds=4)
        await open_complaint(pool, due=due)  # committed with the ingest's NOTIFY
        await wait_for(lambda: _kinds(pool, {"callback_due_soon"}, resolved_too=True), 5,
                       message="due soon, woken by the commit")
        await wait_for(lambda: _kinds(pool, {"callback_overdue"}), 4 + 5, message="overdue, woken at its due time")
    raised_at = dict(await pool.fetch("SELECT kind, raised_at FROM alerts"))
    assert raised_at["callback_due_soon"] < due <= raised_at["callback_overdue"]  # each in its time
    assert engine.counts["raised:callback_overdue"] == 1


async def _kinds(pool, kinds, resolved_too: bool = False) -> bool:
    return kinds <= {r["kind"] for r in await pool.fetch("SELECT kind FROM alerts WHERE state <> 'resolved' OR $1",
                                                          resolved_too)}


@pytest.mark.parametrize("hold_s, raised", [(180, False), (181, True)])
async def test_a_hold_raises_once_past_the_alert_limit(pool, hold_s, raised):
    await pool.execute("INSERT INTO calls (feed, call_id, queue, queued_at, answered_at, answered_by) "
                       "VALUES ('pbx', 'C1', 'billing', $1, $1, 'a017')", T0 - 10 * MIN)
    await pool.execute("INSERT INTO hold_events (feed, call_id, ts, kind, agent) VALUES ('pbx', 'C1', $1, 'start', "
                       "'a017')", T0 - datetime.timedelta(seconds=hold_s))
    await engine_at(pool, Clock(T0)).apply()
    assert await pool.fetchval("SELECT count(*) FROM alerts WHERE kind = 'hold_too_long'") == int(raised)


async def test_a_feed_silent_too_long_raises_feed_down_and_resolves_when_it_beats_again(pool):
    await pool.execute("INSERT INTO feeds (feed, connected, status_changed_at, heartbeat_at) "
                       "VALUES ('pbx', true, $1, $2)", T0 - 60 * MIN, T0 - 2 * MIN)
    clock = Clock(T0)
    engine = engine_at(pool, clock)
    await engine.apply()
    await pool.execute("UPDATE feeds SET heartbeat_at = $1", T0 + MIN)
    clock.at = T0 + MIN
    await engine.apply()
    assert await events(pool) == [("feed_down", "raised", 0), ("feed_down", "resolved", 0)]
    assert await pool.fetchval("SELECT details->>'value' FROM alerts") == "120"


async def test_the_engine_and_sender_come_back_after_a_database_restart(pool, database_url, postgres_server,
                                                                       receivers):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can restart")
    receiver, mailbox, channels = receivers
    engine = AlertEngine(pool, database_url, settings(CALLBOARD_TIMEZONE="UTC"), rota())
    async with engine_running(engine), running(Sender(pool, database_url, channels, settings(), FAST)):
        await asyncio.to_thread(stop_postgres, server)
        try:
            await wait_for(lambda: _async(not engine.listening.is_set()), 10, message="the engine sees it gone")
        finally:
            await asyncio.to_thread(start_postgres, server)
        await wait_for(lambda: _async(engine.listening.is_set()), 20, message="the engine listening again")
        await open_complaint(pool, due=datetime.datetime.now(UTC) - MIN)
        # Whoever the rota has on call at this hour of the real clock: by webhook, by e-mail, or (li-wei,
        # 07:00-15:00) by both.
        await wait_for(lambda: _async(len(receiver.received("/hook")) + len(mailbox.messages) >= 1), 20,
                       message="raised and sent")


async def _async(value):
    return value
