"""Today's floor kept in memory and advanced by each committed batch: the live snapshot without
reading the whole day again at every change.

At the start (and at each local midnight, when today's counts restart) the state reads every row
that may count in a live figure of the day (db/queries/live.sql ``calls_of_the_day``,
``complaints_of_the_day``, every agent). Then each committed batch names in its NOTIFY payload the
calls, complaints and agents it touched (ingest/writer.py ``change_payload``); the state reads just
those rows again by key and replaces what they counted. A payload that names nothing it can use
(too big a batch, another writer) makes it read the whole day again.

The counts are those of ``live.queue_counts`` and ``live.agent_counts`` (docs/metrics.md): each row
keeps the shares it adds to them, each share counted once the clock is past the moment that
decides it (a call answered, a hold over the limit, a callback due), as those queries count only
what was decided before "now". The snapshot is then assembled by the same code as the one read
from the database (:meth:`dashboard.data.LiveData.assemble`), the figures formed by
:mod:`callboard.metrics`: the two ways give equal snapshots (tests/test_live_state.py).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from callboard import metrics
from db.pool import connection
from db.queries import QUERIES

from .data import ABANDONED_LISTED, FloorRows, LiveData

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (feed, call_id) or (feed, complaint_id)


@dataclasses.dataclass(eq=False, slots=True)
class _Share:
    """What one row adds to one queue's or agent's counts, once the clock is past ``due``."""

    due: datetime
    of_queue: bool  # a queue's counts (live.queue_counts), else an agent's (live.agent_counts)
    target: str
    counts: Mapping[str, int | Decimal]
    row: int  # 1 when the share makes a row of its query (a decided call, hold, survey, callback)
    counted: bool = False
    gone: bool = False


@dataclasses.dataclass(slots=True)
class _Touched:
    """The keys heard since the last refresh, or that the whole day must be read again."""

    calls: set[Key] = dataclasses.field(default_factory=set)
    complaints: set[Key] = dataclasses.field(default_factory=set)
    agents: set[str] = dataclasses.field(default_factory=set)
    members: bool = False
    everything: bool = True


class LiveState:
    """The live snapshot of today, kept in memory; :meth:`heard` is told of every committed batch."""

    def __init__(self, pool: asyncpg.Pool, live: LiveData, thresholds: metrics.Thresholds) -> None:
        self._pool = pool
        self._live = live
        self._t = thresholds
        self._hold_limit = timedelta(seconds=thresholds.hold_limit_s)
        self._answer_target = timedelta(seconds=thresholds.answer_target_s)
        self._short_abandon = timedelta(seconds=thresholds.short_abandon_s)
        self._touched = _Touched()
        self._since: datetime | None = None
        self._forget(datetime.min.replace(tzinfo=UTC))

    def _forget(self, clock: datetime) -> None:
        """Start again from nothing, the clock at ``clock``."""
        self._clock = clock
        self._order = itertools.count()
        self._pending: list[tuple[datetime, int, _Share]] = []  # shares not yet due, soonest first
        self._shares: dict[tuple[str, Key], list[_Share]] = {}  # by ("call" | "complaint", key)
        self._queue_counts: dict[str, dict[str, Any]] = {}
        self._agent_counts: dict[str, dict[str, Any]] = {}
        # Each agent's figures (metrics.agent_figures), formed again only when their counts or name change.
        self._agent_figures: dict[str, dict[str, Any]] = {}
        self._waiting: dict[Key, tuple[str, datetime]] = {}  # queue, waiting since
        self._talking: dict[Key, str] = {}
        self._holds: dict[Key, tuple[datetime, str | None, str | None]] = {}  # start, agent, queue
        self._abandoned: dict[Key, dict[str, Any]] = {}
        self._complaints: dict[Key, dict[str, Any]] = {}
        self._directory: dict[str, tuple[str | None, str | None]] = {}  # name, team
        self._states: dict[str, dict[str, Any]] = {}  # as live.agent_states_now gives them, logged out too
        self._members: dict[str, Sequence[str]] = {}

    def heard(self, payload: Mapping[str, Any] | None) -> None:
        """A batch was committed: ``payload`` is its NOTIFY payload, decoded (None when unreadable)."""
        touched = payload.get("touched") if isinstance(payload, Mapping) else None
        feed = payload.get("feed") if isinstance(payload, Mapping) else None
        if not isinstance(touched, Mapping) or not isinstance(feed, str):
            self._touched.everything = True
            return
        self._touched.calls.update((feed, call_id) for call_id in touched.get("calls", ()))
        self._touched.complaints.update((feed, complaint_id) for complaint_id in touched.get("complaints", ()))
        self._touched.agents.update(touched.get("agents", ()))
        self._touched.members = self._touched.members or bool(touched.get("members"))

    def lost(self) -> None:
        """Changes may have gone unheard (the listener reconnected): read the whole day again."""
        self._touched.everything = True

    async def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """The live snapshot as of ``now``, equal to :meth:`LiveData.snapshot`'s of the same moment."""
        now = now or datetime.now(UTC)
        since = metrics.start_of_day(now, self._live.zone)
        touched, self._touched = self._touched, _Touched(everything=False)
        try:
            async with connection(self._pool) as conn:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    if touched.everything or since != self._since:
                        await self._read_day(conn, since, now)
                    else:
                        await self._read_touched(conn, touched)
                freshness, alerts = await self._live.read_status(conn)
        except BaseException:
            self._touched.everything = True  # what was read so far may be half of a batch's rows
            raise
        self._move_clock(now)
        return self._live.assemble(self._rows(freshness, alerts), since, now)

    async def check(self, now: datetime | None = None) -> list[str]:
        """Compare with the snapshot read from the database; when they differ (twice: a batch may
        commit between the two reads), log what differed and read the whole day again. Returns the
        snapshot's parts that differed."""
        differs: list[str] = []
        for _ in range(2):
            moment = now or datetime.now(UTC)
            mine = await self.snapshot(moment)
            theirs = await self._live.snapshot(now=moment)
            differs = [part for part in theirs if theirs[part] != mine.get(part)]
            if not differs:
                return []
        logger.warning("the live state differed from the database; read again", extra={
            "action": "live_state_repaired", "differs": differs})
        self._touched.everything = True
        return differs

    # Reading ------------------------------------------------------------------------------------

    async def _read_day(self, conn: asyncpg.Connection, since: datetime, now: datetime) -> None:
        self._since = since
        self._forget(now)
        calls = [(r["feed"], r["call_id"]) for r in await conn.fetch(QUERIES["live.calls_of_the_day"], since)]
        complaints = [(r["feed"], r["complaint_id"])
                      for r in await conn.fetch(QUERIES["live.complaints_of_the_day"], since)]
        await self._read_agents(conn, None)
        await self._read_members(conn)
        await self._read_calls(conn, calls)
        await self._read_complaints(conn, complaints)

    async def _read_touched(self, conn: asyncpg.Connection, touched: _Touched) -> None:
        if touched.agents:
            await self._read_agents(conn, sorted(touched.agents))
        if touched.members:
            await self._read_members(conn)
        if touched.calls:
            await self._read_calls(conn, sorted(touched.calls))
        if touched.complaints:
            await self._read_complaints(conn, sorted(touched.complaints))

    async def _read_agents(self, conn: asyncpg.Connection, agents: list[str] | None) -> None:
        for r in await conn.fetch(QUERIES["live.agents_by_key"], agents):
            agent, name, team = r["agent"], r["name"], r["team"]
            self._directory[agent] = (name, team)
            self._agent_figures.pop(agent, None)
            if r["state"] is None:
                self._states.pop(agent, None)
            else:
                self._states[agent] = {"agent": agent, "name": name if name is not None else agent, "team": team,
                                       "state": r["state"], "reason": r["reason"], "started_at": r["started_at"]}

    async def _read_members(self, conn: asyncpg.Connection) -> None:
        self._members = {r["queue"]: r["agents"] for r in await conn.fetch(QUERIES["live.queue_members"])}

    async def _read_calls(self, conn: asyncpg.Connection, keys: Sequence[Key]) -> None:
        feeds, ids = [k[0] for k in keys], [k[1] for k in keys]
        calls = {(r["feed"], r["call_id"]): r for r in await conn.fetch(QUERIES["live.calls_by_key"], feeds, ids)}
        holds: dict[Key, list[asyncpg.Record]] = {}
        for r in await conn.fetch(QUERIES["live.holds_by_key"], feeds, ids):
            holds.setdefault((r["feed"], r["call_id"]), []).append(r)
        surveys = {(r["feed"], r["call_id"]): r for r in await conn.fetch(QUERIES["live.surveys_by_key"], feeds, ids)}
        for key in keys:
            self._put_call(key, calls.get(key), holds.get(key, ()), surveys.get(key))

    async def _read_complaints(self, conn: asyncpg.Connection, keys: Sequence[Key]) -> None:
        rows = await conn.fetch(QUERIES["live.complaints_by_key"], [k[0] for k in keys], [k[1] for k in keys])
        found = {(r["feed"], r["complaint_id"]): r for r in rows}
        for key in keys:
            self._put_complaint(key, found.get(key))

    # One row at a time ---------------------------------------------------------------------------

    def _put_call(self, key: Key, call: Mapping[str, Any] | None, holds: Iterable[Mapping[str, Any]],
                  survey: Mapping[str, Any] | None) -> None:
        """Replace what call ``key`` counts and shows by what its rows as read now count and show."""
        for table in (self._waiting, self._talking, self._holds, self._abandoned):
            table.pop(key, None)
        shares: list[_Share | None] = []
        if survey is not None and survey["agent"] is not None:
            shares.append(self._share(survey["ts"], False, survey["agent"],
                                      {"surveys": 1, "satisfied": int(survey["score"] >= 4)}))
        if call is not None:
            shares += self._call_shares(call, list(holds))
            self._place_call(key, call, holds)
        self._replace_shares(("call", key), [share for share in shares if share is not None])

    def _call_shares(self, call: Mapping[str, Any], holds: list[Mapping[str, Any]]) -> list[_Share | None]:
        """The shares of live.queue_counts and live.agent_counts of one call, its holds among them
        (None for those decided before the day began)."""
        shares: list[_Share | None] = []
        queue, queued_at, answered_at = call["queue"], call["queued_at"], call["answered_at"]
        if queued_at is not None and answered_at is not None:
            waited = answered_at - queued_at
            answer = {"answered": 1, "answered_on_time": int(waited <= self._answer_target),
                      "answer_seconds": _seconds(waited)}
            if queue is not None:
                shares.append(self._share(answered_at, True, queue, answer))
            if call["answered_by"] is not None:
                shares.append(self._share(answered_at, False, call["answered_by"], answer))
        if queued_at is not None and queue is not None:
            shares.append(self._share(queued_at, True, queue, {"offered": 1}))
            abandoned_at = call["abandoned_at"]
            if abandoned_at is not None and answered_at is None:
                waited = abandoned_at - queued_at
                shares.append(self._share(abandoned_at, True, queue,
                                          {"abandoned": 1, "short_abandoned": int(waited < self._short_abandon)}))
        ended_at, resolved = call["ended_at"], call["resolved"]
        if ended_at is not None and call["last_agent"] is not None:
            shares.append(self._share(ended_at, False, call["last_agent"], {
                "handled": 1, "resolution_known": int(resolved is not None), "resolved": int(resolved is True),
                "agent_released": int(call["released_by"] == "agent")}))
        for hold in holds:
            if hold["kind"] != "start" or hold["agent"] is None:
                continue
            # A hold ends at its call's next hold event (an end at the same moment included), else
            # at the call's end; one with no end yet is over the limit once it has lasted longer.
            start = hold["ts"]
            end = min((e["ts"] for e in holds if e["ts"] > start or (e["ts"] == start and e["kind"] < "start")),
                      default=ended_at)
            if end is None:
                shares.append(self._share(start, False, hold["agent"], {"holds": 1}))
                shares.append(self._share(start + self._hold_limit, False, hold["agent"],
                                          {"holds_over_limit": 1}, row=0, decided_at=start))
            else:
                shares.append(self._share(start, False, hold["agent"],
                                          {"holds": 1, "holds_over_limit": int(end - start > self._hold_limit)}))
        return shares

    def _place_call(self, key: Key, call: Mapping[str, Any], holds: Iterable[Mapping[str, Any]]) -> None:
        """Where call ``key`` shows now: waiting, in progress, on hold, among the abandoned calls."""
        queue, queued_at, answered_at = call["queue"], call["queued_at"], call["answered_at"]
        requeued_at, last_answered_at = call["requeued_at"], call["last_answered_at"]
        waiting_again = requeued_at is not None and last_answered_at is not None and requeued_at > last_answered_at
        open_ = call["abandoned_at"] is None and call["ended_at"] is None
        if open_ and queued_at is not None and (answered_at is None or waiting_again):
            self._waiting[key] = (queue, requeued_at or queued_at)
        if open_ and answered_at is not None and not waiting_again:
            self._talking[key] = queue
        if answered_at is not None and call["ended_at"] is None:
            # The call's latest hold event (at the same moment, an end before a start): a start holds.
            latest = max(holds, key=lambda e: (e["ts"], e["kind"] == "end"), default=None)
            if latest is not None and latest["kind"] == "start":
                self._holds[key] = (latest["ts"], latest["agent"], queue)
        abandoned_at = call["abandoned_at"]
        if (abandoned_at is not None and abandoned_at >= self._since and queued_at is not None
                and queue is not None):
            self._abandoned[key] = {"feed": key[0], "call_id": key[1], "queue": queue,
                                    "waiting_since": requeued_at or queued_at, "abandoned_at": abandoned_at,
                                    "caller": call["caller"]}

    def _put_complaint(self, key: Key, complaint: Mapping[str, Any] | None) -> None:
        """Replace what complaint ``key`` counts and shows."""
        self._complaints.pop(key, None)
        shares: list[_Share | None] = []
        if complaint is not None:
            callback_at, due, agent = complaint["callback_at"], complaint["due"], complaint["agent"]
            decided_at = min((m for m in (callback_at, due) if m is not None), default=None)
            if decided_at is not None and agent is not None:
                on_time = callback_at is not None and due is not None and callback_at <= due
                shares.append(self._share(decided_at, False, agent,
                                          {"callbacks_due": 1, "callbacks_on_time": int(on_time)}))
            if callback_at is None and complaint["closed_at"] is None and due is not None:
                self._complaints[key] = dict(complaint)
        self._replace_shares(("complaint", key), [share for share in shares if share is not None])

    # Counting --------------------------------------------------------------------------------------

    def _share(self, due: datetime, of_queue: bool, target: str, counts: Mapping[str, int | Decimal], *,
               row: int = 1, decided_at: datetime | None = None) -> _Share | None:
        """A share of the day's counts, or None for a row decided before the day began."""
        if (decided_at or due) < self._since:
            return None
        return _Share(due, of_queue, target, counts, row)

    def _replace_shares(self, owner: tuple[str, Key], shares: list[_Share]) -> None:
        for share in self._shares.pop(owner, ()):
            share.gone = True
            if share.counted:
                self._count(share, -1)
        if shares:
            self._shares[owner] = shares
        for share in shares:
            if share.due < self._clock:
                self._count(share, 1)
            else:
                heapq.heappush(self._pending, (share.due, next(self._order), share))

    def _count(self, share: _Share, sign: int) -> None:
        if share.of_queue:
            table, fields = self._queue_counts, metrics.QUEUE_COUNT_FIELDS
        else:
            table, fields = self._agent_counts, metrics.AGENT_COUNT_FIELDS
            self._agent_figures.pop(share.target, None)
        counts = table.get(share.target)
        if counts is None:
            counts = table[share.target] = {"rows": 0, **dict.fromkeys(fields, 0)}
        counts["rows"] += sign * share.row
        for field, value in share.counts.items():
            counts[field] += sign * value
        share.counted = sign > 0

    def _move_clock(self, now: datetime) -> None:
        """Count the shares due before ``now`` (the clock only goes forward; asked about an earlier
        moment, count again from every share)."""
        if now < self._clock:
            self._clock = now
            self._queue_counts, self._agent_counts, self._agent_figures, self._pending = {}, {}, {}, []
            for shares in self._shares.values():
                for share in shares:
                    share.counted = False
                    if share.due < now:
                        self._count(share, 1)
                    else:
                        self._pending.append((share.due, next(self._order), share))
            heapq.heapify(self._pending)
            return
        self._clock = now
        pending = self._pending
        while pending and pending[0][0] < now:
            share = heapq.heappop(pending)[2]
            if not share.gone:
                self._count(share, 1)

    # The rows of a snapshot ------------------------------------------------------------------------

    def _rows(self, freshness: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> FloorRows:
        now, since = self._clock, self._since
        directory = self._directory

        def who(agent: str | None) -> dict[str, Any]:
            name, team = directory.get(agent, (None, None))
            return {"agent_name": name if name is not None else agent, "team": team}

        waiting: dict[str, dict[str, Any]] = {}
        for queue, waiting_since in self._waiting.values():
            wait = waiting.get(queue)
            if wait is None:
                waiting[queue] = {"queue": queue, "waiting": 1, "oldest_queued_at": waiting_since}
            else:
                wait["waiting"] += 1
                wait["oldest_queued_at"] = min(wait["oldest_queued_at"], waiting_since)
        talking: dict[str | None, int] = {}
        for queue in self._talking.values():
            talking[queue] = talking.get(queue, 0) + 1
        holds = [{"feed": key[0], "call_id": key[1], "agent": agent, **who(agent), "queue": queue,
                  "started_at": started_at}
                 for key, (started_at, agent, queue) in sorted(self._holds.items(), key=lambda h: (h[1][0], h[0]))]
        complaints = [{**row, **who(row["agent"])}
                      for row in sorted(self._complaints.values(),
                                        key=lambda k: (k["due"], k["feed"], k["complaint_id"]))]
        states = [state for state in self._states.values() if state["state"] != "logged_out"]
        figures = {agent: self._figures_of(agent, counts)
                   for agent, counts in self._agent_counts.items() if counts["rows"] > 0}
        queue_counts = [{**counts, "queue": queue}
                        for queue, counts in self._queue_counts.items() if counts["rows"] > 0]
        return FloorRows(queue_counts, list(waiting.values()), talking, holds, self._abandoned_listed(since, now),
                         complaints, states, self._members, figures, freshness, alerts)

    def _figures_of(self, agent: str, counts: Mapping[str, Any]) -> dict[str, Any]:
        """An agent's figures from their counts, as LiveData forms them from live.agent_counts' row."""
        figures = self._agent_figures.get(agent)
        if figures is None:
            name, team = self._directory.get(agent, (None, None))
            figures = self._agent_figures[agent] = metrics.agent_figures(
                {**counts, "agent": agent, "name": name if name is not None else agent, "team": team,
                 "answer_seconds": float(counts["answer_seconds"]), "repeats": None}, self._t)
        return figures

    def _abandoned_listed(self, since: datetime, now: datetime) -> list[dict[str, Any]]:
        """As live.abandoned_calls: each queue's latest abandoned calls of [since, now), newest first."""
        def newest_first(row: Mapping[str, Any]) -> tuple[Any, ...]:
            return (since - row["abandoned_at"], row["feed"], row["call_id"])

        by_queue: dict[str, list[dict[str, Any]]] = {}
        for row in self._abandoned.values():
            if row["abandoned_at"] < now:
                by_queue.setdefault(row["queue"], []).append(row)
        listed = [row for rows in by_queue.values() for row in heapq.nsmallest(ABANDONED_LISTED, rows, newest_first)]
        return sorted(listed, key=newest_first)


def _seconds(interval: timedelta) -> Decimal:
    """An interval's exact seconds, as PostgreSQL's ``extract(epoch FROM interval)`` gives them."""
    return Decimal(interval.days * 86400 + interval.seconds) + Decimal(interval.microseconds).scaleb(-6)
