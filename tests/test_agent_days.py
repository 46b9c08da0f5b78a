"""Reports over whole days read per-day agent totals, and give exactly the figures counted from the calls.

Every scenario is stored through the real ingest writer on the last few (complete) UTC days, the
days are rolled up by the ingest's own code, and the report (``LiveData.agents``) is compared
with the same report counted from the calls alone — and, where it helps, with figures worked out
by hand. Each checks first that the report really read per-day totals, so that it can fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard import metrics
from callboard.metrics import Thresholds
from dashboard.data import LiveData, raw_pieces, whole_utc_days
from db.queries import QUERIES
from ingest.protocol import parse_message
from ingest.rollup import AgentDayTotals, roll_up_forever
from ingest.writer import EventWriter, Received

from .conftest import timeout, wait_for
from .test_ingest_order import FEED, TABLES, deliveries, floors, message

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
# Four complete UTC days, D0 to D3; midnight M is where D1 begins.
D0 = TODAY - timedelta(days=4)
M = D0 + timedelta(days=1)
DAYS = [(D0 + timedelta(days=n)).date() for n in range(4)]
WINDOW = (D0, TODAY)  # D0 to D3, whole


def ts(moment: datetime) -> str:
    return moment.isoformat()


class Events:
    """Protocol events at instants given relative to midnight M, in seconds."""

    def __init__(self) -> None:
        self._n = 0

    def __call__(self, type_: str, seconds: float, **fields) -> dict:
        self._n += 1
        return {"id": f"d{self._n}", "type": type_, "ts": ts(M + timedelta(seconds=seconds)), **fields}


async def write(pool, *events: dict) -> None:
    parsed, rejects = parse_message(json.dumps(list(events)))
    assert rejects == []
    await EventWriter(pool, "pbx").write([Received(datetime.now(UTC), parsed, rejects)])


async def roll_up(pool, thresholds: Thresholds | None = None) -> None:
    totals = AgentDayTotals(pool, thresholds or Thresholds())
    await totals.mark_days_without_totals(len(DAYS) + 1)
    await totals.roll_up_stale()


async def days_read_from_totals(pool, thresholds: Thresholds | None = None) -> list:
    t = thresholds or Thresholds()
    async with pool.acquire() as conn:
        rows = await conn.fetch(QUERIES["rollup.days_with_totals"], DAYS[0], DAYS[-1] + timedelta(days=1),
                                t.answer_target_s, t.hold_limit_s)
    return [row["day"] for row in rows]


async def counted_from_calls(pool, start: datetime, end: datetime, t: Thresholds) -> list[dict]:
    """The report as it was before per-day totals: one count over the whole window."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(QUERIES["live.agent_counts"], start, end, t.answer_target_s, t.hold_limit_s,
                                datetime.now(UTC), end, True)
    figures = [metrics.agent_figures(counts, t) for counts in metrics.add_agent_counts([rows])]
    return sorted(figures, key=lambda a: (a["name"], a["agent"]))


async def report(pool, start: datetime = WINDOW[0], end: datetime = WINDOW[1],
                 thresholds: Thresholds | None = None) -> dict[str, dict]:
    """The agents report, checked to equal the one counted from the calls; by agent."""
    t = thresholds or Thresholds()
    agents = (await LiveData(pool, t, UTC, stale_after_s=30).agents(start, end))["agents"]
    assert agents == await counted_from_calls(pool, start, end, t)
    return {a["agent"]: a for a in agents}


def test_a_window_splits_into_partial_ends_and_whole_utc_days():
    start, end = M - timedelta(hours=5), M + timedelta(days=2, hours=3)
    days = whole_utc_days(start, end)
    assert days == [DAYS[1], DAYS[2]]
    assert list(raw_pieces(start, end, days)) == [(start, M), (M + timedelta(days=2), end)]
    # A day in the middle without totals is counted from the calls, with its neighbours if they are too.
    assert list(raw_pieces(start, end, [DAYS[2]])) == [(start, M + timedelta(days=1)), (M + timedelta(days=2), end)]
    assert whole_utc_days(M, M + timedelta(hours=23)) == []
    assert whole_utc_days(M, M + timedelta(days=1)) == [DAYS[1]]


async def test_a_call_queued_before_midnight_and_answered_after_counts_on_its_answer_day(pool):
    e = Events()
    await write(pool, e("call.queued", -10, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 10, call_id="c1", agent="a1"),
                e("call.ended", 100, call_id="c1", agent="a1", released_by="customer", resolved=True))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    a1 = (await report(pool))["a1"]
    # answered once, after 20 s (late: T = 15 s); handled and resolved once
    assert (a1["answered"], a1["asa_s"], a1["on_time_rate"], a1["resolution_rate"]) == (1, 20, 0, 1)
    # A report from midnight on has the same call; one ending at midnight has none of it.
    assert (await report(pool, M, TODAY))["a1"]["answered"] == 1
    assert "a1" not in await report(pool, D0, M)


async def test_a_late_call_queued_changes_the_answer_speed_of_a_day_already_rolled_up(pool):
    e = Events()
    # Answered and ended at 01:00 on D1; the call.queued is late.
    await write(pool, e("call.answered", 3600, call_id="c1", agent="a1"),
                e("call.ended", 3700, call_id="c1", agent="a1", released_by="agent"))
    await roll_up(pool)
    assert DAYS[1] in await days_read_from_totals(pool)
    # Never queued (yet): not an answered call in the figures; handled all the same.
    a1 = (await report(pool))["a1"]
    assert (a1["answered"], a1["handled"], a1["agent_hangup_rate"]) == (0, 1, 1)

    await write(pool, e("call.queued", 3590, call_id="c1", queue="sales", caller="+86 138 0000 0000"))
    assert DAYS[1] not in await days_read_from_totals(pool)  # stale: counted from the calls meanwhile
    a1 = (await report(pool))["a1"]
    # answered after 10 s: on time
    assert (a1["answered"], a1["asa_s"], a1["on_time_rate"]) == (1, 10, 1)
    await roll_up(pool)
    assert DAYS[1] in await days_read_from_totals(pool)
    assert (await report(pool))["a1"]["asa_s"] == 10


async def test_a_hold_across_midnight_counts_on_the_day_it_started(pool):
    e = Events()
    await write(pool, e("call.queued", -300, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", -290, call_id="c1", agent="a1"),
                e("call.hold_started", -30, call_id="c1", agent="a1"),
                e("call.hold_ended", 50, call_id="c1", agent="a1"),
                e("call.ended", 200, call_id="c1", agent="a1", released_by="customer"))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    # held 80 s > 60 s: over the limit, on D0 (where it started)
    assert (await report(pool))["a1"]["holds_over_limit"] == 1
    assert (await report(pool, D0, M))["a1"]["holds_over_limit"] == 1
    assert (await report(pool, M, TODAY))["a1"]["holds"] == 0


async def test_a_hold_end_arriving_after_the_day_was_rolled_up(pool):
    e = Events()
    # D1 10:00 a hold starts; the call ends at 10:05, and the hold's end is not known yet, so the
    # hold runs to the call's end: 300 s, over the limit.
    await write(pool, e("call.queued", 35_900, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 35_905, call_id="c1", agent="a1"),
                e("call.hold_started", 36_000, call_id="c1", agent="a1"),
                e("call.ended", 36_300, call_id="c1", agent="a1", released_by="customer"))
    await roll_up(pool)
    assert DAYS[1] in await days_read_from_totals(pool)
    assert (await report(pool))["a1"]["holds_over_limit"] == 1
    # The hold ended after 30 s after all: within the limit.
    await write(pool, e("call.hold_ended", 36_030, call_id="c1", agent="a1"))
    assert (await report(pool))["a1"]["holds_over_limit"] == 0
    await roll_up(pool)
    assert DAYS[1] in await days_read_from_totals(pool)
    a1 = (await report(pool))["a1"]
    assert (a1["holds"], a1["holds_over_limit"], a1["hold_discipline"]) == (1, 0, 1)


async def test_a_day_with_a_hold_still_open_is_counted_from_the_calls(pool):
    e = Events()
    # D1 23:59:30 a hold starts on a call that is still going: its end is not known.
    await write(pool, e("call.queued", 86_000, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 86_005, call_id="c1", agent="a1"),
                e("call.hold_started", 86_370, call_id="c1", agent="a1"))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == [DAYS[0], DAYS[2], DAYS[3]]
    # A report to the end of D1 counts the hold's age at its end, 30 s: not over; one to the end of
    # D3 counts days of it: over.
    assert (await report(pool, D0, M + timedelta(days=1)))["a1"]["holds_over_limit"] == 0
    assert (await report(pool))["a1"]["holds_over_limit"] == 1
    # Once the call ends, the day is rolled up again.
    await write(pool, e("call.ended", 86_410, call_id="c1", agent="a1", released_by="customer"))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    assert (await report(pool))["a1"]["holds_over_limit"] == 0  # 40 s


async def test_an_earlier_answer_arriving_late_moves_the_call_to_another_day(pool):
    e = Events()
    await write(pool, e("call.queued", -100, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 5, call_id="c1", agent="a2"))
    await roll_up(pool)
    before = await report(pool)
    assert (before["a2"]["answered"], "a1" in before) == (1, False)
    # An earlier answer, by a1, before midnight: the first answer counts, so the call is a1's, on D0.
    await write(pool, e("call.answered", -50, call_id="c1", agent="a1"))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    after = await report(pool)
    # a1: answered after 50 s; a2: nothing left (D1's totals were computed again)
    assert (after["a1"]["answered"], after["a1"]["asa_s"], "a2" in after) == (1, 50, False)
    assert "a1" not in await report(pool, M, TODAY)


async def test_a_callback_reported_late_moves_the_complaint_to_the_day_it_was_made(pool):
    e = Events()
    # Opened D0 22:00, due D1 01:00; the callback was made at D0 23:30 but is reported later.
    await write(pool, e("complaint.opened", -7200, complaint_id="k1", agent="a1", customer="李娜",
                        due=ts(M + timedelta(hours=1))))
    await roll_up(pool)
    # Decided at its due time (D1 01:00), not called back: 0 of 1 on time, on D1.
    assert (await report(pool, M, TODAY))["a1"]["callbacks_on_time_rate"] == 0
    await write(pool, e("complaint.callback_made", -1800, complaint_id="k1", agent="a1"))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    # Decided at the callback, on D0, on time: 1 of 1; nothing left on D1.
    assert (await report(pool, D0, M))["a1"]["callbacks_on_time_rate"] == 1
    assert "a1" not in await report(pool, M, TODAY)
    assert (await report(pool))["a1"]["callbacks_due"] == 1


async def test_totals_computed_under_other_thresholds_are_never_read(pool):
    e = Events()
    await write(pool, e("call.queued", 0, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 20, call_id="c1", agent="a1"))
    patient = Thresholds(answer_target_s=30)
    await roll_up(pool, patient)
    assert await days_read_from_totals(pool, patient) == DAYS
    assert await days_read_from_totals(pool) == []
    # Under T = 30 s the answer after 20 s is on time; under the default 15 s it is not.
    assert (await report(pool, thresholds=patient))["a1"]["on_time_rate"] == 1
    assert (await report(pool))["a1"]["on_time_rate"] == 0
    # An ingest with the default thresholds computes every day again under them.
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    assert (await report(pool))["a1"]["on_time_rate"] == 0


async def test_a_report_over_many_agents_and_days_adds_up_to_the_count_from_the_calls(pool):
    e = Events()
    events = []
    for n in range(40):
        call, agent, at = f"c{n}", f"a{n % 3}", -86_400 + n * 7_000
        events += [e("call.queued", at, call_id=call, queue="sales", caller="+86 138 0000 0000"),
                   e("call.answered", at + n % 31, call_id=call, agent=agent),
                   e("call.hold_started", at + 100, call_id=call, agent=agent),
                   e("call.hold_ended", at + 100 + n * 3 % 120, call_id=call, agent=agent),
                   e("call.ended", at + 400, call_id=call, agent=agent, released_by="customer", resolved=n % 4 > 0),
                   e("survey.completed", at + 500, call_id=call, agent=agent, score=n % 5 + 1)]
    await write(pool, *events)
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    for start, end in [WINDOW, (D0 + timedelta(hours=7), M + timedelta(days=1, hours=20)),
                       (M - timedelta(hours=8), M + timedelta(days=2, hours=16))]:
        assert len(await report(pool, start, end)) == 3
    with pytest.raises(AssertionError):  # the comparison can fail: under other thresholds it does
        assert await report(pool) == await counted_from_calls(pool, *WINDOW, Thresholds(answer_target_s=5))


async def test_hold_events_stored_before_their_call_count_once_the_call_arrives(pool):
    e = Events()
    # A hold on D1 00:10 for 90 s (over the limit), on a call whose own events come later: no call
    # row yet, so the hold counts nowhere.
    await write(pool, e("call.hold_started", 600, call_id="c1", agent="a1"),
                e("call.hold_ended", 690, call_id="c1", agent="a1"))
    await roll_up(pool)
    assert "a1" not in await report(pool)
    # The call was queued and answered before midnight, on D0, and is still going.
    await write(pool, e("call.queued", -600, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", -590, call_id="c1", agent="a1"))
    await roll_up(pool)
    assert await days_read_from_totals(pool) == DAYS
    a1 = (await report(pool, M, TODAY))["a1"]
    assert (a1["holds"], a1["holds_over_limit"], a1["answered"]) == (1, 1, 0)


@st.composite
def floors_over_days(draw) -> list[dict]:
    """The floors of test_ingest_order, their events spread over D0 to D2: gaps of a second to
    ten hours, so that calls, holds and complaints cross midnight."""
    events = draw(floors())
    at = D0 + timedelta(seconds=draw(st.integers(0, 86_000)))
    spread = []
    for event in events:
        at += timedelta(seconds=draw(st.sampled_from((1, 20, 50, 3_600, 36_000))))
        moved = {**event, "ts": ts(at)}
        if "due" in event:
            moved["due"] = ts(at + (datetime.fromisoformat(event["due"]) - datetime.fromisoformat(event["ts"])))
        spread.append(moved)
    return spread


async def empty_floor(pool) -> None:
    """Forget every event, the floor state and every total, for the next example."""
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {TABLES}, agent_days, agent_day_counts, queue_quarter_counts, "
                           "floor_quarter_counts, floor_quarter_counts_by_agent, stale_days")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_reports_through_per_day_totals_equal_the_count_from_the_calls_whatever_the_arrival(pool, data):
    events = data.draw(floors_over_days())
    writes = data.draw(deliveries(len(events), repeats=False))
    await empty_floor(pool)
    windows = [WINDOW, (D0 + timedelta(hours=7), M + timedelta(days=1, hours=20)),
               (M - timedelta(hours=8), M + timedelta(days=2, hours=16)), (M, M + timedelta(days=2))]
    writer = EventWriter(pool, FEED)
    for write in writes:
        await writer.write([message([events[i] for i in indexes]) for indexes in write])
        if data.draw(st.booleans(), label="roll up now"):
            await roll_up(pool)
        for start, end in windows:
            await report(pool, start, end)  # checks it equals the count from the calls
    await roll_up(pool)
    async with pool.acquire() as conn:
        open_days = await conn.fetchval("SELECT count(*) FROM agent_days WHERE holds_open > 0")
    assert len(await days_read_from_totals(pool)) == len(DAYS) - open_days
    for start, end in windows:
        await report(pool, start, end)


async def test_a_day_changed_while_it_is_computed_stays_stale_and_the_ingest_never_waits(pool):
    e = Events()
    await write(pool, e("call.queued", 3590, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 3600, call_id="c1", agent="a1"))
    await roll_up(pool)
    await write(pool, e("survey.completed", 3650, call_id="c1", agent="a1", score=5))  # D1 stale again
    totals = AgentDayTotals(pool, Thresholds())
    async with pool.acquire() as conn:
        stale = await conn.fetchrow("SELECT day, mark FROM stale_days WHERE day = $1", DAYS[1])
        computing = conn.transaction(isolation="repeatable_read", readonly=True)
        await computing.start()
        counts = await totals._count_day(conn, stale["day"])  # noqa: SLF001 - the roll-up's own first step
        # A late event for the day lands while the day is being computed, without waiting for it.
        await asyncio.wait_for(write(pool, e("call.ended", 3700, call_id="c1", agent="a1", released_by="customer")),
                               timeout(5))
        await computing.commit()
    assert [row["handled"] for row in counts.agents] == [0]  # the snapshot did not see it
    async with pool.acquire() as conn, conn.transaction():
        assert await conn.fetchval(QUERIES["rollup.unmark_day"], stale["day"], stale["mark"]) is None
    assert DAYS[1] not in await days_read_from_totals(pool)
    assert (await report(pool))["a1"]["handled"] == 1
    await roll_up(pool)
    assert DAYS[1] in await days_read_from_totals(pool)
    assert (await report(pool))["a1"]["handled"] == 1


async def test_a_batch_marking_a_day_while_its_totals_are_written_does_not_wait_for_them(pool):
    """The roll-up takes a day off the stale list last, after writing its totals: a batch with late
    events for the day marks it and commits meanwhile, and the totals, computed before the batch, are
    then not stored; the day is computed again."""
    e = Events()
    await write(pool, e("call.queued", 3590, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 3600, call_id="c1", agent="a1"))
    await roll_up(pool)
    await write(pool, e("survey.completed", 3650, call_id="c1", agent="a1", score=5))  # D1 (and D2) stale again
    async with pool.acquire() as holding, holding.transaction():
        # Writing D1's totals takes as long as this row is held.
        await holding.execute("SELECT FROM agent_days WHERE day = $1 FOR UPDATE", DAYS[1])
        rolling = asyncio.create_task(AgentDayTotals(pool, Thresholds()).roll_up_stale())

        async def roll_up_writes_the_totals() -> bool:
            async with pool.acquire() as conn:
                return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                           "AND query = $1", QUERIES["rollup.forget_day"]) == 1

        await wait_for(roll_up_writes_the_totals, 10, "the roll-up to write D1's totals")
        await asyncio.wait_for(write(pool, e("call.ended", 3700, call_id="c1", agent="a1", released_by="customer")),
                               timeout(5))
    assert await asyncio.wait_for(rolling, timeout(5)) == [DAYS[2]]  # D1's totals were not stored
    assert DAYS[1] not in await days_read_from_totals(pool)
    assert (await report(pool))["a1"]["handled"] == 1
    await roll_up(pool)
    assert DAYS[1] in await days_read_from_totals(pool)
    assert (await report(pool))["a1"]["handled"] == 1


async def test_a_day_waits_for_floor_changes_that_began_before_it_ended(pool):
    """A transaction that began before a day ended may have found the day not complete, and left it
    unmarked: the day is not computed while one is in flight."""
    later = datetime.now(UTC) + timedelta(hours=1)
    async with pool.acquire() as checking:
        assert not await checking.fetchval(QUERIES["rollup.ingest_in_flight_since"], later)
        async with pool.acquire() as writing, writing.transaction():
            await writing.execute(QUERIES["ingest.keep_days_open"])
            assert await checking.fetchval(QUERIES["rollup.ingest_in_flight_since"], later)
            assert not await checking.fetchval(QUERIES["rollup.ingest_in_flight_since"],
                                               datetime.now(UTC) - timedelta(hours=1))
        assert not await checking.fetchval(QUERIES["rollup.ingest_in_flight_since"], later)


async def test_the_ingest_loop_computes_stale_days_again(pool):
    e = Events()
    await write(pool, e("call.queued", 3590, call_id="c1", queue="sales", caller="+86 138 0000 0000"),
                e("call.answered", 3600, call_id="c1", agent="a1"))
    looping = asyncio.create_task(roll_up_forever(AgentDayTotals(pool, Thresholds()), interval_s=0.05))
    try:
        async def every_day_read_from_totals() -> bool:
            return len(await days_read_from_totals(pool)) == len(DAYS)

        await wait_for(every_day_read_from_totals, 10, "the days to be rolled up")
        await write(pool, e("call.ended", 3700, call_id="c1", agent="a1", released_by="customer"))
        assert DAYS[1] not in await days_read_from_totals(pool)
        await wait_for(every_day_read_from_totals, 10, "D1 to be rolled up again")
        assert (await report(pool))["a1"]["handled"] == 1
    finally:
        looping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await looping


def test_every_writer_of_floor_state_shows_the_lock_the_roll_up_looks_for():
    key = re.compile(r"pg_advisory_xact_lock_shared\((\d+)\)")
    keys = {name: key.findall(QUERIES[name]) for name in ("ingest.create_staging", "ingest.keep_days_open")}
    assert all(len(found) == 1 for found in keys.values()), keys
    assert len({found[0] for found in keys.values()}) == 1, keys
    assert QUERIES["rollup.ingest_in_flight_since"].count(keys["ingest.create_staging"][0]) == 2
