"""The on-call rota: who is on call at an instant, level by level, in the site's time zone.

The rota is a TOML file (``CALLBOARD_ROTA``; format in docs/alerts.md): people with the channels
that reach them, and shifts, each a person at an escalation level (``lead``, then ``backup``, then
``manager`` unless the file names its own levels) on some weekdays from a local start time to a
local end time. A shift whose end is not after its start ends on the next day (``22:00``-``06:00``);
``00:00``-``24:00`` is the whole day.

Local times are the site's wall-clock times: on the day clocks go forward, a 22:00-06:00 shift lasts
7 hours; on the day they go back, 9. A start or end that does not exist that day (in the hour the
clocks skip) falls one hour later; one that happens twice (in the hour they repeat) is the first.
A shift starts at its start time and has ended at its end time: at a hand-over, the incoming
person is on call and the outgoing one is not.
"""

from __future__ import annotations

import dataclasses
import datetime
import tomllib
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callboard.settings import LANGUAGES

from .exceptions import AlertsConfigError

UTC = datetime.UTC
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
DEFAULT_LEVELS = ("lead", "backup", "manager")
CHANNELS_WITH_ADDRESSES = ("smtp",)


@dataclasses.dataclass(frozen=True)
class Contact:
    channel: str  # a channel's name, [alerts.channels.NAME]
    address: str | None = None  # for e-mail channels, the person's address


@dataclasses.dataclass(frozen=True)
class Person:
    key: str  # the rota's name for the person, e.g. li-wei; what the outbox records as the recipient
    name: str
    contacts: tuple[Contact, ...]
    language: str | None = None  # None: the site's language


@dataclasses.dataclass(frozen=True)
class Shift:
    person: Person
    level: int  # index into Rota.levels
    days: frozenset[int]  # weekdays on which the shift starts, 0 = Monday
    start: datetime.time
    end: datetime.time

    def span(self, day: datetime.date, zone: zoneinfo.ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
        """The shift that starts on local ``day``, as [start, end) in UTC."""
        end_day = day if self.end > self.start else day + datetime.timedelta(days=1)
        return (datetime.datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC),
                datetime.datetime.combine(end_day, self.end, tzinfo=zone).astimezone(UTC))


@dataclasses.dataclass(frozen=True)
class Recipient:
    """One person on one channel: what a notification row is addressed to."""

    person: str
    channel: str
    address: str | None
    language: str | None


@dataclasses.dataclass(frozen=True)
class Rota:
    zone: zoneinfo.ZoneInfo
    levels: tuple[str, ...]
    people: Mapping[str, Person]
    shifts: tuple[Shift, ...]

    def _spans_near(self, at: datetime.datetime, days_before: int, days_after: int):
        today = at.astimezone(self.zone).date()
        for offset in range(-days_before, days_after + 1):
            day = today + datetime.timedelta(days=offset)
            for shift in self.shifts:
                if day.weekday() in shift.days:
                    yield shift, *shift.span(day, self.zone)

    def on_call(self, at: datetime.datetime) -> list[tuple[str, Person]]:
        """(level, person) of everyone on call at ``at``, by level then in the file's order."""
        found = {(shift.level, shift.person.key): shift.person
                 for shift, start, end in self._spans_near(at, 1, 0) if start <= at < end}
        return [(self.levels[level], person) for (level, _), person in sorted(found.items(), key=lambda i: i[0][0])]

    def escalation_chain(self, at: datetime.datetime) -> list[list[Person]]:
        """The people to notify at each escalation step at ``at``: the first level with anyone on call,
        then the next such level, and so on. Empty when nobody is on call."""
        by_level: dict[int, list[Person]] = {}
        for shift, start, end in self._spans_near(at, 1, 0):
            if start <= at < end and shift.person not in by_level.setdefault(shift.level, []):
                by_level[shift.level].append(shift.person)
        return [by_level[level] for level in sorted(by_level)]

    def recipients(self, at: datetime.datetime, step: int) -> list[Recipient]:
        """Who escalation step ``step`` (0: first) notifies at ``at``, on each of their channels.

        A step past the end of the chain notifies its last level again (the manager stays on it).
        """
        chain = self.escalation_chain(at)
        if not chain:
            return []
        return [Recipient(person.key, contact.channel, contact.address, person.language)
                for person in chain[min(step, len(chain) - 1)] for contact in person.contacts]

    def next_handover(self, after: datetime.datetime) -> datetime.datetime | None:
        """The first instant after ``after`` at which a shift starts or ends (who is on call may change)."""
        edges = [edge for _, start, end in self._spans_near(after, 1, 8) for edge in (start, end) if edge > after]
        return min(edges, default=None)

    def last_handover(self, at: datetime.datetime) -> datetime.datetime | None:
        """The latest instant at or before ``at`` at which a shift started or ended (within two days)."""
        edges = [edge for _, start, end in self._spans_near(at, 2, 0) for edge in (start, end) if edge <= at]
        return max(edges, default=None)


# --- Reading the file ---------------------------------------------------------------------------

def load(path: str | Path, zone: zoneinfo.ZoneInfo, channel_kinds: Mapping[str, str]) -> Rota:
    """Read and check the rota file; ``channel_kinds`` maps each configured channel to its kind."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise AlertsConfigError(f"CALLBOARD_ROTA={str(path)!r} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlertsConfigError(f"CALLBOARD_ROTA={str(path)!r} is not valid TOML: {exc}") from None
    return parse(data, zone, channel_kinds, where=str(path))


def parse(data: Mapping[str, Any], zone: zoneinfo.ZoneInfo, channel_kinds: Mapping[str, str],
          where: str = "the rota") -> Rota:
    def fault(place: str, problem: str) -> AlertsConfigError:
        return AlertsConfigError(f"{where}: {place}: {problem}")

    unknown = sorted(set(data) - {"levels", "people", "shifts"})
    if unknown:
        raise fault(unknown[0], "unknown key; a rota has levels, [people.NAME] and [[shifts]]")
    levels = tuple(data.get("levels", DEFAULT_LEVELS))
    if not levels or not all(isinstance(level, str) and level for level in levels) or len(set(levels)) < len(levels):
        raise fault("levels", "must be distinct names in escalation order, e.g. [\"lead\", \"backup\", \"manager\"]")
    people = {key: _person(key, table, channel_kinds, fault) for key, table in _tables(data, "people", fault)}
    shifts = tuple(_shift(n, table, levels, people, fault) for n, table in enumerate(_list(data, "shifts", fault)))
    return Rota(zone=zone, levels=levels, people=people, shifts=shifts)


def _tables(data, key, fault):
    tables = data.get(key, {})
    if not isinstance(tables, Mapping) or not all(isinstance(t, Mapping) for t in tables.values()):
        raise fault(key, f"must be tables, as [{key}.NAME]")
    return tables.items()


def _list(data, key, fault):
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise fault(key, f"must be an array of tables, as [[{key}]]")
    return entries


def _person(key: str, table: Mapping[str, Any], channel_kinds: Mapping[str, str], fault) -> Person:
    place = f"[people.{key}]"
    unknown = sorted(set(table) - {"name", "language", "contacts"})
    if unknown:
        raise fault(place, f"unknown key {unknown[0]!r}; a person has name, language and contacts")
    language = table.get("language")
    if language is not None and language not in LANGUAGES:
        raise fault(place, f"language must be one of {', '.join(LANGUAGES)}")
    contacts = []
    for n, entry in enumerate(table.get("contacts", [])):
        where = f"{place} contacts[{n}]"
        channel, address = (entry.get("channel"), entry.get("address")) if isinstance(entry, Mapping) else (None, None)
        if channel not in channel_kinds:
            known = ", ".join(sorted(channel_kinds)) or "none are configured"
            raise fault(where, f"channel {channel!r} is not one of the [alerts.channels] ({known})")
        needs_address = channel_kinds[channel] in CHANNELS_WITH_ADDRESSES
        if needs_address and not (isinstance(address, str) and "@" in address):
            raise fault(where, f"channel {channel!r} sends e-mail: give the person's address")
        if not needs_address and address is not None:
            raise fault(where, f"channel {channel!r} posts to one room: it takes no address")
        if set(entry) - {"channel", "address"}:
            raise fault(where, "a contact has channel and, for e-mail, address")
        contacts.append(Contact(channel, address))
    if not contacts:
        raise fault(place, "give at least one contact, e.g. contacts = [{ channel = \"leads-mail\", "
                           "address = \"li.wei@example.com\" }]")
    name = table.get("name", key)
    if not isinstance(name, str) or not name.strip():
        raise fault(place, "name must be a non-empty string")
    return Person(key=key, name=name, contacts=tuple(contacts), language=language)


def _time(text: Any, place: str, key: str, fault) -> datetime.time:
    if text == "24:00":
        return datetime.time(0, 0)
    try:
        if not isinstance(text, str):
            raise ValueError
        return datetime.time.fromisoformat(text)
    except ValueError:
        raise fault(place, f"{key} must be a local time such as \"07:00\" (or \"24:00\" as an end)") from None


def _shift(n: int, table: Mapping[str, Any], levels: tuple[str, ...], people: Mapping[str, Person],
           fault) -> Shift:
    place = f"shifts[{n}]"
    unknown = sorted(set(table) - {"person", "level", "days", "start", "end"})
    if unknown:
        raise fault(place, f"unknown key {unknown[0]!r}; a shift has person, level, days, start and end")
    person = table.get("person")
    if person not in people:
        raise fault(place, f"person {person!r} is not one of [people] ({', '.join(sorted(people)) or 'none'})")
    level = table.get("level", levels[0])
    if level not in levels:
        raise fault(place, f"level {level!r} is not one of the levels ({', '.join(levels)})")
    days = table.get("days", list(DAYS))
    if not isinstance(days, list) or not days or not all(day in DAYS for day in days):
        raise fault(place, f"days must be some of {', '.join(DAYS)}, e.g. [\"mon\", \"tue\"]")
    for key in ("start", "end"):
        if key not in table:
            raise fault(place, f"{key} is missing (local time such as \"07:00\")")
    return Shift(person=people[person], level=levels.index(level), days=frozenset(DAYS.index(d) for d in days),
                 start=_time(table["start"], place, "start", fault), end=_time(table["end"], place, "end", fault))
