"""Logs never hold customers' personal data: the ingest, fed numbers and names through a real feed
(bad input among them, dead-lettered), and the alerts, raising callbacks of those customers and
sending them to a local webhook and mail server, log at DEBUG through the entry points' own
configuration; no line holds a number or a name."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import zoneinfo
from datetime import UTC, datetime, timedelta

from websockets.asyncio.server import serve

from alerts.engine import AlertEngine
from alerts.outbox import Sender
from alerts.rota import parse
from callboard import logs

from . import test_alerts_outbox
from .conftest import wait_for
from .live_stack import running_ingest, settings_for_test
from .personal_data import CALLERS, CUSTOMERS, Feed, floor_events, personal_data_in
from .test_alerts_engine import Clock
from .test_alerts_outbox import FAST, running
from .test_alerts_outbox import settings as alert_settings

# One lead on call all day, by e-mail and webhook (the receivers' channels "mail" and "hook").
ROTA = {"people": {"lead": {"contacts": [{"channel": "mail", "address": "lead@example.com"}, {"channel": "hook"}]}},
        "shifts": [{"person": "lead", "level": "lead", "start": "00:00", "end": "24:00"}]}

certificate_authority = test_alerts_outbox.certificate_authority
receivers = test_alerts_outbox.receivers


def bad_input(now: datetime) -> list[str | bytes]:
    """Messages the ingest dead-letters, each quoting a customer's number or name."""
    ts = now.isoformat()
    return [
        f"caller {CALLERS[0]} for {CUSTOMERS[0]}, not JSON",
        json.dumps({"id": "b1", "type": "call.queued", "ts": ts, "call_id": "b1", "queue": "billing",
                    "caller": int(CALLERS[1])}),  # a number where text belongs
        json.dumps({"id": "b2", "type": "complaint.opened", "ts": ts, "complaint_id": "b2", "agent": "a2",
                    "customer": CUSTOMERS[1], "due": "tomorrow"}, ensure_ascii=False),
        json.dumps({"id": "b3", "type": "customer.called", "ts": ts, "customer": CUSTOMERS[2]}),
        f'{{"id": "b4", "caller": "{CALLERS[2]}", "customer": "{CUSTOMERS[2]}"}}'.encode() + b"\xff",
    ]


@contextlib.contextmanager
def logged_as_in_production():
    """Every log line, at DEBUG, as the entry points configure logging (callboard/logs.py)."""
    root, quieted = logging.getLogger(), logging.getLogger("websockets")
    saved = root.handlers[:], root.level, quieted.level
    lines = io.StringIO()
    logs.configure("DEBUG", lines)
    try:
        yield lines
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        quieted.setLevel(saved[2])


async def test_the_ingest_and_the_alerts_log_no_customers_number_or_name(database_url, pool, receivers):
    receiver, mailbox, channels = receivers
    receiver.answers = [500]  # the webhook's first message fails, and is sent again
    now = datetime.now(UTC)
    feed = Feed()
    with logged_as_in_production() as lines:
        feed.send(floor_events(now, first=1))
        for message in bad_input(now):
            feed.send_raw(message)
        async with (serve(feed.serve, "127.0.0.1", 0, max_size=None) as server,
                    running_ingest(database_url, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", "pbx",
                                   settings_for_test())):
            await wait_for(lambda: _count(pool, "dead_letters", 5), 30, "the bad input dead-lettered")
            await wait_for(lambda: _count(pool, "complaints", len(CUSTOMERS)), 30, "the complaints")
        # Complaints k1 and k2 are past due or due now: alerts, and messages to whoever is on call.
        settings = alert_settings(CALLBOARD_TIMEZONE="UTC")
        rota = parse(ROTA, zoneinfo.ZoneInfo("UTC"), {"mail": "smtp", "hook": "webhook"})
        await AlertEngine(pool, database_url, settings, rota, clock=Clock(now + timedelta(minutes=1))).apply()
        async with running(Sender(pool, database_url, channels, settings, FAST)):
            await wait_for(lambda: _all_sent(pool), 30, "the alerts' messages")
    logged = lines.getvalue()

    assert "action=dead_lettered" in logged and "action=alert_raised" in logged  # the log was read
    assert mailbox.messages and len(receiver.requests) > 1  # and messages sent, one of them again
    assert personal_data_in(logged) == [], logged


async def _count(pool, table: str, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table}") >= count


async def _all_sent(pool) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) > 0 AND count(*) FILTER (WHERE sent_at IS NULL) = 0 "
                                   "FROM notifications")


def test_an_unexpected_fault_is_logged_by_its_type_and_place_never_its_message():
    try:
        int(CALLERS[0])  # a translation reading a number it did not expect
    except ValueError as exc:
        fault = logs.fault(exc)
    assert fault["error_type"] == "ValueError" and fault["error_at"].startswith("test_logs_privacy.py:")
    assert personal_data_in(json.dumps(fault)) == []
