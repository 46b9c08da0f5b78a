"""The dashboard's one door to the database: named queries in, figures (via metrics) out.

The live snapshot (the wall and ``/api/v1/live``) and the reports of the JSON API read the same
named queries and form their figures with the same functions of :mod:`callboard.metrics`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import asyncpg

from callboard import metrics, privacy
from db.pool import connection
from db.queries import QUERIES

from .alert_data import PeopleNames, alert_view


def select(snapshot: dict[str, Any] | None, queues: Sequence[str] | None = None,
           team: str | None = None, agent: str | None = None) -> dict[str, Any] | None:
    """The part of a live snapshot that a page shows.

    ``queues``: those queues' tiles (a queue with nothing yet today shows zeros), an All tile
    totalling just them (by the same code as every queue's), their holds and abandoned calls.
    ``team``: that team's agents, counted by state, their holds and their complaints. ``queues``
    leaves the agents alone (an agent may take several queues' calls; each queue's tile counts its
    own members); queue figures, its members' counts among them, are not per team.
    ``agent``: that agent alone, with their holds and complaints (as ``team`` does for a team).
    """
    if not snapshot or not (queues or team or agent):
        return snapshot
    chosen = dict(snapshot)
    if queues:
        tiles = {tile["queue"]: tile for tile in snapshot["queues"]}
        as_of = datetime.fromisoformat(snapshot["as_of"])
        empty = dict.fromkeys(metrics.QUEUE_COUNT_FIELDS, 0)
        chosen["queues"] = [tiles.get(queue) or metrics.queue_figures(queue, empty, 0, None, as_of)
                            for queue in queues]
        chosen["totals"] = metrics.queue_totals(chosen["queues"])
        chosen["abandoned_calls"] = [a for a in snapshot["abandoned_calls"] if a["queue"] in queues]
        chosen["holds_open"] = [h for h in chosen["holds_open"] if h["queue"] in queues]
    if team:
        chosen["agents"] = [a for a in snapshot["agents"] if a["team"] == team]
        chosen["holds_open"] = [h for h in chosen["holds_open"] if h["team"] == team]
        chosen["complaints_open"] = [c for c in snapshot["complaints_open"] if c["team"] == team]
        chosen["agent_counts"] = metrics.agent_counts(chosen["agents"], chosen["holds_open"])
    if agent:
        chosen["agents"] = [a for a in chosen["agents"] if a["agent"] == agent]
        chosen["holds_open"] = [h for h in chosen["holds_open"] if h["agent"] == agent]
        chosen["complaints_open"] = [c for c in chosen["complaints_open"] if c["agent"] == agent]
        chosen["agent_counts"] = metrics.agent_counts(chosen["agents"], chosen["holds_open"])
    shown = {(h["feed"], h["call_id"]) for h in chosen["holds_open"]}
    chosen["holds_over_limit"] = [h for h in snapshot["holds_over_limit"] if (h["feed"], h["call_id"]) in shown]
    return chosen


# One live snapshot is pushed to every open page, the wall's among them, and served by the JSON
# API: it shows personal data only masked, whoever looks (docs/security.md, "Personal data").
SNAPSHOT_SHOWS_PERSONAL_DATA = False
# The live snapshot lists at most this many of each queue's latest abandoned calls.
ABANDONED_LISTED = 50
# The floor view's drill-down lists at most this many of an agent's calls of the day.
AGENT_CALLS_LISTED = 300


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def whole_utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days that lie wholly inside [start, end)."""
    first = start.astimezone(UTC).date()
    if _utc_midnight(first) < start:
        first += timedelta(days=1)
    last = end.astimezone(UTC).date()  # the first day not wholly inside
    return [first + timedelta(days=n) for n in range((last - first).days)]


def raw_pieces(start: datetime, end: datetime, days: Sequence[date]) -> Iterator[tuple[datetime, datetime]]:
    """What is left of [start, end) without the (sorted, whole) UTC ``days``: at most one piece
    before, between and after them, each as long as it can be."""
    at = start
    for day in days:
        if _utc_midnight(day) > at:
            yield at, _utc_midnight(day)
        at = _utc_midnight(day + timedelta(days=1))
    if at < end:
        yield at, end


@dataclasses.dataclass(frozen=True, slots=True)
class FloorRows:
    """The rows a live snapshot is assembled from, shaped as the named queries of live.sql give them."""

    counts: Sequence[Mapping[str, Any]]  # live.queue_counts: per queue
    waiting: Sequence[Mapping[str, Any]]  # live.waiting
    talking: Mapping[str | None, int]  # live.calls_talking, by queue
    holds: Sequence[Mapping[str, Any]]  # live.open_holds, in its order
    abandoned: Sequence[Mapping[str, Any]]  # live.abandoned_calls, in its order
    complaints: Sequence[Mapping[str, Any]]  # live.open_complaints, in its order
    states: Sequence[Mapping[str, Any]]  # live.agent_states_now
    members: Mapping[str, Sequence[str]]  # live.queue_members, by queue
    agent_figures: Mapping[str, Mapping[str, Any]]  # by agent: metrics.agent_figures of live.agent_counts
    freshness: Mapping[str, Any]  # live.freshness
    alerts: Sequence[Mapping[str, Any]]  # alert_views.open_alerts


@dataclasses.dataclass(frozen=True, slots=True)
class FloorParts:
    """A live snapshot's parts before the clock is applied: the queues' rows as in :class:`FloorRows`,
    and the entries listed, each formed from its row by :meth:`LiveData.hold_part` and the like, in
    the snapshot's order, with the moments their clock figures are counted from."""

    counts: Sequence[Mapping[str, Any]]  # live.queue_counts: per queue
    waiting: Sequence[Mapping[str, Any]]  # live.waiting
    talking: Mapping[str | None, int]  # live.calls_talking, by queue
    members: Mapping[str, Sequence[str]]  # live.queue_members, by queue
    holds: Sequence[tuple[Mapping[str, Any], datetime]]  # (hold_part, the hold's start)
    abandoned: Sequence[Mapping[str, Any]]  # abandoned_part
    complaints: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]  # (complaint_part, its row)
    agents: Sequence[tuple[Mapping[str, Any], datetime]]  # (agent_part, when their state began), by name
    freshness: Mapping[str, Any]  # live.freshness
    alerts: Sequence[Mapping[str, Any]]  # alert_views.open_alerts


class LiveData:
    def __init__(self, pool: asyncpg.Pool, thresholds: metrics.Thresholds, zone: tzinfo,
                 stale_after_s: float, people: PeopleNames | None = None) -> None:
        self._pool = pool
        self._people = people or PeopleNames()
        self._t = thresholds
        self._zone = zone
        self._stale_after_s = stale_after_s

    async def snapshot(self, since: datetime | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Everything the live views show, as of ``now``, counting calls decided since ``since``."""
        now = now or datetime.now(UTC)
        since = since or metrics.start_of_day(now, self._zone)
        t = self._t
        # One consistent view of the floor, even while the ingest commits between these reads.
        async with connection(self._pool) as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            counts = await conn.fetch(QUERIES["live.queue_counts"], [since], now, t.answer_target_s,
                                      t.short_abandon_s, None)
            waiting = await conn.fetch(QUERIES["live.waiting"])
            talking = {row["queue"]: row["talking"] for row in await conn.fetch(QUERIES["live.calls_talking"])}
            holds = await conn.fetch(QUERIES["live.open_holds"])
            abandoned = await conn.fetch(QUERIES["live.abandoned_calls"], since, now, ABANDONED_LISTED)
            complaints = await conn.fetch(QUERIES["live.open_complaints"])
            states = await conn.fetch(QUERIES["live.agent_states_now"])
            members = {row["queue"]: row["agents"] for row in await conn.fetch(QUERIES["live.queue_members"])}
            scores = {row["agent"]: row for row in await self._agent_figures(conn, since, now, now,
                                                                             with_repeats=False)}
            freshness, alerts = await self.read_status(conn)
        return self.assemble(FloorRows(counts, waiting, talking, holds, abandoned, complaints, states, members,
                                       scores, freshness, alerts), since, now)

    async def read_status(self, conn: asyncpg.Connection) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
        """What the snapshot shows beside the floor: the ingest's freshness and the open alerts."""
        return await conn.fetchrow(QUERIES["live.freshness"]), await conn.fetch(QUERIES["alert_views.open_alerts"])

    def assemble(self, rows: FloorRows, since: datetime, now: datetime) -> dict[str, Any]:
        """The live snapshot from the floor's rows as the named queries give them, as of ``now``."""
        scores = rows.agent_figures
        return self.compose(FloorParts(
            rows.counts, rows.waiting, rows.talking, rows.members,
            holds=[(self.hold_part(h), h["started_at"]) for h in rows.holds],
            abandoned=[self.abandoned_part(a) for a in rows.abandoned],
            complaints=[(self.complaint_part(row), row) for row in rows.complaints],
            agents=[(self.agent_part(s, scores.get(s["agent"])), s["started_at"])
                    for s in sorted(rows.states, key=lambda r: (r["name"], r["agent"]))],
            freshness=rows.freshness, alerts=rows.alerts), since, now)

    def compose(self, parts: FloorParts, since: datetime, now: datetime) -> dict[str, Any]:
        """The live snapshot from its parts (formed from the named queries' rows by :meth:`assemble`,
        or kept from one refresh to the next by :mod:`dashboard.live_state`), as of ``now``: what
        depends on the clock (how long a hold, a state, a wait has lasted; a callback's time left;
        the queue tiles and the counts of agents) is formed here, at every refresh."""
        t = self._t
        local = self._local
        elapsed_s = metrics.elapsed_s
        holds_open = [{**hold, "hold_s": elapsed_s(started_at, now)} for hold, started_at in parts.holds]
        complaints_open = [{**complaint, **metrics.complaint_progress(row["due"], row["callback_at"],
                                                                       row["closed_at"], now)}
                           for complaint, row in parts.complaints]
        agents = [{**agent, "state_s": elapsed_s(started_at, now)} for agent, started_at in parts.agents]

        holding = collections.Counter(h["queue"] for h in holds_open)
        counts_by_queue = {row["queue"]: row for row in parts.counts}
        waiting_by_queue = {row["queue"]: row for row in parts.waiting}
        talking, members = parts.talking, parts.members
        by_agent = {agent["agent"]: agent for agent in agents} if members else {}
        empty = dict.fromkeys(metrics.QUEUE_COUNT_FIELDS, 0)
        queues = []
        shown = counts_by_queue.keys() | waiting_by_queue.keys() | talking.keys() | members.keys()
        for queue in sorted(shown - {None}):
            wait = waiting_by_queue.get(queue)
            if queue in members:
                # The members among the agents shown: member_counts counts just those of ``agents``.
                mine = {member for member in members[queue] if member in by_agent}
                member_counts = metrics.member_counts(mine, [by_agent[member] for member in mine], holds_open)
            else:
                member_counts = None
            queues.append(metrics.queue_figures(
                queue, counts_by_queue.get(queue, empty),
                wait["waiting"] if wait else 0, wait["oldest_queued_at"] if wait else None, now,
                talking=talking.get(queue, 0), holding=holding[queue], members=member_counts))
        freshness = parts.freshness
        last_commit = freshness["last_commit_at"]
        return {
            "as_of": local(now),
            "since": local(since),
            "data_updated_at": local(last_commit) if last_commit else None,
            "stale": metrics.is_stale(last_commit, freshness["heartbeat_at"], freshness["feeds_connected"], now,
                                      self._stale_after_s),
            "queues": queues,
            "totals": metrics.queue_totals(queues),
            "agent_counts": metrics.agent_counts(agents, holds_open),
            "abandoned_calls": list(parts.abandoned),
            "holds_over_limit": [h for h in holds_open if metrics.hold_over_limit(h["hold_s"], t)],
            "holds_open": holds_open,
            "complaints_open": complaints_open,
            "agents": agents,
            "thresholds": self.thresholds,
            "alerts_open": [alert_view(row, self._zone, self._people.names()) for row in parts.alerts],
        }

    # A snapshot's entries without the clock: each formed by one function, whichever way its row came.

    def hold_part(self, hold: Mapping[str, Any]) -> dict[str, Any]:
        """An open hold (a row of live.open_holds) as listed, all but how long it has lasted."""
        return {"feed": hold["feed"], "call_id": hold["call_id"], "agent": hold["agent"],
                "agent_name": hold["agent_name"], "team": hold["team"], "queue": hold["queue"],
                "started_at": self._local(hold["started_at"])}

    def abandoned_part(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """An abandoned call (a row of live.abandoned_calls) as listed, the caller's number masked."""
        return {"feed": row["feed"], "call_id": row["call_id"], "queue": row["queue"],
                "queued_at": self._local(row["waiting_since"]), "abandoned_at": self._local(row["abandoned_at"]),
                "caller": privacy.shown_number(row["caller"], full=SNAPSHOT_SHOWS_PERSONAL_DATA),
                **metrics.abandon(row["waiting_since"], row["abandoned_at"], self._t)}

    def complaint_part(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A complaint (a row of live.open_complaints) as listed, all but where it stands now."""
        local = self._local_or_none
        return {"feed": row["feed"], "complaint_id": row["complaint_id"], "agent": row["agent"],
                "agent_name": row["agent_name"], "team": row["team"],
                "opened_at": local(row["opened_at"]), "due": local(row["due"]), "severity": row["severity"],
                "callback_made_at": local(row["callback_at"]), "closed_at": local(row["closed_at"]),
                "resolved": row["resolved"]}

    def agent_part(self, state: Mapping[str, Any], figures: Mapping[str, Any] | None) -> dict[str, Any]:
        """An agent shown (a row of live.agent_states_now) with their figures of the day (none
        without counts), all but how long they have been in their state."""
        return {**(figures or metrics.agent_figures(_no_counts(state), self._t)), "state": state["state"],
                "reason": state["reason"], "state_since": self._local(state["started_at"])}

    @property
    def zone(self) -> tzinfo:
        """The site's time zone: where "today" begins."""
        return self._zone

    @property
    def thresholds(self) -> dict[str, float]:
        """The thresholds in force, as the snapshot gives them to the pages."""
        t = self._t
        return {"answer_target_s": t.answer_target_s, "hold_limit_s": t.hold_limit_s,
                "short_abandon_s": t.short_abandon_s, "rate_amber_below": t.rate_amber_below,
                "rate_red_below": t.rate_red_below}

    async def agents(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Every agent with something counted in [start, end): the same figures as the live snapshot's."""
        # One consistent view of the per-day totals, the days marked stale and the calls.
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            figures = await self._agent_figures(conn, start, end, datetime.now(UTC))
        return {"from": self._local(start), "to": self._local(end),
                "agents": sorted(figures, key=lambda a: (a["name"], a["agent"]))}

    async def agent_days(self, start: datetime, end: datetime) -> dict[str, Any]:
        """The agents' scorecards of [start, end): each agent's figures, place by score and the
        change since the window just before (as long), and their figures of each local day.

        Every window read (the whole, the one before, each day) is counted as for ``agents``.
        """
        now = datetime.now(UTC)
        previous_start = start - (end - start)
        days = [(a, b) for a, b, _ in metrics.bucket_spans(start, end, "1d", self._zone, ())]
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            current = await self._agent_figures(conn, start, end, now)
            previous = await self._agent_figures(conn, previous_start, start, now)
            by_day = [{row["agent"]: row for row in figures}
                      for figures in await self._agent_figures_of_days(conn, days, now)]
        ranks, previous_ranks = metrics.score_ranks(current), metrics.score_ranks(previous)
        previous_scores = {row["agent"]: row["score"] for row in previous}
        local = self._local
        spans = [{"start": local(a), "end": local(b)} for a, b in days]
        # A day an agent has nothing counted on: the same figures for everyone.
        idle = metrics.agent_figures({**dict.fromkeys(metrics.AGENT_COUNT_FIELDS, 0), "agent": "", "name": "",
                                      "team": None}, self._t)
        agents = []
        for figures in sorted(current, key=lambda a: (a["name"], a["agent"])):
            agent = figures["agent"]
            agents.append({
                **figures, "rank": ranks[agent], "previous_score": previous_scores.get(agent),
                "previous_rank": previous_ranks.get(agent),
                "rank_change": metrics.rank_change(ranks[agent], previous_ranks.get(agent)),
                "days": [_day(span, day.get(agent, idle)) for span, day in zip(spans, by_day, strict=True)],
            })
        return {"from": local(start), "to": local(end),
                "previous": {"from": local(previous_start), "to": local(start)}, "agents": agents}

    async def complaints(self, status: str, start: datetime, end: datetime,
                         now: datetime | None = None) -> dict[str, Any]:
        """Complaints waiting for a callback (``open``), those of them past due (``overdue``), or
        every complaint opened in [start, end) (``all``)."""
        now = now or datetime.now(UTC)
        async with self._pool.acquire() as conn:
            if status == "all":
                rows = await conn.fetch(QUERIES["live.complaints_opened"], start, end)
            else:
                rows = await conn.fetch(QUERIES["live.open_complaints"])
        complaints = [self._complaint(row, now) for row in rows]
        if status == "overdue":
            complaints = [c for c in complaints if c["overdue"]]
        window = {"from": self._local(start), "to": self._local(end)} if status == "all" else {}
        return {"as_of": self._local(now), "status": status, **window, "complaints": complaints}

    async def agent_calls(self, agent: str, now: datetime | None = None) -> dict[str, Any]:
        """The calls ``agent`` answered or ended today (site time), newest first, at most
        :data:`AGENT_CALLS_LISTED`: the floor view's drill-down."""
        now = now or datetime.now(UTC)
        since = metrics.start_of_day(now, self._zone)
        async with self._pool.acquire() as conn:
            name = await conn.fetchval(QUERIES["floor.agent_name"], agent)
            rows = await conn.fetch(QUERIES["floor.agent_calls"], agent, since, now, AGENT_CALLS_LISTED)
        local = self._local_or_none
        calls = [{
            "feed": r["feed"], "call_id": r["call_id"], "queue": r["queue"], "queued_at": local(r["queued_at"]),
            "answered_at": local(r["answered_at"]), "answered_by_agent": r["answered_by"] == agent,
            "ended_at": local(r["ended_at"]), "ended_by_agent": r["last_agent"] == agent,
            "waited_s": metrics.elapsed_s(r["queued_at"], r["answered_at"])
            if r["queued_at"] and r["answered_at"] else None,
            "released_by": r["released_by"], "resolved": r["resolved"], "disposition": r["disposition"],
            "holds": r["holds"], "longest_hold_s": r["longest_hold_s"], "survey_score": r["survey_score"],
        } for r in rows]
        return {"agent": agent, "name": name, "since": self._local(since), "as_of": self._local(now), "calls": calls}

    async def call_timeline(self, feed: str, call_id: str) -> list[dict[str, Any]]:
        """Every stored event of one call of ``feed``, in order, without the caller's number."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(QUERIES["floor.call_timeline"], feed, call_id)
        return [{**dict(r), "ts": self._local(r["ts"])} for r in rows]

    def _complaint(self, row: asyncpg.Record, now: datetime) -> dict[str, Any]:
        return {**self.complaint_part(row),
                **metrics.complaint_progress(row["due"], row["callback_at"], row["closed_at"], now)}

    async def _agent_figures(self, conn: asyncpg.Connection, start: datetime, end: datetime,
                             now: datetime, *, with_repeats: bool = True) -> list[dict[str, Any]]:
        """The agent figures of [start, end): the whole UTC days that have per-day totals (computed
        under our thresholds and not stale since) from those, the rest from the calls; the counts
        add up to exactly those of the whole window. Call in a repeatable-read transaction.
        Without repeats (the live snapshot, which does not show them), repeat calls are None."""
        t = self._t
        days = whole_utc_days(start, min(end, now))
        rolled_up: list[date] = []
        if days:
            rows = await conn.fetch(QUERIES["rollup.days_with_totals"], days[0], days[-1] + timedelta(days=1),
                                    t.answer_target_s, t.hold_limit_s)
            rolled_up = [row["day"] for row in rows]
        parts = [await conn.fetch(QUERIES["live.agent_counts"], piece_start, piece_end, t.answer_target_s,
                                  t.hold_limit_s, now, end, with_repeats)
                 for piece_start, piece_end in raw_pieces(start, end, rolled_up)]
        if rolled_up:
            parts.append(await conn.fetch(QUERIES["rollup.agent_counts_of_days"], rolled_up))
        counts = metrics.add_agent_counts(parts)
        if not with_repeats:
            for agent in counts:
                agent["repeats"] = None
        return [metrics.agent_figures(agent, t) for agent in counts]

    async def _agent_figures_of_days(self, conn: asyncpg.Connection, days: Sequence[tuple[datetime, datetime]],
                                     now: datetime) -> list[list[dict[str, Any]]]:
        """The agent figures of each of ``days`` (consecutive windows), each exactly as
        :meth:`_agent_figures` gives it, with the per-day totals of all of them read at once."""
        t = self._t
        whole = whole_utc_days(days[0][0], min(days[-1][1], now))
        rolled_up: list[date] = []
        totals: dict[date, list[asyncpg.Record]] = collections.defaultdict(list)
        if whole:
            rows = await conn.fetch(QUERIES["rollup.days_with_totals"], whole[0], whole[-1] + timedelta(days=1),
                                    t.answer_target_s, t.hold_limit_s)
            rolled_up = [row["day"] for row in rows]
            for row in await conn.fetch(QUERIES["rollup.agent_counts_by_day"], rolled_up):
                totals[row["day"]].append(row)
        figures = []
        for start, end in days:
            inside = set(whole_utc_days(start, min(end, now)))
            mine = [day for day in rolled_up if day in inside]
            parts = [await conn.fetch(QUERIES["live.agent_counts"], piece_start, piece_end, t.answer_target_s,
                                      t.hold_limit_s, now, end, True)
                     for piece_start, piece_end in raw_pieces(start, end, mine)]
            parts += [totals[day] for day in mine]
            figures.append([metrics.agent_figures(counts, t) for counts in metrics.add_agent_counts(parts)])
        return figures

    def _local(self, moment: datetime) -> str:
        return _local_text(moment, self._zone)

    def _local_or_none(self, moment: datetime | None) -> str | None:
        return None if moment is None else self._local(moment)


@functools.lru_cache(maxsize=16384)
def _local_text(moment: datetime, zone: tzinfo) -> str:
    """``moment`` in the site's time: every snapshot gives the same thousands of moments again
    (agents' state changes, holds, complaints), so their texts are kept."""
    return moment.astimezone(zone).isoformat()


def _no_counts(state_row: asyncpg.Record) -> dict[str, Any]:
    """An agent logged in with nothing counted yet in the window."""
    zero = {**dict.fromkeys(metrics.AGENT_COUNT_FIELDS, 0), "repeats": None}
    return {**zero, "agent": state_row["agent"], "name": state_row["name"], "team": state_row["team"]}


def _day(span: dict[str, str], figures: dict[str, Any]) -> dict[str, Any]:
    """A day of an agent's scorecard: the day, and the agent's figures without who they are."""
    day = {**span, **figures}
    del day["agent"], day["name"], day["team"]
    return day
