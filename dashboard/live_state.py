"""Today's floor kept in memory and advanced by each committed change: the live snapshot without
reading the database at every change.

At the start (and at each local midnight, when today's counts restart, and whenever changes may
have gone unheard) the state reads every row that may count in a live figure of the day
(db/queries/live.sql ``calls_of_the_day``, ``complaints_of_the_day``, every agent), the ingest's
freshness and the open alerts. After that it reads nothing: each change is announced with the rows
it touched (db/changes.py), read once by whoever made the change, and the state replaces what those
rows counted and showed. A change too big to announce row by row makes it read the whole day again.

The counts are those of ``live.queue_counts`` and ``live.agent_counts`` (docs/metrics.md): each row
keeps the shares it adds to them, each share counted once the clock is past the moment that
decides it (a call answered, a hold over the limit, a callback due), as those queries count only
what was decided before "now".

A refresh costs what the change touched: the entries the snapshot lists (an agent with their
figures, a hold, a complaint, an abandoned call) are formed by the same functions as those of the
snapshot read from the database (:meth:`dashboard.data.LiveData.agent_part` and the like, the
figures by :mod:`callboard.metrics`) and kept from one refresh to the next, formed again only for
the agents, calls and complaints that changed, and the lists put in order again only when one
joined, left or moved. At each refresh :meth:`dashboard.data.LiveData.compose` adds what the clock
changes (how long each state, hold and wait has lasted; the callbacks' time left) and forms the
queue tiles and counts, as it does for the snapshot read whole: the two ways give equal snapshots
(tests/test_live_state.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from callboard import metrics
from db import changes
from db.changes import ALERTS_CHANNEL, CHANNEL, Key, TouchedRows
from db.pool import connection
from db.queries import QUERIES

from .data import ABANDONED_LISTED, FloorParts, LiveData

logger = logging.getLogger(__name__)

# Seconds between the two comparisons of a check: time for a change committed meanwhile to be heard.
CHECK_AGAIN_AFTER_S = 0.5


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
class _Heard:
    """What was announced since the last refresh, or that the whole day must be read again."""

    rows: TouchedRows = dataclasses.field(default_factory=TouchedRows)
    alerts: dict[int, Mapping[str, Any] | None] = dataclasses.field(default_factory=dict)  # None: to read
    freshness: Mapping[str, Any] | None = None  # the latest announced
    everything: bool = True


class LiveState:
    """The live snapshot of today, kept in memory; :meth:`heard` is told of every floor change announced,
    :meth:`heard_alert` of every alert's."""

    def __init__(self, pool: asyncpg.Pool, live: LiveData, thresholds: metrics.Thresholds) -> None:
        self._pool = pool
        self._live = live
        self._t = thresholds
        self._hold_limit = timedelta(seconds=thresholds.hold_limit_s)
        self._answer_target = timedelta(seconds=thresholds.answer_target_s)
        self._short_abandon = timedelta(seconds=thresholds.short_abandon_s)
        self._heard = _Heard()
        self._parts_heard: list[Mapping[str, Any]] = []  # the payloads heard so far of a change in parts
        self._since: datetime | None = None
        self._freshness: Mapping[str, Any] = {}
        self._alerts: dict[int, Mapping[str, Any]] = {}  # the open alerts, by id
        self._forget(datetime.min.replace(tzinfo=UTC))

    def _forget(self, clock: datetime) -> None:
        """Start again from nothing, the clock at ``clock``."""
        self._clock = clock
        self._order = itertools.count()
        self._pending: list[tuple[datetime, int, _Share]] = []  # shares not yet due, soonest first
        self._shares: dict[tuple[str, Key], list[_Share]] = {}  # by ("call" | "complaint", key)
        self._queue_counts: dict[str, dict[str, Any]] = {}
        self._agent_counts: dict[str, dict[str, Any]] = {}
        self._waiting: dict[Key, tuple[str | None, datetime]] = {}  # queue, waiting since
        self._waiting_in: dict[str | None, dict[Key, datetime]] = {}  # by queue: waiting since
        self._talking: dict[Key, str | None] = {}  # queue
        self._talking_in: dict[str | None, int] = {}  # by queue, those with calls in progress only
        self._holds: dict[Key, tuple[datetime, str | None, str | None]] = {}  # start, agent, queue
        self._abandoned: dict[Key, dict[str, Any]] = {}
        self._abandoned_in: dict[str, dict[Key, dict[str, Any]]] = {}  # by queue
        self._complaints: dict[Key, dict[str, Any]] = {}
        self._directory: dict[str, tuple[str | None, str | None]] = {}  # name, team
        self._states: dict[str, dict[str, Any]] = {}  # as live.agent_states_now gives them, logged out too
        self._members: dict[str, Sequence[str]] = {}
        self._parts = _Parts()

    def heard(self, payload: Mapping[str, Any] | None) -> None:
        """A floor change was announced: ``payload`` is its NOTIFY payload, decoded (None when
        unreadable). Its rows are kept until every part of the change has been heard."""
        try:
            self._take_floor(payload)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            self._unreadable(CHANNEL, exc)

    def heard_alert(self, payload: Mapping[str, Any] | None) -> None:
        """An alert's change was announced: ``payload`` is its NOTIFY payload, decoded."""
        try:
            self._take_alert(payload)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._unreadable(ALERTS_CHANNEL, exc)

    def _take_floor(self, payload: Mapping[str, Any] | None) -> None:
        if not isinstance(payload, Mapping) or payload.get("everything") or not (
                "rows" in payload or "freshness" in payload):
            self.lost()
            return
        if "freshness" in payload:  # kept with the rows: a whole day being read meanwhile holds an older one
            self._heard.freshness = changes.moments(payload["freshness"])
        if "rows" not in payload:
            return
        heard = self._parts_heard
        if payload["part"] != len(heard) + 1 or (heard and payload["batch"] != heard[0]["batch"]):
            self.lost()  # a part was missed
            return
        heard.append(payload)
        if payload["part"] == payload["parts"]:
            self._parts_heard = []
            rows = TouchedRows()
            for part in heard:
                rows.update(changes.decode_floor(part))
            self._heard.rows.update(rows)  # only once every part could be read

    def _take_alert(self, payload: Mapping[str, Any] | None) -> None:
        alert = payload.get("alert") if isinstance(payload, Mapping) else None
        alert_id = payload.get("alert_id") if isinstance(payload, Mapping) else None
        if isinstance(alert, Mapping):
            self._heard.alerts[alert["id"]] = changes.moments(alert)
        elif isinstance(alert_id, int):
            self._heard.alerts[alert_id] = None  # too big to announce: to be read
        else:
            self.lost()

    def _unreadable(self, channel: str, exc: Exception) -> None:
        """An announcement that cannot be read (never sent by Callboard itself): what it changed is
        read from the database instead."""
        logger.warning("an announcement could not be read; reading the whole day from the database instead "
                       "(something other than Callboard may be sending on this channel)",
                       extra={"action": "announcement_unreadable", "channel": channel,
                              "error": f"{type(exc).__name__}: {exc}"})
        self.lost()

    def lost(self) -> None:
        """Changes may have gone unheard (the listener reconnected): read the whole day again."""
        self._heard.everything = True
        self._parts_heard = []

    async def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """The live snapshot as of ``now``, equal to :meth:`LiveData.snapshot`'s of the same moment."""
        now = now or datetime.now(UTC)
        since = metrics.start_of_day(now, self._live.zone)
        heard, self._heard = self._heard, _Heard(everything=False)
        try:
            if heard.everything or since != self._since:
                async with connection(self._pool) as conn:
                    async with conn.transaction(isolation="repeatable_read", readonly=True):
                        await self._read_day(conn, since, now)
            else:
                self._apply(heard.rows)
                await self._apply_alerts(heard.alerts)
                if heard.freshness is not None:
                    self._freshness = heard.freshness
        except BaseException:
            self._heard.everything = True  # what was applied so far may be half of a change's rows
            raise
        self._move_clock(now)
        alerts = sorted(self._alerts.values(), key=lambda a: (a["raised_at"], a["id"]))
        return self._live.compose(self._floor_parts(self._freshness, alerts), since, now)

    async def check(self, now: datetime | None = None) -> list[str]:
        """Compare with the snapshot read from the database; when they differ (twice, a moment apart:
        a change may commit, and be heard, between the two reads), log what differed and read the
        whole day again. Returns the snapshot's parts that differed."""
        differs: list[str] = []
        for attempt in range(2):
            if attempt:
                await asyncio.sleep(CHECK_AGAIN_AFTER_S)
            moment = now or datetime.now(UTC)
            mine = await self.snapshot(moment)
            theirs = await self._live.snapshot(now=moment)
            differs = [part for part in theirs if theirs[part] != mine.get(part)]
            if not differs:
                return []
        logger.warning("the live state differed from the database; read again", extra={
            "action": "live_state_repaired", "differs": differs})
        self.lost()
        return differs

    # Reading ------------------------------------------------------------------------------------

    async def _read_day(self, conn: asyncpg.Connection, since: datetime, now: datetime) -> None:
        self._since = since
        self._forget(now)
        calls = [(r["feed"], r["call_id"]) for r in await conn.fetch(QUERIES["live.calls_of_the_day"], since)]
        complaints = [(r["feed"], r["complaint_id"])
                      for r in await conn.fetch(QUERIES["live.complaints_of_the_day"], since)]
        self._apply(await changes.read_rows(conn, calls, complaints, None, members=True))
        self._freshness, alerts = await self._live.read_status(conn)
        self._alerts = {row["id"]: row for row in alerts}

    def _apply(self, rows: TouchedRows) -> None:
        """Replace what the rows' keys counted and showed by what ``rows`` count and show."""
        parts = self._parts
        for agent, r in rows.agents.items():
            name, team = r["name"], r["team"]
            if self._directory.get(agent) != (name, team):
                self._directory[agent] = (name, team)
                parts.holds = parts.complaints = None  # they show the agent's name and team
            parts.agents_changed.add(agent)
            if r["state"] is None:
                self._states.pop(agent, None)
            else:
                self._states[agent] = {"agent": agent, "name": name if name is not None else agent, "team": team,
                                       "state": r["state"], "reason": r["reason"], "started_at": r["started_at"]}
        if rows.members is not None:
            self._members = rows.members
        for key, call in rows.calls.items():
            self._put_call(key, call.call, call.holds, call.survey)
        for key, complaint in rows.complaints.items():
            self._put_complaint(key, complaint)

    async def _apply_alerts(self, alerts: Mapping[int, Mapping[str, Any] | None]) -> None:
        """Take in the alerts announced; read those too big to be announced (rare)."""
        unread = [alert_id for alert_id, row in alerts.items() if row is None]
        if unread:
            async with connection(self._pool) as conn:
                read = {alert_id: await conn.fetchrow(QUERIES["alert_views.alert"], alert_id) for alert_id in unread}
            alerts = {**alerts, **read}
        for alert_id, row in alerts.items():
            if row is None or row["state"] == "resolved":
                self._alerts.pop(alert_id, None)
            else:
                self._alerts[alert_id] = row

    # One row at a time ---------------------------------------------------------------------------

    def _put_call(self, key: Key, call: Mapping[str, Any] | None, holds: Iterable[Mapping[str, Any]],
                  survey: Mapping[str, Any] | None) -> None:
        """Replace what call ``key`` counts and shows by what its rows as read now count and show."""
        hold, abandoned = self._holds.get(key), self._abandoned.get(key)
        self._unplace_call(key)
        shares: list[_Share | None] = []
        if survey is not None and survey["agent"] is not None:
            shares.append(self._share(survey["ts"], False, survey["agent"],
                                      {"surveys": 1, "satisfied": int(survey["score"] >= 4)}))
        if call is not None:
            shares += self._call_shares(call, list(holds))
            self._place_call(key, call, holds)
        if self._holds.get(key) != hold:
            self._parts.holds = None
        if self._abandoned.get(key) != abandoned:
            for row in (abandoned, self._abandoned.get(key)):
                if row is not None:
                    self._parts.abandoned_of.pop(row["queue"], None)  # that queue's to be listed again
        self._replace_shares(("call", key), [share for share in shares if share is not None])

    def _unplace_call(self, key: Key) -> None:
        """Take call ``key`` off the floor: no longer waiting, in progress, on hold or abandoned."""
        self._holds.pop(key, None)
        if (waiting := self._waiting.pop(key, None)) is not None:
            queue = waiting[0]
            del self._waiting_in[queue][key]
            if not self._waiting_in[queue]:
                del self._waiting_in[queue]
        if key in self._talking:
            queue = self._talking.pop(key)
            self._talking_in[queue] -= 1
            if not self._talking_in[queue]:
                del self._talking_in[queue]
        if (abandoned := self._abandoned.pop(key, None)) is not None:
            del self._abandoned_in[abandoned["queue"]][key]

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
            self._waiting_in.setdefault(queue, {})[key] = requeued_at or queued_at
        if open_ and answered_at is not None and not waiting_again:
            self._talking[key] = queue
            self._talking_in[queue] = self._talking_in.get(queue, 0) + 1
        if answered_at is not None and call["ended_at"] is None:
            # The call's latest hold event (at the same moment, an end before a start): a start holds.
            latest = max(holds, key=lambda e: (e["ts"], e["kind"] == "end"), default=None)
            if latest is not None and latest["kind"] == "start":
                self._holds[key] = (latest["ts"], latest["agent"], queue)
        abandoned_at = call["abandoned_at"]
        if (abandoned_at is not None and abandoned_at >= self._since and queued_at is not None
                and queue is not None):
            self._abandoned[key] = self._abandoned_in.setdefault(queue, {})[key] = {
                "feed": key[0], "call_id": key[1], "queue": queue, "waiting_since": requeued_at or queued_at,
                "abandoned_at": abandoned_at, "caller": call["caller"]}

    def _put_complaint(self, key: Key, complaint: Mapping[str, Any] | None) -> None:
        """Replace what complaint ``key`` counts and shows."""
        before = self._complaints.pop(key, None)
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
        if self._complaints.get(key) != before:
            self._parts.complaints = None
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
            self._parts.agents_changed.add(share.target)
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
            self._queue_counts, self._agent_counts, self._pending = {}, {}, []
            self._parts.agents_changed.update(self._parts.agent)  # their counts may be gone
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

    # The parts of a snapshot ----------------------------------------------------------------------

    def _floor_parts(self, freshness: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> FloorParts:
        """The snapshot's parts as of the clock: those of the queues formed again (a few rows), the
        entries listed kept from the last refresh but for those changed since."""
        waiting = [{"queue": queue, "waiting": len(calls), "oldest_queued_at": min(calls.values())}
                   for queue, calls in self._waiting_in.items()]
        queue_counts = [{**counts, "queue": queue}
                        for queue, counts in self._queue_counts.items() if counts["rows"] > 0]
        return FloorParts(queue_counts, waiting, dict(self._talking_in), self._members, holds=self._hold_parts(),
                          abandoned=self._abandoned_parts(), complaints=self._complaint_parts(),
                          agents=self._agent_parts(), freshness=freshness, alerts=alerts)

    def _who(self, agent: str | None) -> dict[str, Any]:
        name, team = self._directory.get(agent, (None, None))
        return {"agent_name": name if name is not None else agent, "team": team}

    def _agent_parts(self) -> list[tuple[dict[str, Any], datetime]]:
        """The agents shown, by name: those whose state, name or counts changed formed again."""
        parts = self._parts
        changed, parts.agents_changed = parts.agents_changed, set()
        reorder = parts.agents is None
        for agent in changed:
            before = parts.agent.pop(agent, None)
            state = self._states.get(agent)
            if state is None or state["state"] == "logged_out":
                reorder = reorder or before is not None
                continue
            counts = self._agent_counts.get(agent)
            figures = self._figures_of(agent, counts) if counts is not None and counts["rows"] > 0 else None
            order = (state["name"], agent)
            entry = (self._live.agent_part(state, figures), state["started_at"])
            parts.agent[agent] = (order, entry)
            if before is None or before[0] != order:
                reorder = True
            elif not reorder:
                parts.agents[parts.agent_at[agent]] = entry
        if reorder:
            ordered = sorted(parts.agent.items(), key=lambda item: item[1][0])
            parts.agent_at = {agent: n for n, (agent, _) in enumerate(ordered)}
            parts.agents = [entry for _, (_, entry) in ordered]
        return parts.agents

    def _figures_of(self, agent: str, counts: Mapping[str, Any]) -> dict[str, Any]:
        """An agent's figures from their counts, as LiveData forms them from live.agent_counts' row."""
        name, team = self._directory.get(agent, (None, None))
        return metrics.agent_figures({**counts, "agent": agent, "name": name if name is not None else agent,
                                      "team": team, "answer_seconds": float(counts["answer_seconds"]),
                                      "repeats": None}, self._t)

    def _hold_parts(self) -> list[tuple[dict[str, Any], datetime]]:
        """As live.open_holds, oldest first: listed again when a hold began or ended or an agent's
        name changed, each formed again only when what it shows changed."""
        parts = self._parts
        if parts.holds is None:
            formed: dict[Key, tuple[tuple[Any, ...], dict[str, Any]]] = {}
            parts.holds = []
            for key, (started_at, agent, queue) in sorted(self._holds.items(), key=lambda h: (h[1][0], h[0])):
                row = {"feed": key[0], "call_id": key[1], "agent": agent, **self._who(agent), "queue": queue,
                       "started_at": started_at}
                source = tuple(row.values())
                kept = parts.hold.get(key)
                formed[key] = kept if kept is not None and kept[0] == source else (source, self._live.hold_part(row))
                parts.holds.append((formed[key][1], started_at))
            parts.hold = formed
        return parts.holds

    def _complaint_parts(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """As live.open_complaints, soonest due first: listed again when one opened or closed or an
        agent's name changed, each formed again only when what it shows changed."""
        parts = self._parts
        if parts.complaints is None:
            formed: dict[Key, tuple[dict[str, Any], dict[str, Any]]] = {}
            parts.complaints = []
            for key, complaint in sorted(self._complaints.items(),
                                         key=lambda k: (k[1]["due"], k[1]["feed"], k[1]["complaint_id"])):
                row = {**complaint, **self._who(complaint["agent"])}
                kept = parts.complaint.get(key)
                formed[key] = kept if kept is not None and kept[0] == row else (row, self._live.complaint_part(row))
                parts.complaints.append((formed[key][1], row))
            parts.complaint = formed
        return parts.complaints

    def _abandoned_parts(self) -> list[dict[str, Any]]:
        """As live.abandoned_calls: each queue's latest abandoned calls of [since, now), newest
        first. A queue's are listed again when one of its calls changed, or when the clock crossed
        the moment one of them was abandoned (one abandoned "after now" is not listed yet)."""
        parts, now, since = self._parts, self._clock, self._since
        for queue, rows in self._abandoned_in.items():
            kept = parts.abandoned_of.get(queue)
            if kept is not None and kept.holds_at(now):
                continue
            listed = [row for row in rows.values() if row["abandoned_at"] < now]
            later = [row["abandoned_at"] for row in rows.values() if row["abandoned_at"] >= now]
            parts.abandoned_of[queue] = _Listed(max((row["abandoned_at"] for row in listed), default=None),
                                                min(later, default=None),
                                                heapq.nsmallest(ABANDONED_LISTED, listed, _newest_first(since)))
            parts.abandoned = None
        if parts.abandoned is None:
            rows = sorted((row for listed in parts.abandoned_of.values() for row in listed.rows),
                          key=_newest_first(since))
            formed = {}
            for row in rows:
                key = (row["feed"], row["call_id"])
                kept = parts.abandoned_row.get(key)
                formed[key] = kept if kept is not None and kept[0] == row else (row, self._live.abandoned_part(row))
            parts.abandoned_row = formed
            parts.abandoned = [formed[(row["feed"], row["call_id"])][1] for row in rows]
        return parts.abandoned


def _newest_first(since: datetime) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The order of live.abandoned_calls: the latest abandoned first, then by feed and call."""
    def key(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return (since - row["abandoned_at"], row["feed"], row["call_id"])
    return key


@dataclasses.dataclass(slots=True)
class _Listed:
    """A queue's abandoned calls listed as of a moment: the same for any moment after the latest
    of them (``after``) up to the first of its calls abandoned later (``until``)."""

    after: datetime | None
    until: datetime | None
    rows: list[dict[str, Any]]

    def holds_at(self, now: datetime) -> bool:
        return (self.after is None or self.after < now) and (self.until is None or now <= self.until)


@dataclasses.dataclass(slots=True)
class _Parts:
    """The snapshot's entries as formed at the last refresh (LiveData.agent_part and the like), and
    what changed since. A list is None when it must be listed again; its entries are kept while what
    they show has not changed. A snapshot holds none of these lists (LiveData.compose makes its own),
    and an entry it holds as it is (an abandoned call) is replaced, never changed."""

    agent: dict[str, tuple[tuple[str, str], tuple[dict[str, Any], datetime]]] = dataclasses.field(
        default_factory=dict)  # by agent shown: (their place by name, their entry)
    agents_changed: set[str] = dataclasses.field(default_factory=set)
    agents: list[tuple[dict[str, Any], datetime]] | None = None
    agent_at: dict[str, int] = dataclasses.field(default_factory=dict)  # each agent's place in ``agents``
    hold: dict[Key, tuple[tuple[Any, ...], dict[str, Any]]] = dataclasses.field(default_factory=dict)
    holds: list[tuple[dict[str, Any], datetime]] | None = None
    complaint: dict[Key, tuple[dict[str, Any], dict[str, Any]]] = dataclasses.field(default_factory=dict)
    complaints: list[tuple[dict[str, Any], dict[str, Any]]] | None = None
    abandoned_of: dict[str | None, _Listed] = dataclasses.field(default_factory=dict)  # by queue
    abandoned_row: dict[Key, tuple[dict[str, Any], dict[str, Any]]] = dataclasses.field(default_factory=dict)
    abandoned: list[dict[str, Any]] | None = None


def _seconds(interval: timedelta) -> Decimal:
    """An interval's exact seconds, as PostgreSQL's ``extract(epoch FROM interval)`` gives them."""
    return Decimal(interval.days * 86400 + interval.seconds) + Decimal(interval.microseconds).scaleb(-6)
