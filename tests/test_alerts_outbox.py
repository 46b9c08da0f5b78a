"""The outbox on a real PostgreSQL, delivered to a real local HTTP receiver and a real SMTP server.

Every state change is one alert_events row and exactly one notifications row per recipient,
written together; senders claim rows so that two never send one row at once, retry with backoff,
give up with the reason kept, and resend a row whose sender died with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import uuid

import aiohttp
import pytest
import trustme

from alerts import links, outbox
from alerts.config import build_channels, read_channels
from alerts.exceptions import OutboxError
from alerts.outbox import Sender, SenderOptions, retry_delay
from alerts.rota import Recipient
from callboard.settings import load
from db.changes import ALERTS_CHANNEL
from db.pool import connect, create_pool
from db.queries import QUERIES

from .conftest import timeout, wait_for
from .receivers import PASSWORD, USERNAME, http_receiver, smtp_receiver

UTC = datetime.UTC
DUE = datetime.datetime(2025, 3, 4, 6, 0, tzinfo=UTC)
LATE = DUE + datetime.timedelta(seconds=5)
FAST = SenderOptions(retry_base_s=0.05, retry_cap_s=0.2, poll_s=0.5, lease_s=10, send_timeout_s=5)
LI_MAIL = Recipient("li-wei", "mail", "li.wei@example.com", "zh-Hans")
LI_HOOK = Recipient("li-wei", "hook", None, "zh-Hans")
SAM_HOOK = Recipient("sam", "hook", None, None)
DETAILS = {"queue": "billing", "agent": "a017", "customer": "+44 20 7946 0001", "due_at": DUE}


def settings(**overrides: str):
    return load({"CALLBOARD_TIMEZONE": "Asia/Shanghai", "CALLBOARD_PUBLIC_URL": "https://cb.example",
                 "CALLBOARD_ALERT_LINK_SECRET": "link-secret", "CALLBOARD_DATA_DIR": os.environ["CALLBOARD_DATA_DIR"],
                 **overrides})


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
async def receivers(certificate_authority, tmp_path):
    """(HTTP receiver, mailbox, channels): a webhook channel "hook" and an e-mail channel "mail"."""
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    async with http_receiver() as receiver, aiohttp.ClientSession() as session:
        with smtp_receiver(certificate_authority.issue_cert("127.0.0.1")) as (mailbox, port):
            configs = read_channels({"channels": {
                "hook": {"kind": "webhook", "url": receiver.url + "/hook", "secret": "hook-secret"},
                "mail": {"kind": "smtp", "host": "127.0.0.1", "port": port, "username": USERNAME, "password": PASSWORD,
                         "from": "callboard@example.com", "ca_file": str(ca_file)}}})
            yield receiver, mailbox, build_channels(configs, session)


@contextlib.asynccontextmanager
async def running(sender: Sender):
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def raise_overdue(pool, subject="main-pbx/K1007", recipients=(LI_MAIL, LI_HOOK, SAM_HOOK)):
    async with pool.acquire() as conn:
        return await outbox.raise_alert(conn, kind="callback_overdue", subject=subject, at=LATE, details=DETAILS,
                                        recipients=recipients)


async def rows(pool, alert_id):
    return await pool.fetch(QUERIES["alerts.alert_notifications"], alert_id)


async def all_sent(pool, alert_id, count):
    found = await rows(pool, alert_id)
    return len(found) == count and all(r["sent_at"] for r in found)


# --- Writing state changes ----------------------------------------------------------------------

async def test_each_state_change_is_one_event_with_exactly_one_row_per_recipient(pool):
    # li-wei twice on the webhook (two rota entries reach her there): still one row for her there.
    raised = await raise_overdue(pool, recipients=[LI_MAIL, LI_HOOK, LI_HOOK, SAM_HOOK])
    assert len(raised.notification_ids) == 3
    async with pool.acquire() as conn:
        # The same alert raised again (another engine, or the same one after a restart): nothing new.
        assert await outbox.raise_alert(conn, kind="callback_overdue", subject="main-pbx/K1007", at=LATE,
                                        details=DETAILS, recipients=[LI_MAIL]) is None
        escalated = await outbox.escalate(conn, raised.alert_id, level=1, at=LATE, recipients=[SAM_HOOK])
        assert await outbox.escalate(conn, raised.alert_id, level=1, at=LATE, recipients=[SAM_HOOK]) is None
        acked = await outbox.acknowledge(conn, raised.alert_id, by="li-wei", at=LATE, recipients=[SAM_HOOK])
        assert await outbox.acknowledge(conn, raised.alert_id, by="sam", at=LATE, recipients=[LI_HOOK]) is None
        # Acknowledged: escalation stops.
        assert await outbox.escalate(conn, raised.alert_id, level=2, at=LATE, recipients=[SAM_HOOK]) is None
        resolved = await outbox.resolve(conn, raised.alert_id, by="rule", at=LATE, recipients=[LI_HOOK])
        assert await outbox.resolve(conn, raised.alert_id, by="rule", at=LATE, recipients=[LI_HOOK]) is None
    assert [len(c.notification_ids) for c in (escalated, acked, resolved)] == [1, 1, 1]
    assert [(r["change"], r["recipient"], r["channel"]) for r in await rows(pool, raised.alert_id)] == [
        ("raised", "li-wei", "mail"), ("raised", "li-wei", "hook"), ("raised", "sam", "hook"),
        ("escalated", "sam", "hook"), ("acknowledged", "sam", "hook"), ("resolved", "li-wei", "hook")]
    alert = await pool.fetchrow(QUERIES["alerts.alert"], raised.alert_id)
    assert (alert["state"], alert["acknowledged_by"], alert["resolved_by"], alert["escalation_level"]) == (
        "resolved", "li-wei", "rule", 1)
    assert alert["details"]["customer"] == "•••• 0001"  # never stored whole


async def test_a_resolved_alert_may_be_raised_again_as_a_new_alert(pool):
    first = await raise_overdue(pool)
    async with pool.acquire() as conn:
        await outbox.resolve(conn, first.alert_id, by="rule", at=LATE)
    second = await raise_overdue(pool)
    assert second is not None and second.alert_id != first.alert_id


async def test_a_state_change_and_its_notifications_are_kept_or_lost_together(pool):
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():  # the caller's own transaction, failing after the change
                await outbox.raise_alert(conn, kind="feed_down", subject="feed:main-pbx", at=LATE, details={},
                                         recipients=[SAM_HOOK])
                raise RuntimeError("the caller fails")
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 0
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 0


async def test_a_refused_write_is_reported_as_an_outbox_error(pool):
    async with pool.acquire() as conn:
        with pytest.raises(OutboxError, match="raised was not stored"):
            await outbox.raise_alert(conn, kind="feed_down", subject="feed:x", at=LATE, details={},
                                     recipients=[Recipient("x" * 10, "hook", None, "fr\x00")])


# --- Sending ------------------------------------------------------------------------------------

async def test_an_overdue_complaint_reaches_each_recipient_once_in_their_language(pool, receivers, database_url):
    receiver, mailbox, channels = receivers
    raised = await raise_overdue(pool)
    async with running(Sender(pool, database_url, channels, settings(), FAST)):
        await wait_for(lambda: all_sent(pool, raised.alert_id, 3), message="three notifications sent")
    assert len(receiver.received("/hook")) == 2 and len(mailbox.messages) == 1
    [mail] = mailbox.messages
    assert mail["To"] == "li.wei@example.com" and mail["Subject"] == "投诉回电已逾期5秒 · billing"
    sent = {r.headers["Idempotency-Key"]: json.loads(r.body) for r in receiver.received("/hook")}
    stored = {str(r["idempotency_key"]): r for r in await rows(pool, raised.alert_id)}
    assert set(sent) <= set(stored)  # every request carried its own row's key
    titles = sorted(body["title"] for body in sent.values())
    assert titles == ["Complaint callback overdue by 5 s · billing", "投诉回电已逾期5秒 · billing"]
    # The acknowledge link in sam's message names his notification and is signed.
    sam = next(body for body in sent.values() if body["title"].startswith("Complaint"))
    token = sam["links"]["acknowledge"].split("token=")[1]
    notification = links.verify_ack_token("link-secret", token, LATE)
    assert stored[sam["idempotency_key"]]["id"] == notification and stored[sam["idempotency_key"]]["recipient"] == "sam"
    assert sam["links"]["alert"] == f"https://cb.example/alerts?alert={raised.alert_id}"


async def test_a_failing_receiver_is_retried_with_the_same_key_then_succeeds(pool, receivers, database_url):
    receiver, _, channels = receivers
    receiver.answers += [503, 500]
    raised = await raise_overdue(pool, recipients=[SAM_HOOK])
    async with running(Sender(pool, database_url, channels, settings(), FAST)):
        await wait_for(lambda: all_sent(pool, raised.alert_id, 1), message="sent after two failures")
    [row] = await rows(pool, raised.alert_id)
    assert row["attempts"] == 3 and row["last_error"] is None and row["dead_at"] is None
    assert [r.headers["Idempotency-Key"] for r in receiver.received("/hook")] == [str(row["idempotency_key"])] * 3


async def test_each_outcome_is_announced_to_the_dashboards_with_the_alert_as_it_now_stands(
        pool, receivers, database_url):
    receiver, _, channels = receivers
    receiver.answers.append(503)
    heard: list[dict] = []
    listener = await connect(database_url)
    await listener.add_listener(ALERTS_CHANNEL, lambda *args: heard.append(json.loads(args[-1])))
    try:
        raised = await raise_overdue(pool, recipients=[SAM_HOOK])
        async with running(Sender(pool, database_url, channels, settings(), FAST)):
            await wait_for(lambda: all_sent(pool, raised.alert_id, 1), message="sent after one failure")
            await wait_for(lambda: asyncio.sleep(0, len(heard) == 3), message="three announcements")
    finally:
        await listener.close()
    # Raised, retried, sent: each announcement carries the alert with its notification as it then stood.
    assert [p["alert"]["id"] for p in heard] == [raised.alert_id] * 3
    [(first,), (retried,), (sent,)] = [p["alert"]["notifications"] for p in heard]
    assert (first["attempts"], first["last_error"], first["sent_at"]) == (0, None, None)
    assert retried["attempts"] == 1 and retried["last_error"] and retried["sent_at"] is None
    assert sent["attempts"] == 2 and sent["last_error"] is None and sent["sent_at"] is not None


async def test_a_permanent_refusal_goes_dead_at_once_with_the_reason(pool, receivers, database_url):
    receiver, _, channels = receivers
    receiver.answers.append(410)
    raised = await raise_overdue(pool, recipients=[SAM_HOOK])
    sender = Sender(pool, database_url, channels, settings(), FAST)
    async with running(sender):
        await wait_for(lambda: _dead(pool, raised.alert_id), message="dead")
    [row] = await rows(pool, raised.alert_id)
    assert (row["attempts"], row["sent_at"], row["last_error"]) == (1, None, "the receiver answered HTTP 410 Gone")
    assert len(receiver.received()) == 1 and sender.counts["dead"] == 1


async def test_after_the_last_attempt_a_notification_is_dead_with_its_last_error(pool, receivers, database_url):
    receiver, _, channels = receivers
    receiver.answers += [500, 502, 200]
    raised = await raise_overdue(pool, recipients=[SAM_HOOK])
    async with running(Sender(pool, database_url, channels, settings(CALLBOARD_ALERT_SEND_ATTEMPTS="2"), FAST)):
        await wait_for(lambda: _dead(pool, raised.alert_id), message="dead after 2 attempts")
    [row] = await rows(pool, raised.alert_id)
    assert row["attempts"] == 2
    assert row["last_error"] == "2 attempts; the last: the receiver answered HTTP 502 Bad Gateway"


async def _dead(pool, alert_id) -> bool:
    return all(r["dead_at"] for r in await rows(pool, alert_id))


async def test_a_channel_no_longer_configured_is_retried_not_lost(pool, receivers, database_url):
    _, _, channels = receivers
    raised = await raise_overdue(pool, recipients=[Recipient("sam", "pager", None, None)])
    async with running(Sender(pool, database_url, channels, settings(CALLBOARD_ALERT_SEND_ATTEMPTS="2"), FAST)):
        await wait_for(lambda: _dead(pool, raised.alert_id))
    [row] = await rows(pool, raised.alert_id)
    assert "no channel named 'pager' is configured" in row["last_error"]


async def test_two_senders_never_send_the_same_notification(pool, database_url, receivers):
    receiver, _, channels = receivers
    for n in range(100):
        await raise_overdue(pool, subject=f"main-pbx/K{n}", recipients=[LI_HOOK, SAM_HOOK])
    other_pool = await create_pool(database_url)
    try:
        async with running(Sender(pool, database_url, channels, settings(), FAST, name="one")), \
                running(Sender(other_pool, database_url, channels, settings(), FAST, name="two")):
            await wait_for(lambda: _count_sent(pool, 200), message="200 sent")
    finally:
        await other_pool.close()
    keys = [r.headers["Idempotency-Key"] for r in receiver.received("/hook")]
    assert len(keys) == len(set(keys)) == 200
    senders = {row["claimed_by"].split(":")[0] for row in await pool.fetch("SELECT claimed_by FROM notifications")}
    assert senders == {"one", "two"}  # both took part


async def _count_sent(pool, count) -> bool:
    return await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NOT NULL") == count


async def test_an_empty_outbox_has_nothing_due_so_a_sender_sleeps_until_notified(pool):
    assert await pool.fetchval(QUERIES["alerts.next_due_in"]) is None
    await raise_overdue(pool, recipients=[SAM_HOOK])
    assert await pool.fetchval(QUERIES["alerts.next_due_in"]) == 0


async def test_a_notification_waits_for_no_poll_when_an_alert_is_raised(pool, receivers, database_url):
    receiver, _, channels = receivers
    slow_poll = SenderOptions(poll_s=60, lease_s=10, send_timeout_s=5)
    sender = Sender(pool, database_url, channels, settings(), slow_poll)
    async with running(sender):
        await asyncio.wait_for(sender.listening.wait(), timeout(10))
        await wait_for(lambda: _listener_idle(pool), message="the sender asleep on LISTEN, not polling")
        await raise_overdue(pool, recipients=[SAM_HOOK])
        await wait_for(lambda: _async(len(receiver.received()) == 1), 5, message="woken by NOTIFY, not the 60 s poll")


async def _listener_idle(pool) -> bool:
    # The listening connection's last statement stays LISTEN while the sender sleeps: it runs
    # SELECT 1 each time it wakes, so a sender that polled would not show this.
    return await pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND state = 'idle' AND query LIKE 'LISTEN %'") == 1


async def _async(value):
    return value


SENDER_SCRIPT = """
import asyncio, os, sys
import aiohttp
from alerts.config import build_channels, read_channels
from alerts.outbox import Sender, SenderOptions
from callboard.settings import load
from db.pool import create_pool

async def main():
    pool = await create_pool(sys.argv[1])
    async with aiohttp.ClientSession() as session:
        channels = build_channels(read_channels({"channels": {"hook": {"kind": "webhook", "url": sys.argv[2],
                                                                        "secret": "hook-secret"}}}), session)
        options = SenderOptions(lease_s=2, send_timeout_s=1.5)
        await Sender(pool, sys.argv[1], channels, load(), options, name="doomed").run(asyncio.Event())

asyncio.run(main())
"""


async def test_a_sender_killed_mid_send_is_neither_lost_nor_duplicated_in_the_outbox(pool, database_url, receivers):
    receiver, _, channels = receivers
    receiver.hang.set()  # the receiver takes the request and never answers: the kill lands mid-send
    raised = await raise_overdue(pool, recipients=[SAM_HOOK])
    env = {**os.environ, "CALLBOARD_TIMEZONE": "UTC"}
    doomed = subprocess.Popen([sys.executable, "-c", SENDER_SCRIPT, database_url, receiver.url + "/hook"], env=env)
    try:
        await wait_for(lambda: _async(len(receiver.received()) == 1), 20, message="the doomed sender's request")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    receiver.hang.clear()
    [row] = await rows(pool, raised.alert_id)
    assert row["sent_at"] is None and row["attempts"] == 1  # claimed, then nothing recorded
    async with running(Sender(pool, database_url, channels, settings(), FAST, name="restarted")):
        # Its claim expires (2 s), and the row is sent again: the same row, the same key.
        await wait_for(lambda: all_sent(pool, raised.alert_id, 1), 20, message="resent after the claim expired")
    [row] = await rows(pool, raised.alert_id)
    keys = [r.headers["Idempotency-Key"] for r in receiver.received("/hook")]
    assert keys == [str(row["idempotency_key"])] * 2 and row["attempts"] == 2
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 1


async def test_a_sender_whose_claim_expired_does_not_record_over_the_new_claim(pool, receivers, database_url):
    _, _, channels = receivers
    raised = await raise_overdue(pool, recipients=[SAM_HOOK])
    [row_id] = raised.notification_ids
    await pool.execute("UPDATE notifications SET claimed_by = 'other:abc', claimed_until = now() + interval '1 h', "
                       "attempts = 1 WHERE id = $1", row_id)
    sender = Sender(pool, database_url, channels, settings(), FAST)
    await sender._record("alerts.mark_sent", {"id": row_id, "alert_id": raised.alert_id}, "stale:" + uuid.uuid4().hex,
                         outcome="sent", log={})
    assert sender.counts == {"lost_claim": 1}
    assert await pool.fetchval("SELECT sent_at FROM notifications WHERE id = $1", row_id) is None


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap():
    # base 5 s: attempt 1 failed -> 2.5-5 s; attempt 3 -> 10-20 s; attempt 20 -> capped at 900: 450-900 s.
    assert [retry_delay(1, 5, 900, lambda: 0), retry_delay(1, 5, 900, lambda: 1)] == [2.5, 5]
    assert [retry_delay(3, 5, 900, lambda: 0), retry_delay(3, 5, 900, lambda: 1)] == [10, 20]
    assert [retry_delay(20, 5, 900, lambda: 0), retry_delay(20, 5, 900, lambda: 0.5)] == [450, 675]


def test_a_lease_shorter_than_an_attempt_is_refused():
    with pytest.raises(ValueError, match="lease_s > send_timeout_s"):
        SenderOptions(lease_s=10, send_timeout_s=10)
