"""The centre's named shifts, and when each one runs, on the site's clock.

A shift has a name, a local start and end time and the weekdays it starts on; one whose end is
not after its start runs past midnight into the next day. The simple form of ``CALLBOARD_SHIFTS``
(start times only, "07:00,15:00,23:00") makes shifts that follow each other round the clock, each
named by its start and ending where the next begins, every day. The named form
("Early=07:00-15:00@mon-fri;Late=15:00-23:00;Night=23:00-07:00@sun-thu", or a TOML array of
tables) may leave gaps (nobody on at weekends) or overlap (a mid shift).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))
_NAMED = re.compile(r"^(?P<name>[^=]+)=(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})(?:@(?P<days>[a-z+-]+))?$")


@dataclasses.dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time
    weekdays: frozenset[int] = EVERY_DAY  # the days it starts on, 0 = Monday

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def text(self) -> str:
        """The shift in the named form of ``CALLBOARD_SHIFTS``."""
        days = "" if self.weekdays == EVERY_DAY else "@" + _days_text(self.weekdays)
        return f"{self.name}={self.start:%H:%M}-{self.end:%H:%M}{days}"


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """One run of a shift: [start, end) in UTC, as long as the site's clock says (7 or 9 hours for
    a 23:00-07:00 night on the nights the clocks change)."""

    shift: str
    start: datetime
    end: datetime


def parse(text: str) -> tuple[Shift, ...]:
    """Shifts from either form of ``CALLBOARD_SHIFTS``; ``ValueError`` says what is wrong."""
    parts = [part.strip() for part in re.split(r"[;,]", text) if part.strip()]
    if not parts:
        raise ValueError("must name at least one shift")
    if all("=" not in part for part in parts):
        return _round_the_clock(parts)
    shifts = tuple(_named(part) for part in parts)
    names = [shift.name for shift in shifts]
    if len(set(names)) != len(names):
        raise ValueError("each shift needs a name of its own")
    return shifts


def shifts_from_tables(tables: Iterable[Mapping[str, object]]) -> str:
    """The named form of the TOML form: ``[[shifts]]`` tables with name, start, end, weekdays."""
    parts = []
    for n, table in enumerate(tables, 1):
        missing = [key for key in ("name", "start", "end") if key not in table]
        if missing:
            raise ValueError(f"shift {n} has no {', '.join(missing)}")
        days = table.get("weekdays")
        day_text = "" if days is None else "@" + "+".join(str(day).lower() for day in days)  # type: ignore[union-attr]
        parts.append(f"{table['name']}={table['start']}-{table['end']}{day_text}")
    return ";".join(parts)


def occurrences(shifts: Sequence[Shift], start: datetime, end: datetime, zone: tzinfo) -> list[Occurrence]:
    """Every run of ``shifts`` that overlaps [start, end), clipped to it, in order of start."""
    found = []
    day = start.astimezone(zone).date() - timedelta(days=1)  # a night shift begun the day before
    last = end.astimezone(zone).date()
    while day <= last:
        for shift in shifts:
            if day.weekday() not in shift.weekdays:
                continue
            begins, ends = _run(shift, day, zone)
            if begins < end and ends > start:
                found.append(Occurrence(shift.name, max(begins, start), min(ends, end)))
        day += timedelta(days=1)
    return sorted(found, key=lambda o: (o.start, o.shift))


def _run(shift: Shift, day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    end_day = day + timedelta(days=1) if shift.crosses_midnight else day
    return (datetime.combine(day, shift.start, tzinfo=zone).astimezone(UTC),
            datetime.combine(end_day, shift.end, tzinfo=zone).astimezone(UTC))


def _round_the_clock(parts: list[str]) -> tuple[Shift, ...]:
    try:
        starts = sorted({time.fromisoformat(part) for part in parts})
    except ValueError:
        raise ValueError("must be local start times such as 07:00,15:00,23:00, or named shifts such as "
                         "Early=07:00-15:00@mon-fri;Night=23:00-07:00") from None
    ends = [*starts[1:], starts[0]]
    return tuple(Shift(f"{begins:%H:%M}", begins, finishes) for begins, finishes in zip(starts, ends, strict=True))


def _named(part: str) -> Shift:
    match = _NAMED.match(part)
    if not match:
        raise ValueError(f"{part!r} is not a shift; write name=HH:MM-HH:MM, optionally @mon-fri or @sat+sun")
    try:
        begins, ends = time.fromisoformat(match["start"].zfill(5)), time.fromisoformat(match["end"].zfill(5))
    except ValueError:
        raise ValueError(f"{part!r}: {match['start']} or {match['end']} is not a time of day") from None
    if begins == ends:
        raise ValueError(f"{part!r}: a shift cannot start and end at the same time")
    days = EVERY_DAY if match["days"] is None else _weekdays(match["days"], part)
    return Shift(match["name"].strip(), begins, ends, days)


def _weekdays(text: str, part: str) -> frozenset[int]:
    days: set[int] = set()
    for piece in text.split("+"):
        first, _, last = piece.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"{part!r}: {piece!r} is not a weekday or a range of them "
                             f"({', '.join(WEEKDAYS)}; mon-fri, sat+sun)")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


def _days_text(days: frozenset[int]) -> str:
    return "+".join(WEEKDAYS[day] for day in sorted(days))
