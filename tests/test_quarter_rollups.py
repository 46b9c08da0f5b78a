"""Trends read the quarter-hour totals of rolled-up days, and give exactly the figures counted from the calls.

The floors of test_ingest_order, spread over three complete UTC days, are written through the real
ingest writer in random batches (out of order, late, repeated), rolled up by the ingest's own code
between writes, and every trend is compared with the same trend counted from the calls alone, and
with the trend of the floor built again from the raw event log alone. Each check first makes sure
that the trend really read quarter-hour totals, so that it can fail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard import shifts
from callboard.metrics import Thresholds
from dashboard.history import History, quarter_pieces, raw_runs
from db.queries import QUERIES
from ingest.writer import EventWriter

from .test_agent_days import DAYS, WINDOW, M, empty_floor, floors_over_days, roll_up
from .test_ingest_order import FEED, QUEUES, deliveries, message

T = Thresholds()
# Kolkata is UTC+05:30: its hours start on the half hour of UTC, so its hours and days are made of
# whole UTC quarters but not of whole UTC hours. Shifts start on a quarter hour and off one.
ZONES = (UTC, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York"))
SHIFTS = shifts.parse("Early=06:45-15:10;Late=15:10-23:00;Night=23:00-06:45")


def at(hours: float) -> datetime:
    return M + timedelta(hours=hours)


def test_a_window_on_quarter_hours_of_rolled_up_days_is_read_from_quarters_alone():
    boundaries = [at(0), at(6), at(24)]

    refined, from_quarters = quarter_pieces(boundaries, [M.date()])

    assert (refined, from_quarters) == (boundaries, {1, 2})
    assert raw_runs(2, from_quarters) == []


def test_a_boundary_off_the_quarter_hour_is_counted_from_the_calls_between_its_quarter_hours():
    boundaries = [at(1) + timedelta(minutes=7), at(5), at(9) + timedelta(minutes=50, seconds=1)]

    refined, from_quarters = quarter_pieces(boundaries, [M.date()])

    assert refined == [at(1) + timedelta(minutes=7), at(1.25), at(5), at(9.75),
                       at(9) + timedelta(minutes=50, seconds=1)]
    assert from_quarters == {2, 3}
    assert raw_runs(4, from_quarters) == [(0, 1), (3, 4)]


def test_days_not_rolled_up_are_counted_from_the_calls_in_one_run_each():
    day = M.date()
    boundaries = [at(-24), at(0), at(24), at(48), at(60)]  # D0, D1, D2 and half of D3

    refined, from_quarters = quarter_pieces(boundaries, [day + timedelta(days=1)])  # only D2

    assert refined == boundaries
    assert from_quarters == {3}
    assert raw_runs(4, from_quarters) == [(0, 2), (3, 4)]


async def days_with_quarters(pool) -> list[date]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(QUERIES["rollup.days_with_quarters"], DAYS[0], DAYS[-1] + timedelta(days=1),
                                T.answer_target_s, T.hold_limit_s, T.short_abandon_s)
    return [row["day"] for row in rows]


async def counted_from_calls(pool, history: History, *args, **kwargs) -> dict:
    """The same trend with every day marked stale: nothing is read from quarter-hour totals."""
    async with pool.acquire() as conn:
        marked = await conn.fetch("INSERT INTO stale_days (day) SELECT unnest($1::date[]) ON CONFLICT DO NOTHING "
                                  "RETURNING day", DAYS)
    figures = await history.trends(*args, **kwargs)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM stale_days WHERE day = any($1::date[])", [row["day"] for row in marked])
    return figures


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_trends_through_quarter_totals_equal_the_count_from_the_calls_whatever_the_arrival(pool, data):
    events = data.draw(floors_over_days())
    writes = data.draw(deliveries(len(events), repeats=True))
    await empty_floor(pool)
    writer = EventWriter(pool, FEED)
    for write in writes:
        await writer.write([message([events[i] for i in indexes]) for indexes in write])
        if data.draw(st.booleans(), label="roll up now"):
            await roll_up(pool)
    await roll_up(pool)
    if not await days_with_quarters(pool):
        return  # every day still has a hold open: nothing to compare
    history = History(pool, T, data.draw(st.sampled_from(ZONES), label="zone"), SHIFTS)
    start = WINDOW[0] + timedelta(minutes=data.draw(st.sampled_from((0, 15, 7, 600)), label="start, minutes"))
    end = WINDOW[1] - timedelta(minutes=data.draw(st.sampled_from((0, 45, 13)), label="end cut, minutes"))
    bucket = data.draw(st.sampled_from(("15m", "1h", "1d", "1w", "shift")), label="bucket")
    queues = data.draw(st.sampled_from((None, [QUEUES[0]], list(QUEUES[1:]))), label="queues")
    team = data.draw(st.sampled_from((None, "east", "night")), label="team")
    shift = data.draw(st.sampled_from((None, "Early", "Night")), label="shift")
    now = datetime.now(UTC)

    through_quarters = await history.trends(start, end, bucket, queues, team, shift, now=now)

    assert through_quarters == await counted_from_calls(pool, history, start, end, bucket, queues, team, shift,
                                                         now=now)
    await recomputed_from_the_raw_log(pool)
    assert through_quarters == await history.trends(start, end, bucket, queues, team, shift, now=now)


async def recomputed_from_the_raw_log(pool) -> None:
    """Every table built again from the raw event log alone: its events, in the order of their time,
    written in one batch into an empty database, and rolled up."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT body FROM event_log ORDER BY ts, event_id")
    logged = [row["body"] for row in rows]  # the test pool reads JSON as Python values
    await empty_floor(pool)
    await EventWriter(pool, FEED).write([message(logged)])
    await roll_up(pool)


async def test_a_late_call_queued_marks_its_day_and_the_trend_follows(pool):
    e = iter(range(1, 100))

    def event(type_: str, hours: float, **fields) -> dict:
        return {"id": f"q{next(e)}", "type": type_, "ts": at(hours).isoformat(), **fields}

    writer = EventWriter(pool, FEED)
    answered = event("call.answered", 10, call_id="c1", agent="a1")
    await writer.write([message([answered, event("call.ended", 10.1, call_id="c1", agent="a1",
                                                 released_by="customer", resolved=True)])])
    await roll_up(pool)
    history = History(pool, T, UTC, SHIFTS)
    before = await history.trends(WINDOW[0], WINDOW[1], "1d")
    assert [b["offered"] for b in before["buckets"]] == [0, 0, 0, 0]  # never queued: not offered

    await writer.write([message([event("call.queued", 10 - 20 / 3600, call_id="c1", queue="sales",
                                       caller="+1 212 555 0199")])])
    # its day marked stale at once, and the next, where a repeat of the call may come
    assert await days_with_quarters(pool) == [d for d in DAYS if d not in (M.date(), M.date() + timedelta(days=1))]
    await roll_up(pool)
    after = await history.trends(WINDOW[0], WINDOW[1], "1d")

    assert M.date() in await days_with_quarters(pool)
    # Worked by hand: on D1 one call offered, answered after 20 s (late: over 15 s), none abandoned.
    day = after["buckets"][1]
    assert (day["offered"], day["answered"], day["answered_on_time"], day["asa_s"]) == (1, 1, 0, 20.0)
    assert after == await counted_from_calls(pool, history, WINDOW[0], WINDOW[1], "1d")
