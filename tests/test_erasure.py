"""Erasing customers' personal data past the keep period (ingest/erasure.py): every trend and agent
figure stays the same, and no number or name is left of the days erased."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from callboard import privacy
from callboard.metrics import Thresholds
from callboard.settings import load
from callboard.shifts import parse as parse_shifts
from dashboard.data import LiveData
from dashboard.history import History
from ingest import erasure
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import wait_for
from .live_stack import running_ingest, settings_for_test
from .personal_data import CALLERS, CUSTOMERS, personal_data_in

SHIFTS = parse_shifts("Early=06:00-14:00;Late=14:00-22:00")
DAYS = 7
KEEP_DAYS = 3  # today and the 3 days before are kept; the 3 before those erased
ERASED_DAYS = DAYS - KEEP_DAYS - 1


def day_of_events(day: int, at: datetime) -> list[dict]:
    """A day's calls (callers coming back on other days: repeat calls), holds, surveys and a
    complaint with its callback, from ``at`` on."""
    def ts(minutes: float) -> str:
        return (at + timedelta(minutes=minutes)).isoformat()
    events: list[dict] = []
    for n in range(6):
        call, agent = f"d{day}c{n}", f"a{n % 2 + 1}"
        events.append({"type": "call.queued", "ts": ts(10 * n), "call_id": call, "queue": ["billing", "sales"][n % 2],
                       "caller": CALLERS[(day + n) % len(CALLERS)]})
        if n % 3 == 0:
            events.append({"type": "call.abandoned", "ts": ts(10 * n + 1), "call_id": call})
            continue
        events.append({"type": "call.answered", "ts": ts(10 * n + 0.3 * n), "call_id": call, "agent": agent})
        if n % 2:
            events += [{"type": "call.hold_started", "ts": ts(10 * n + 2), "call_id": call, "agent": agent},
                       {"type": "call.hold_ended", "ts": ts(10 * n + 2 + n / 3), "call_id": call, "agent": agent}]
        events += [{"type": "call.ended", "ts": ts(10 * n + 5), "call_id": call, "agent": agent,
                    "released_by": "customer", "resolved": n != 4},
                   {"type": "survey.completed", "ts": ts(10 * n + 6), "call_id": call, "agent": agent, "score": n}]
    events += [{"type": "complaint.opened", "ts": ts(20), "complaint_id": f"d{day}k", "agent": "a1",
                "call_id": f"d{day}c1", "customer": CUSTOMERS[day % len(CUSTOMERS)], "due": ts(60 + 30 * (day % 2))},
               {"type": "complaint.callback_made", "ts": ts(75), "complaint_id": f"d{day}k", "agent": "a1"}]
    return [{"id": f"d{day}e{n}", **event} for n, event in enumerate(events)]


async def write_days(pool, first_day) -> None:
    """DAYS days of calls from ``first_day``, with a message the feed got wrong each day (dead-lettered)."""
    for day in range(DAYS):
        at = datetime.combine(first_day + timedelta(days=day), time(9), tzinfo=UTC)
        bad = json.dumps({"id": f"d{day}bad", "type": "call.queued", "ts": "today", "call_id": "x",
                          "queue": "billing", "caller": CALLERS[day % len(CALLERS)]})
        for message in (json.dumps(day_of_events(day, at)), bad):
            await EventWriter(pool, "pbx").write([Received(at, *parse_message(message))])


async def figures(pool, start: datetime, end: datetime) -> tuple:
    thresholds = Thresholds()
    history = History(pool, thresholds, UTC, SHIFTS)
    return (await history.trends(start, end, "1d", now=end), await history.trends(start, end, "shift", now=end),
            await LiveData(pool, thresholds, UTC, stale_after_s=30).agent_days(start, end))


# Every column that holds personal data (callboard/privacy.py), by the time that makes it old; with a
# dead letter's raw text, its reason (which may quote a field).
AGE_OF = {("calls", "caller"): "queued_at", ("complaints", "customer"): "opened_at", ("event_log", "body"): "ts",
          ("dead_letters", "raw"): "received_at"}
QUOTED_BESIDE = {"dead_letters": ", reason"}


async def personal_data_stored(pool, before: datetime) -> list[str]:
    """Every customer's number or name still stored of the time before ``before``."""
    assert set(AGE_OF) == set(privacy.COLUMNS)
    async with pool.acquire() as conn:
        texts = [json.dumps([list(r) for r in await conn.fetch(
            f"SELECT {column}::text{QUOTED_BESIDE.get(table, '')} FROM {table} WHERE {age} < $1", before)],
            ensure_ascii=False) for (table, column), age in AGE_OF.items()]
    return [found for text in texts for found in personal_data_in(text)]


async def test_erasing_old_personal_data_keeps_every_figure_and_leaves_no_number_or_name(pool):
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=DAYS - 1)
    await write_days(pool, first_day)
    start = datetime.combine(first_day, time(0), tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=UTC)
    first_kept = today - timedelta(days=KEEP_DAYS)
    cutoff = datetime.combine(first_kept, time(0), tzinfo=UTC)
    before = await figures(pool, start, end)
    # repeats are counted
    assert any(a["repeat_calls"] for a in before[2]["agents"]) and before[0]["totals"]["repeat_calls"]
    assert await personal_data_stored(pool, cutoff)

    # In batches of 2 rows (or events).
    erased = await erasure.erase_before(pool, first_kept, batch=2)

    # Each erased day had 6 calls, 1 complaint, 7 events holding personal data (6 queued, 1 opened)
    # and 1 dead letter.
    assert erased == erasure.Erased(calls=ERASED_DAYS * 6, complaints=ERASED_DAYS, events=ERASED_DAYS * 7,
                                    dead_letters=ERASED_DAYS)
    assert await personal_data_stored(pool, cutoff) == []
    assert await figures(pool, start, end) == before
    async with pool.acquire() as conn:
        kept = await conn.fetchval("SELECT count(*) FROM calls WHERE caller IS NOT NULL")
        body = await conn.fetchval("SELECT body::text FROM event_log WHERE event_id = 'd0e0'")
        letter = await conn.fetchrow("SELECT kind, event_id, raw FROM dead_letters WHERE event_id = 'd0bad'")
    assert kept == (KEEP_DAYS + 1) * 6  # the days kept keep their numbers
    assert json.loads(body) == {"id": "d0e0", "type": "call.queued", "ts": json.loads(body)["ts"], "call_id": "d0c0",
                                "queue": "billing"}  # every other field of the event kept
    assert tuple(letter) == ("bad_timestamp", "d0bad", "")
    # Erased once: the next round finds nothing more.
    assert not await erasure.erase_before(pool, first_kept, batch=2)


def test_the_keep_period_is_a_positive_number_of_days_and_unset_keeps_everything():
    assert load({}).keep_personal_data_days is None
    assert load({"CALLBOARD_KEEP_PERSONAL_DATA_DAYS": "30"}).keep_personal_data_days == 30


async def test_the_ingest_erases_by_itself_when_a_keep_period_is_set(pool, database_url):
    today = datetime.now(UTC).date()
    await write_days(pool, today - timedelta(days=DAYS - 1))
    cutoff = datetime.combine(today - timedelta(days=KEEP_DAYS), time(0), tzinfo=UTC)
    settings = settings_for_test(CALLBOARD_KEEP_PERSONAL_DATA_DAYS=str(KEEP_DAYS))
    async with running_ingest(database_url, "ws://127.0.0.1:9", settings=settings):  # no feed needed
        await wait_for(lambda: _none_stored(pool, cutoff), 30, "the old personal data erased")


async def _none_stored(pool, before: datetime) -> bool:
    return await personal_data_stored(pool, before) == []
