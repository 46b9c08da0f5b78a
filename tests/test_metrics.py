"""The figure definitions of docs/metrics.md that need no database: rates and the agent score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callboard import metrics
from callboard.shifts import parse as parse_shifts

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

WEIGHTS = metrics.Thresholds().score_weights


def test_a_rate_with_nothing_to_count_has_no_value_not_zero():
    assert metrics.rate(0, 0) is None
    assert metrics.rate(0, 4) == 0


def test_score_leaves_out_components_without_data_and_renormalises():
    # docs/metrics.md worked example: (25·0.9 + 25·0.8 + 15·1.0) / (25 + 25 + 15) = 57.5 / 65
    components = {"on_time_rate": 0.9, "csat": None, "resolution_rate": 0.8, "hold_discipline": 1.0,
                  "callbacks_on_time_rate": None}
    assert metrics.agent_score(components, WEIGHTS) == pytest.approx(100 * 57.5 / 65)


def test_score_of_an_agent_with_no_data_is_absent():
    assert metrics.agent_score(dict.fromkeys(WEIGHTS), WEIGHTS) is None


def test_service_level_leaves_out_short_abandons_but_abandon_rate_counts_the_rest():
    # 8 answered (6 within T), 3 abandoned of which 1 short: counted = 8 + 3 - 1 = 10
    counts = {"offered": 11, "answered": 8, "answered_on_time": 6, "answer_seconds": 80.0,
              "abandoned": 3, "short_abandoned": 1}
    figures = metrics.queue_figures("billing", counts, waiting=0, oldest_queued_at=None, now=None)
    assert figures["asa_s"] == 10.0
    assert figures["on_time_rate"] == 6 / 8
    assert figures["service_level"] == 6 / 10
    assert figures["abandon_rate"] == 2 / 10



BERLIN = ZoneInfo("Europe/Berlin")
SHIFTS = parse_shifts("07:00,15:00,23:00")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def starts(start: datetime, end: datetime, bucket: str, zone=BERLIN, shifts=SHIFTS) -> list[datetime]:
    """Where each bucket begins; each also ends where the next begins (the last at ``end``)."""
    spans = metrics.bucket_spans(start, end, bucket, zone, shifts)
    assert [b for _, b, _ in spans] == [a for a, _, _ in spans[1:]] + [end]
    return [a for a, _, _ in spans]


def test_days_follow_the_site_clock_across_both_clock_changes():
    # Berlin: clocks go forward on 2026-03-29 (a 23-hour day) and back on 2026-10-25 (25 hours)
    spring = starts(local("2026-03-28T00:00+01:00"), local("2026-03-31T00:00+02:00"), "1d")
    assert spring == [local("2026-03-28T00:00+01:00"), local("2026-03-29T00:00+01:00"),
                      local("2026-03-30T00:00+02:00")]
    assert spring[2] - spring[1] == timedelta(hours=23)
    autumn = starts(local("2026-10-25T00:00+02:00"), local("2026-10-27T00:00+01:00"), "1d")
    assert autumn == [local("2026-10-25T00:00+02:00"), local("2026-10-26T00:00+01:00")]
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_hours_through_the_repeated_hour_are_each_one_hour_long():
    # 02:00-03:00 happens twice in Berlin on 2026-10-25: once at +02:00, once at +01:00
    assert starts(local("2026-10-25T01:00+02:00"), local("2026-10-25T04:00+01:00"), "1h") == [
        local("2026-10-25T01:00+02:00"), local("2026-10-25T02:00+02:00"),
        local("2026-10-25T02:00+01:00"), local("2026-10-25T03:00+01:00")]


def test_first_and_last_buckets_are_clipped_to_the_window():
    # quarter hours from 09:07 to 09:50 local: 09:07, 09:15, 09:30, 09:45 (the last ends at 09:50)
    shanghai = ZoneInfo("Asia/Shanghai")
    found = starts(local("2026-11-23T09:07+08:00"), local("2026-11-23T09:50+08:00"), "15m", shanghai)
    assert [s.astimezone(shanghai).strftime("%H:%M") for s in found] == ["09:07", "09:15", "09:30", "09:45"]


def test_weeks_start_on_monday_and_months_on_the_first_at_local_midnight():
    # Wednesday 2026-03-18 to Wednesday 2026-04-08 in Berlin (clocks forward on Sunday 29 March)
    weeks = starts(local("2026-03-18T00:00+01:00"), local("2026-04-08T00:00+02:00"), "1w")
    assert weeks == [local("2026-03-18T00:00+01:00"), local("2026-03-23T00:00+01:00"),
                     local("2026-03-30T00:00+02:00"), local("2026-04-06T00:00+02:00")]
    assert weeks[2] - weeks[1] == timedelta(days=7, hours=-1)
    months = starts(local("2026-01-15T00:00+01:00"), local("2026-04-02T00:00+02:00"), "1mo")
    assert months == [local("2026-01-15T00:00+01:00"), local("2026-02-01T00:00+01:00"),
                      local("2026-03-01T00:00+01:00"), local("2026-04-01T00:00+02:00")]


def test_simple_shifts_start_at_their_local_start_times_and_wrap_past_midnight():
    # from 05:00 on the 23rd to 08:00 on the 24th: the night shift (23:00 on the 22nd) is under way
    # at 05:00, then the shifts of 07:00, 15:00 and 23:00 start, then 07:00 on the 24th
    spans = metrics.bucket_spans(local("2026-11-23T05:00+08:00"), local("2026-11-24T08:00+08:00"), "shift",
                                 ZoneInfo("Asia/Shanghai"), SHIFTS)
    assert [(a, name) for a, _, name in spans] == [
        (local("2026-11-23T05:00+08:00"), "23:00"), (local("2026-11-23T07:00+08:00"), "07:00"),
        (local("2026-11-23T15:00+08:00"), "15:00"), (local("2026-11-23T23:00+08:00"), "23:00"),
        (local("2026-11-24T07:00+08:00"), "07:00")]


def test_the_all_queues_tile_adds_the_counts_of_its_queues_and_forms_the_figures_again():
    # billing: 4 answered, 3 on time, 40 s; sales: 6 answered, 3 on time, 20 s, 2 abandoned (1 short)
    billing = metrics.queue_figures("billing", {"offered": 5, "answered": 4, "answered_on_time": 3,
                                                "answer_seconds": 40.0, "abandoned": 0, "short_abandoned": 0},
                                    1, NOON - timedelta(seconds=30), NOON, talking=2, holding=1)
    sales = metrics.queue_figures("sales", {"offered": 8, "answered": 6, "answered_on_time": 3,
                                            "answer_seconds": 20.0, "abandoned": 2, "short_abandoned": 1},
                                  2, NOON - timedelta(seconds=50), NOON, talking=3)
    totals = metrics.queue_totals([billing, sales])
    # ASA = 60 / 10 = 6 s (not the mean of 10 s and 3.3 s); on time 6/10; service level 6/(10 + 2 - 1)
    assert (totals["answered"], totals["asa_s"], totals["on_time_rate"]) == (10, 6.0, 0.6)
    assert totals["service_level"] == 6 / 11 and totals["abandon_rate"] == 1 / 11
    # waiting 1 + 2, the longest wait the longer of the two; calls in progress 2 + 3, on hold 1
    assert (totals["waiting"], totals["longest_wait_s"], totals["on_call"], totals["on_hold"]) == (3, 50, 5, 1)
    assert metrics.queue_totals([])["longest_wait_s"] is None


def test_agents_are_counted_by_state_and_on_hold_only_among_those_counted():
    agents = [{"agent": "a1", "state": "on_call"}, {"agent": "a2", "state": "on_call"},
              {"agent": "a3", "state": "break"}, {"agent": "a4", "state": "training"}]
    holds = [{"agent": "a1"}, {"agent": "a1"}, {"agent": "z9"}]  # a1 holds two calls; z9 is on another team
    assert metrics.agent_counts(agents, holds) == {"available": 0, "on_call": 2, "on_hold": 1,
                                                   "after_call_work": 0, "break": 1, "not_ready": 0}


def test_a_feed_is_down_for_the_longer_of_its_disconnection_and_the_ingest_s_silence():
    now = datetime(2025, 3, 4, 6, 0, tzinfo=UTC)
    # Connected, last heartbeat 4 s ago: 4 s (a running ingest beats every 5 s).
    assert metrics.feed_down_s(True, now - timedelta(hours=1), now - timedelta(seconds=4), now) == 4
    # Disconnected 90 s ago, the ingest still beating 2 s ago: 90 s.
    assert metrics.feed_down_s(False, now - timedelta(seconds=90), now - timedelta(seconds=2), now) == 90
    # Connected, but the ingest silent for 2 min (stopped): 120 s. Never beat: since its status changed.
    assert metrics.feed_down_s(True, now - timedelta(hours=1), now - timedelta(minutes=2), now) == 120
    assert metrics.feed_down_s(True, now - timedelta(seconds=30), None, now) == 30
