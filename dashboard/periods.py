"""The managers' windows: a preset (today, last week, ...) or a chosen range of days, on the site's
clock, and how the trends and agents pages (and their exports) write them in their addresses.

``?range=last_week`` or ``?range=custom&from=2026-11-01&to=2026-11-07`` (both days included),
with ``&bucket=1d&queue=billing,sales&team=Blue&shift=Early`` for the trends. An address with
something wrong in it is read as far as it makes sense (a bad date falls back to the preset
today); the JSON API, not the pages, is where a bad parameter gets its 400.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from callboard import metrics

from .widgets import url_names, url_one

PRESETS = ("today", "yesterday", "this_week", "last_week", "last_30_days", "custom")
DEFAULT_PRESET = "today"
# The bucket a preset shows unless the address names one.
DEFAULT_BUCKETS = {"today": "1h", "yesterday": "1h", "this_week": "1d", "last_week": "1d",
                   "last_30_days": "1d", "custom": "1d"}


@dataclasses.dataclass(frozen=True)
class Choice:
    """What a manager chose: the window's preset or days, and the trends' bucket and filters."""

    preset: str = DEFAULT_PRESET
    first: date | None = None  # with preset "custom": the first and last day shown, both included
    last: date | None = None
    bucket: str = DEFAULT_BUCKETS[DEFAULT_PRESET]
    queues: tuple[str, ...] = ()
    team: str | None = None
    shift: str | None = None

    def query(self, **extra: str | None) -> str:
        """The address's query for this choice ("?range=..."), with ``extra`` parameters that are set."""
        params: dict[str, str | None] = {"range": self.preset}
        if self.preset == "custom" and self.first and self.last:
            params.update({"from": self.first.isoformat(), "to": self.last.isoformat()})
        if self.bucket != DEFAULT_BUCKETS[self.preset]:
            params["bucket"] = self.bucket
        params.update({"queue": ",".join(self.queues) or None, "team": self.team, "shift": self.shift, **extra})
        return "?" + urlencode({key: value for key, value in params.items() if value})


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def from_query(query: Mapping[str, Any], shift_names: Sequence[str] = (), longest_days: int = 366) -> Choice:
    """A choice from an address's query parameters (each a string, or a list of them); a chosen
    range longer than ``longest_days`` keeps its last day and that many days."""
    preset = url_one(query.get("range"))
    preset = preset if preset in PRESETS else DEFAULT_PRESET
    first, last = _day(url_one(query.get("from"))), _day(url_one(query.get("to")))
    if preset == "custom" and not (first and last):
        preset, first, last = DEFAULT_PRESET, None, None
    elif preset == "custom" and first > last:
        first, last = last, first
    elif preset != "custom":
        first = last = None
    if first and last and (last - first).days >= longest_days:
        first = last - timedelta(days=longest_days - 1)
    bucket = url_one(query.get("bucket"))
    shift = url_one(query.get("shift"))
    return Choice(preset=preset, first=first, last=last,
                  bucket=bucket if bucket in metrics.BUCKETS else DEFAULT_BUCKETS[preset],
                  queues=tuple(url_names(query.get("queue")) or ()), team=url_one(query.get("team")),
                  shift=shift if shift in shift_names else None)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def window(choice: Choice, now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the choice as of ``now``: today and this week run until now; yesterday, last
    week and the last 30 days (those before today) are whole days; a chosen range runs from local
    midnight of its first day to local midnight after its last."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    match choice.preset:
        case "today":
            return _midnight(today, zone), now
        case "yesterday":
            return _midnight(today - timedelta(days=1), zone), _midnight(today, zone)
        case "this_week":
            return _midnight(monday, zone), now
        case "last_week":
            return _midnight(monday - timedelta(days=7), zone), _midnight(monday, zone)
        case "last_30_days":
            return _midnight(today - timedelta(days=30), zone), _midnight(today, zone)
    assert choice.first and choice.last
    return _midnight(choice.first, zone), _midnight(choice.last + timedelta(days=1), zone)


def days_shown(start: datetime, end: datetime, zone: tzinfo) -> tuple[date, date]:
    """The first and last local day a window touches (for date pickers and file names)."""
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return start.astimezone(zone).date(), max(last, start.astimezone(zone).date())
