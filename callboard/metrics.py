"""Every figure Callboard shows, defined once. ``docs/metrics.md`` explains the same definitions.

The database returns counts (``db/queries/live.sql``); this module turns counts into the
figures shown on screen and served by the API. Rates are fractions in [0, 1]; a rate whose
denominator is zero is ``None`` (shown as "–"), never 0. Durations are seconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from .shifts import Shift, occurrences

# The agent score's components and their default weights (docs/metrics.md).
SCORE_WEIGHTS = {"on_time_rate": 25, "csat": 25, "resolution_rate": 25, "hold_discipline": 15,
                 "callbacks_on_time_rate": 10}


@dataclasses.dataclass(frozen=True)
class Thresholds:
    answer_target_s: float = 15.0
    hold_limit_s: float = 60.0
    short_abandon_s: float = 5.0
    score_weights: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(SCORE_WEIGHTS))
    # Colours of on-time answer rate and service level on screen: amber below the first, red below the second.
    rate_amber_below: float = 0.8
    rate_red_below: float = 0.6


def rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def queue_figures(queue: str, counts: Mapping[str, Any], waiting: int, oldest_queued_at: datetime | None,
                  now: datetime, *, talking: int = 0, holding: int = 0,
                  members: Mapping[str, int] | None = None) -> dict[str, Any]:
    """One queue's live tile from its counts, its callers waiting now, its calls in progress
    (``talking``), those of them on hold now (``holding``) and its members by state (``members``:
    :func:`member_counts`; ``None`` while the feed has not said who takes the queue's calls)."""
    return {
        "queue": queue,
        "waiting": waiting,
        "longest_wait_s": elapsed_s(oldest_queued_at, now) if oldest_queued_at else None,
        **window_figures(counts),
        "on_call": talking,
        "on_hold": holding,
        "members": members,
    }


def queue_totals(tiles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The "All queues" tile of some queues' tiles (every queue, or those a wall shows): their
    counts added, and the figures formed from the sums as for one queue."""
    waits = [tile["longest_wait_s"] for tile in tiles if tile["longest_wait_s"] is not None]
    return {
        "waiting": sum(tile["waiting"] for tile in tiles),
        "longest_wait_s": max(waits, default=None),
        **window_figures(add_counts(tiles)),
        "on_call": sum(tile["on_call"] for tile in tiles),
        "on_hold": sum(tile["on_hold"] for tile in tiles),
    }


AGENT_STATES = ("available", "on_call", "after_call_work", "break", "not_ready")


def agent_counts(agents: Iterable[Mapping[str, Any]], holds: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many of ``agents`` are in each state now, and how many of them have a call on hold
    (``on_hold``: agents of ``holds``, also counted in ``on_call``). A state the feed invents is
    not counted here."""
    agents = list(agents)
    counts = {state: sum(agent["state"] == state for agent in agents) for state in AGENT_STATES}
    shown = {agent["agent"] for agent in agents}
    counts["on_hold"] = len({hold["agent"] for hold in holds if hold["agent"] in shown})
    return counts


def member_counts(members: Collection[str], agents: Iterable[Mapping[str, Any]],
                  holds: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """A queue's members (the agent ids of its latest ``queue.members``) among ``agents`` (those
    not logged out, with their latest state), counted by state as :func:`agent_counts` counts them."""
    members = set(members)
    return agent_counts((agent for agent in agents if agent["agent"] in members), holds)


def window_figures(counts: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of the calls decided in one window (a live tile's, or one trends bucket's).

    Answer seconds may come as an exact decimal sum (however the window was cut, the same sum);
    the figures are made from it, then given as floats.
    """
    answered, abandoned, short = counts["answered"], counts["abandoned"], counts["short_abandoned"]
    counted = answered + abandoned - short
    asa_s = rate(counts["answer_seconds"], answered)
    return {
        "offered": counts["offered"],
        "answered": answered,
        "answered_on_time": counts["answered_on_time"],
        "answer_seconds": float(counts["answer_seconds"]),
        "abandoned": abandoned,
        "short_abandoned": short,
        "asa_s": None if asa_s is None else float(asa_s),
        "on_time_rate": rate(counts["answered_on_time"], answered),
        "service_level": rate(counts["answered_on_time"], counted),
        "abandon_rate": rate(abandoned - short, counted),
    }


BUCKETS = ("15m", "1h", "1d", "1w", "1mo", "shift")
_CLOCK_STEPS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}


def bucket_spans(start: datetime, end: datetime, bucket: str, zone: tzinfo,
                 shifts: Sequence[Shift]) -> list[tuple[datetime, datetime, str | None]]:
    """The buckets of [start, end) in order: (start, end, the shift's name for shift buckets), in UTC.

    Buckets follow the site's clock: quarter hours and hours start on the local quarter or hour,
    days at local midnight, weeks at midnight starting Monday, months at midnight on the 1st (so a
    day is 23 or 25 hours long when the clocks change). These cover the window, the first one
    beginning at ``start`` and the last ending at ``end`` (those two may be shorter than the rest).
    Shift buckets are the runs of the named shifts (``callboard/shifts.py``), clipped to the
    window: they leave out the hours no shift covers and may overlap where shifts do.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if bucket == "shift":
        return [(o.start, o.end, o.shift) for o in occurrences(shifts, start, end, zone)]
    boundaries: list[datetime] = []
    if bucket in _CLOCK_STEPS:
        step = _CLOCK_STEPS[bucket]
        local = start.astimezone(zone)
        minute = local.minute - local.minute % 15 if bucket == "15m" else 0
        moment = local.replace(minute=minute, second=0, microsecond=0).astimezone(UTC)
        while moment < end:
            boundaries.append(moment)
            moment += step
    elif bucket in ("1d", "1w", "1mo"):
        day = start.astimezone(zone).date()
        day = {"1d": day, "1w": day - timedelta(days=day.weekday()), "1mo": day.replace(day=1)}[bucket]
        while day <= end.astimezone(zone).date():
            boundaries.append(datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC))
            day = _next_day(day, bucket)
    else:
        raise ValueError(f"unknown bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    starts = [start] + [moment for moment in boundaries if start < moment < end]
    return [(a, b, None) for a, b in zip(starts, [*starts[1:], end], strict=True)]


def _next_day(day: date, bucket: str) -> date:
    if bucket == "1d":
        return day + timedelta(days=1)
    if bucket == "1w":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def span_counts(groups: Sequence[Sequence[tuple[datetime, datetime]]], boundaries: Sequence[datetime],
                rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> list[dict[str, Any]]:
    """Each group's counts: the sums of ``rows`` (counted per piece of time between consecutive
    ``boundaries``, piece n being row ``bucket`` = n, from 1) over the pieces its parts of time
    cover. Counts are additive, so a group's sums are what counting over its parts at once gives."""
    by_piece: dict[int, dict[str, Any]] = {}
    for row in rows:
        piece = by_piece.setdefault(row["bucket"], dict.fromkeys(fields, 0))
        for field in fields:
            piece[field] += row[field]
    index = {moment: n for n, moment in enumerate(boundaries, 1)}
    totals = []
    for parts in groups:
        total = dict.fromkeys(fields, 0)
        for part_start, part_end in parts:
            for piece in range(index[part_start], index[part_end]):
                for field in fields:
                    total[field] += by_piece.get(piece, {}).get(field, 0)
        totals.append(total)
    return totals


# Counts per bucket of the trends beside the queue counts: holds and callbacks (trends.floor_counts).
FLOOR_COUNT_FIELDS = ("holds", "holds_over_limit", "callbacks_due", "callbacks_on_time", "repeats")


def floor_window_figures(counts: Mapping[str, Any]) -> dict[str, Any]:
    """Holds and promised callbacks decided in one window, as for an agent (agent_figures), for a
    whole floor, queue or team."""
    return {
        "holds": counts["holds"],
        "holds_over_limit": counts["holds_over_limit"],
        "hold_discipline": None if not counts["holds"] else 1 - counts["holds_over_limit"] / counts["holds"],
        "callbacks_due": counts["callbacks_due"],
        "callbacks_on_time": counts["callbacks_on_time"],
        "callbacks_missed": counts["callbacks_due"] - counts["callbacks_on_time"],
        "callbacks_on_time_rate": rate(counts["callbacks_on_time"], counts["callbacks_due"]),
        "repeat_calls": counts["repeats"],
    }


QUEUE_COUNT_FIELDS = ("offered", "answered", "answered_on_time", "answer_seconds", "abandoned", "short_abandoned")
# The counts of live.agent_counts that agent_figures reads.
AGENT_COUNT_FIELDS = ("answered", "answered_on_time", "answer_seconds", "handled", "resolution_known", "resolved",
                      "agent_released", "surveys", "satisfied", "holds", "holds_over_limit", "callbacks_due",
                      "callbacks_on_time", "repeats")


def add_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    totals = dict.fromkeys(QUEUE_COUNT_FIELDS, 0)
    for row in rows:
        for field in QUEUE_COUNT_FIELDS:
            totals[field] += row[field]
    return totals


def add_agent_counts(parts: Iterable[Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Per agent, the counts of the pieces of one window added up (each piece: rows of
    ``live.agent_counts``, or per-day totals summed): the counts of the whole window.

    Answer seconds come as exact decimals and are added exactly, then made a float: the figures
    are the same however the window is cut.
    """
    totals: dict[str, dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            agent = totals.get(row["agent"])
            if agent is None:
                totals[row["agent"]] = dict(row)  # who, and the counts (other columns are not read)
            else:
                for field in AGENT_COUNT_FIELDS:
                    agent[field] += row[field]
    for agent in totals.values():
        agent["answer_seconds"] = float(agent["answer_seconds"])
    return list(totals.values())


def agent_figures(counts: Mapping[str, Any], t: Thresholds) -> dict[str, Any]:
    """One agent's scores from the counts of ``live.agent_counts``."""
    figures = {
        "agent": counts["agent"],
        "name": counts["name"],
        "team": counts["team"],
        "answered": counts["answered"],
        "asa_s": rate(counts["answer_seconds"], counts["answered"]),
        "on_time_rate": rate(counts["answered_on_time"], counts["answered"]),
        "surveys": counts["surveys"],
        "csat": rate(counts["satisfied"], counts["surveys"]),
        "handled": counts["handled"],
        "resolution_rate": rate(counts["resolved"], counts["resolution_known"]),
        "holds": counts["holds"],
        "holds_over_limit": counts["holds_over_limit"],
        "hold_discipline": None if not counts["holds"] else 1 - counts["holds_over_limit"] / counts["holds"],
        "callbacks_due": counts["callbacks_due"],
        "callbacks_on_time": counts["callbacks_on_time"],
        "callbacks_on_time_rate": rate(counts["callbacks_on_time"], counts["callbacks_due"]),
        "agent_hangup_rate": rate(counts["agent_released"], counts["handled"]),
        "repeat_calls": counts["repeats"],
    }
    figures["score"] = agent_score(figures, t.score_weights)
    return figures


def agent_score(components: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """0–100: the weighted mean of the components that have data; ``None`` if none has."""
    total_weight = weighted = 0.0
    for name, weight in weights.items():  # a plain loop: scorecards score tens of thousands of agent-days
        value = components.get(name)
        if value is not None:
            total_weight += weight
            weighted += weight * value
    return 100 * weighted / total_weight if total_weight else None


def start_of_day(now: datetime, zone: tzinfo) -> datetime:
    """Local midnight of ``now``'s day in the site's ``zone``: where "today" begins for every figure."""
    return now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)


def score_ranks(agents: Iterable[Mapping[str, Any]]) -> dict[str, int | None]:
    """Each agent's place by score, highest first: one more than the number of agents who scored
    higher, so equal scores share a place (1, 2, 2, 4). An agent without a score has no place."""
    scores = sorted((a["score"] for a in agents if a["score"] is not None), reverse=True)
    return {a["agent"]: None if a["score"] is None else scores.index(a["score"]) + 1 for a in agents}


def rank_change(rank: int | None, previous_rank: int | None) -> int | None:
    """Places gained since the previous period (negative: lost); none without both places."""
    return None if rank is None or previous_rank is None else previous_rank - rank


def elapsed_s(since: datetime, now: datetime) -> float:
    """Seconds from ``since`` to ``now``: a hold's age, time in state, a caller's wait."""
    return max(0.0, (now - since).total_seconds())


def abandon(queued_at: datetime, abandoned_at: datetime, t: Thresholds) -> dict[str, Any]:
    """How long an abandoned caller waited, and whether that makes a short abandon (left out of
    service level and abandon rate): less than the short-abandon time, as in ``live.queue_counts``."""
    waited_s = (abandoned_at - queued_at).total_seconds()
    return {"waited_s": waited_s, "short": waited_s < t.short_abandon_s}


def hold_over_limit(hold_s: float, t: Thresholds) -> bool:
    """A hold is over the limit once it has lasted longer than the limit (not at exactly the limit)."""
    return hold_s > t.hold_limit_s


def callback_deadline(due: datetime, now: datetime) -> dict[str, Any]:
    """Time left until a promised callback (negative once overdue); overdue from the due instant on."""
    return {"seconds_left": (due - now).total_seconds(), "overdue": due <= now}


def complaint_progress(due: datetime | None, callback_at: datetime | None, closed_at: datetime | None,
                       now: datetime) -> dict[str, Any]:
    """Where a complaint stands: ``open`` (no callback made, not closed, not yet due), ``overdue``
    (the same, past ``due``), ``called_back`` or ``closed``; the time left only while it waits."""
    if closed_at is not None or callback_at is not None:
        return {"seconds_left": None, "overdue": False, "status": "closed" if closed_at else "called_back"}
    if due is None:
        return {"seconds_left": None, "overdue": False, "status": "open"}
    deadline = callback_deadline(due, now)
    return {**deadline, "status": "overdue" if deadline["overdue"] else "open"}


COMPLAINT_STATUSES = ("open", "overdue", "all")


def is_stale(last_commit_at: datetime | None, heartbeat_at: datetime | None, feeds_connected: bool,
             now: datetime, stale_after_s: float) -> bool:
    """No event stored yet, a feed down, or the ingest silent for longer than ``stale_after_s``."""
    return (last_commit_at is None or not feeds_connected or heartbeat_at is None
            or (now - heartbeat_at).total_seconds() > stale_after_s)


def feed_down_s(connected: bool, status_changed_at: datetime, heartbeat_at: datetime | None,
                now: datetime) -> float:
    """How long a feed has been without data: since it disconnected (0 while connected) or since the
    ingest's last heartbeat for it (since its status last changed when it never sent one), whichever
    is longer."""
    disconnected_s = 0.0 if connected else elapsed_s(status_changed_at, now)
    return max(disconnected_s, elapsed_s(heartbeat_at or status_changed_at, now))
