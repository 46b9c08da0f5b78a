"""The managers' reads: how past windows went, bucket by bucket, with their comparisons.

Like :mod:`dashboard.data` (the live reads), it runs named queries that count, and forms every
figure from the counts with :mod:`callboard.metrics`. A window's buckets are counted in one
query per kind of count over the pieces of time between every bucket boundary; a bucket's counts
are the sums of its pieces (counts add up), so buckets that leave gaps or overlap (shifts) cost
no more than ones that tile the window.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import asyncpg

from callboard import metrics
from callboard.shifts import Shift, occurrences
from db.queries import QUERIES

Part = tuple[datetime, datetime]


class History:
    def __init__(self, pool: asyncpg.Pool, thresholds: metrics.Thresholds, zone: tzinfo,
                 shifts: Sequence[Shift]) -> None:
        self._pool = pool
        self._t = thresholds
        self._zone = zone
        self._shifts = tuple(shifts)

    @property
    def shift_names(self) -> list[str]:
        return [shift.name for shift in self._shifts]

    async def trends(self, start: datetime, end: datetime, bucket: str, queues: Sequence[str] | None = None,
                     team: str | None = None, shift: str | None = None,
                     now: datetime | None = None) -> dict[str, Any]:
        """The figures of each bucket of [start, end), of the whole window and of the window just
        before it (as long), and of each shift across the window.

        ``queues`` counts those queues' calls (and their calls' holds and callbacks) only;
        ``team`` the holds and callbacks of that team's agents (queue figures stay the queues':
        a waiting caller belongs to no team); ``shift`` only the time that shift runs.
        """
        now = now or datetime.now(UTC)
        spans = metrics.bucket_spans(start, end, bucket, self._zone, self._shifts)
        previous_start = start - (end - start)
        whole: list[Part] = [(start, end)]
        by_shift = [(s.name, [(o.start, o.end) for o in occurrences([s], start, end, self._zone)])
                    for s in self._shifts]
        groups = ([self._within_shift([(a, b)], shift) for a, b, _ in spans]
                  + [self._within_shift(whole, shift), self._within_shift([(previous_start, start)], shift)]
                  + [parts for _, parts in by_shift])
        figures = await self._figures(groups, list(queues or []) or None, team, now)
        n = len(spans)
        local = self._local
        return {
            "from": local(start), "to": local(end), "bucket": bucket, "queues": list(queues or []),
            "team": team, "shift": shift,
            "buckets": [{"start": local(a), "end": local(b), **({"shift": name} if name else {}), **f}
                        for (a, b, name), f in zip(spans, figures[:n], strict=True)],
            "totals": figures[n],
            "previous": {"from": local(previous_start), "to": local(start), **figures[n + 1]},
            "shifts": [{"shift": name, **f} for (name, _), f in zip(by_shift, figures[n + 2:], strict=True)],
        }

    async def weekday_hours(self, start: datetime, end: datetime, queues: Sequence[str] | None = None,
                            team: str | None = None, shift: str | None = None,
                            now: datetime | None = None) -> dict[str, Any]:
        """The figures of each local weekday and hour of the day across [start, end): the hours
        of every Monday 09:00-10:00 of the window together, and so on (a heat map's cells)."""
        now = now or datetime.now(UTC)
        hours = metrics.bucket_spans(start, end, "1h", self._zone, self._shifts)
        cells: dict[tuple[int, int], list[Part]] = collections.defaultdict(list)
        for a, b, _ in hours:
            local = a.astimezone(self._zone)
            cells[(local.weekday(), local.hour)].extend(self._within_shift([(a, b)], shift))
        keys = sorted(cells)
        figures = await self._figures([cells[key] for key in keys], list(queues or []) or None, team, now)
        return {"from": self._local(start), "to": self._local(end), "queues": list(queues or []), "team": team,
                "shift": shift,
                "cells": [{"weekday": day, "hour": hour, **f} for (day, hour), f in zip(keys, figures, strict=True)]}

    async def choices(self, start: datetime, end: datetime) -> dict[str, list[str]]:
        """What the trends' filters offer: the queues with calls queued in [start, end), every team."""
        async with self._pool.acquire() as conn:
            queues = await conn.fetch(QUERIES["trends.queues_offered"], start, end)
            teams = await conn.fetch(QUERIES["trends.teams"])
        return {"queues": [row["queue"] for row in queues], "teams": [row["team"] for row in teams]}

    def _within_shift(self, parts: list[Part], shift: str | None) -> list[Part]:
        """The parts of time of ``parts`` that shift ``shift`` covers (all of them without one)."""
        if shift is None:
            return parts
        chosen = [s for s in self._shifts if s.name == shift]
        return [(max(a, o.start), min(b, o.end)) for a, b in parts
                for o in occurrences(chosen, a, b, self._zone) if o.start < o.end]

    async def _figures(self, groups: list[list[Part]], queues: list[str] | None, team: str | None,
                       now: datetime) -> list[dict[str, Any]]:
        """For each group of parts of time, the queue and floor figures of the calls, holds and
        callbacks decided in those parts, counted once per piece of time between any two boundaries:
        from the quarter-hour totals where a piece is whole quarters of rolled-up days, else from
        the calls (the same counts either way)."""
        boundaries = sorted({moment for parts in groups for part in parts for moment in part})
        if len(boundaries) < 2:
            empty_queue = dict.fromkeys(metrics.QUEUE_COUNT_FIELDS, 0)
            empty_floor = dict.fromkeys(metrics.FLOOR_COUNT_FIELDS, 0)
            return [{**metrics.window_figures(empty_queue), **metrics.floor_window_figures(empty_floor)}
                    for _ in groups]
        t = self._t
        judged_at = min(now, boundaries[-1])
        queue_rows: list[dict[str, Any]] = []
        floor_rows: list[dict[str, Any]] = []
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            rolled = [row["day"] for row in await conn.fetch(  # the days of the window with quarter totals
                QUERIES["rollup.days_with_quarters"], boundaries[0].astimezone(UTC).date(),
                judged_at.astimezone(UTC).date() + timedelta(days=1), t.answer_target_s, t.hold_limit_s,
                t.short_abandon_s)]
            boundaries, from_quarters = quarter_pieces(boundaries, rolled)
            for first, last in raw_runs(len(boundaries) - 1, from_quarters):
                run = boundaries[first:last]
                queue_rows += _shifted(await conn.fetch(QUERIES["live.queue_counts"], run, boundaries[last],
                                                        t.answer_target_s, t.short_abandon_s, queues), first)
                floor_rows += _shifted(await conn.fetch(QUERIES["trends.floor_counts"], run, boundaries[last],
                                                        t.hold_limit_s, judged_at, queues, team), first)
            if from_quarters:
                window = (boundaries[:-1], boundaries[-1], rolled, queues)
                queue_rows += [row for row in await conn.fetch(QUERIES["rollup.queue_counts_of_quarters"], *window)
                               if row["bucket"] in from_quarters]
                rows = (await conn.fetch(QUERIES["rollup.floor_counts_of_quarters"], *window) if team is None else
                        await conn.fetch(QUERIES["rollup.team_floor_counts_of_quarters"], *window, team))
                floor_rows += [row for row in rows if row["bucket"] in from_quarters]
        queue_counts = metrics.span_counts(groups, boundaries, queue_rows, metrics.QUEUE_COUNT_FIELDS)
        floor_counts = metrics.span_counts(groups, boundaries, floor_rows, metrics.FLOOR_COUNT_FIELDS)
        return [{**metrics.window_figures(q), **metrics.floor_window_figures(f)}
                for q, f in zip(queue_counts, floor_counts, strict=True)]

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self._zone).isoformat()


QUARTER = timedelta(minutes=15)


def _floor_quarter(moment: datetime) -> datetime:
    return moment - timedelta(seconds=moment.timestamp() % QUARTER.total_seconds())


def _ceil_quarter(moment: datetime) -> datetime:
    floor = _floor_quarter(moment)
    return floor if floor == moment else floor + QUARTER


def quarter_pieces(boundaries: list[datetime], rolled_days: Sequence[date]) -> tuple[list[datetime], set[int]]:
    """``boundaries`` with more added, and the pieces between them (numbered from 1, as the queries'
    buckets) that are whole UTC quarter hours of ``rolled_days``: those can be read from the
    quarter-hour totals, the others from the calls. Each boundary of the window that is not on a
    quarter hour gets the quarter hours on either side of it, so only those two short pieces
    around it are counted from the calls."""
    start, end = boundaries[0], boundaries[-1]
    runs: list[Part] = []
    for day in sorted(rolled_days):
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if runs and runs[-1][1] == day_start:
            runs[-1] = (runs[-1][0], day_start + timedelta(days=1))
        else:
            runs.append((day_start, day_start + timedelta(days=1)))
    quarters = [(_ceil_quarter(max(a, start)), _floor_quarter(min(b, end))) for a, b in runs]
    quarters = [(a, b) for a, b in quarters if a < b]
    added = {moment for run in quarters for moment in run}
    added |= {edge(moment) for moment in boundaries if moment != _floor_quarter(moment)
              for edge in (_floor_quarter, _ceil_quarter) if start < edge(moment) < end}
    refined = sorted(set(boundaries) | added)
    whole = {n for n, (a, b) in enumerate(itertools.pairwise(refined), 1)
             if a == _floor_quarter(a) and b == _floor_quarter(b) and any(qa <= a and b <= qb for qa, qb in quarters)}
    return refined, whole


def raw_runs(pieces: int, from_quarters: set[int]) -> list[tuple[int, int]]:
    """The runs of consecutive pieces (1 to ``pieces``) not in ``from_quarters``, as (first, last)
    indices into the boundaries: a run spans boundaries[first] to boundaries[last]."""
    runs: list[tuple[int, int]] = []
    for piece in range(1, pieces + 1):
        if piece in from_quarters:
            continue
        if runs and runs[-1][1] == piece - 1:
            runs[-1] = (runs[-1][0], piece)
        else:
            runs.append((piece - 1, piece))
    return runs


def _shifted(rows: list[asyncpg.Record], offset: int) -> list[dict[str, Any]]:
    """Rows of a query run over a run of pieces, numbered as pieces of the whole window."""
    return [{**row, "bucket": row["bucket"] + offset} for row in rows]
