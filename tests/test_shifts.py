"""Named shifts: when each one runs on the site's clock, across midnight and the clock changes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from callboard.settings import load
from callboard.shifts import Shift, occurrences, parse, shifts_from_tables

LONDON = ZoneInfo("Europe/London")  # clocks forward 2026-03-29 01:00 UTC, back 2026-10-25 01:00 UTC
CENTRE = parse("Early=07:00-15:00@mon-fri;Late=15:00-23:00@mon-fri;Night=23:00-07:00@sun-thu;"
               "Weekend=09:00-17:00@sat+sun")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def runs(start: str, end: str, shifts=CENTRE, zone=LONDON) -> list[tuple[str, str, str]]:
    return [(o.shift, o.start.astimezone(zone).strftime("%a %H:%M"), o.end.astimezone(zone).strftime("%a %H:%M"))
            for o in occurrences(shifts, local(start), local(end), zone)]


def test_the_named_form_reads_names_times_and_weekdays():
    early, late, night, weekend = CENTRE
    assert early == Shift("Early", time(7), time(15), frozenset(range(5)))
    assert night.crosses_midnight and not late.crosses_midnight
    assert night.weekdays == frozenset({6, 0, 1, 2, 3})  # sun-thu wraps round the week
    assert weekend.weekdays == frozenset({5, 6})
    assert [shift.text() for shift in CENTRE] == [
        "Early=07:00-15:00@mon+tue+wed+thu+fri", "Late=15:00-23:00@mon+tue+wed+thu+fri",
        "Night=23:00-07:00@mon+tue+wed+thu+sun", "Weekend=09:00-17:00@sat+sun"]


def test_the_simple_form_makes_shifts_round_the_clock_named_by_their_start():
    assert parse("23:00, 07:00,15:00") == (Shift("07:00", time(7), time(15)), Shift("15:00", time(15), time(23)),
                                           Shift("23:00", time(23), time(7)))


def test_a_night_shift_runs_into_the_next_morning_and_is_counted_from_the_day_it_started():
    # Friday 2026-11-20 06:00 to Saturday 10:00: Thursday's night ends at 07:00 Friday; Friday has an
    # early and a late shift but no night (nights start sun-thu); Saturday's weekend shift from 09:00.
    assert runs("2026-11-20T06:00+00:00", "2026-11-21T10:00+00:00") == [
        ("Night", "Fri 06:00", "Fri 07:00"), ("Early", "Fri 07:00", "Fri 15:00"),
        ("Late", "Fri 15:00", "Fri 23:00"), ("Weekend", "Sat 09:00", "Sat 10:00")]


def test_a_night_shift_is_as_long_as_the_clock_says_on_the_nights_the_clocks_change():
    # 23:00 to 07:00 on the site clock: 7 hours the night the clocks go forward, 9 the night they go back
    every_night = parse("Night=23:00-07:00")
    forward = occurrences(every_night, local("2026-03-28T22:00+00:00"), local("2026-03-29T08:00+01:00"), LONDON)
    back = occurrences(every_night, local("2026-10-24T22:00+01:00"), local("2026-10-25T08:00+00:00"), LONDON)
    assert [(o.end - o.start) for o in forward] == [timedelta(hours=7)]
    assert [(o.end - o.start) for o in back] == [timedelta(hours=9)]


def test_runs_are_clipped_to_the_window():
    assert runs("2026-11-23T10:00+00:00", "2026-11-23T12:00+00:00") == [("Early", "Mon 10:00", "Mon 12:00")]


@pytest.mark.parametrize("text, reason", [
    ("Early=07:00-15:00;Early=15:00-23:00", "a name of its own"),
    ("Early=07:00-07:00", "start and end at the same time"),
    ("Early=07:00-15:00@weekdays", "is not a weekday"),
    ("Early=7-15", "is not a shift"),
    ("Early=25:00-15:00", "is not a time of day"),
    ("07:00,late", "must be local start times"),
    ("", "at least one shift"),
])
def test_a_bad_shift_is_refused_saying_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse(text)


def test_shifts_come_from_toml_tables_too(tmp_path):
    config = tmp_path / "callboard.toml"
    config.write_text('[[shifts]]\nname = "Day"\nstart = "08:00"\nend = "20:00"\nweekdays = ["Mon", "tue"]\n'
                      '[[shifts]]\nname = "Night"\nstart = "20:00"\nend = "08:00"\n')
    settings = load({"CALLBOARD_CONFIG": str(config)})
    assert settings.shifts == (Shift("Day", time(8), time(20), frozenset({0, 1})), Shift("Night", time(20), time(8)))
    with pytest.raises(ValueError, match="shift 1 has no end"):
        shifts_from_tables([{"name": "Day", "start": "08:00"}])
