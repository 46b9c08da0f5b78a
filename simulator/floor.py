"""A simulated call floor: callers, queues and agents, as a stream of protocol events.

:class:`CallFloor` is a discrete-event model. Future happenings (a caller dialling in, a
caller giving up, an agent's lunch, the end of a call) wait in a heap ordered by simulated
time; :meth:`CallFloor.events_until` runs them in order and returns the events they
produce, in the feed protocol's format. Nothing here reads the clock or sleeps: the same
seed, start and parameters always give the same events, however the time is sliced.
:meth:`CallFloor.shutdown` ends the run the way a PBX going down would: it releases every
caller and call and logs every agent out, so nothing stays open in a database that
ingested the feed.

The floor works around the clock. Callers arrive as a Poisson process whose rate follows
a daily curve in the floor's local time (busy late morning and early afternoon, a dip at
lunch, a quieter but never idle night); agents work shifts staffed to that curve, with
short breaks, lunch, coaching and the odd not-ready spell.

Each agent takes the calls of the queues they are skilled for: the queues' members, announced
(``queue.members``) when the floor opens. A supervisor looks at the queues every minute: a queue
whose longest-waiting caller has waited too long borrows a free agent from the other queues, who
goes back once nobody waits there any more; each change is announced.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from simulator import names

_MS = timedelta(milliseconds=1)
_SECOND = 1_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE

#: Share of the peak arrival rate at each local hour (value at hh:00, linear in between).
DEMAND_BY_HOUR: tuple[float, ...] = (
    0.38, 0.34, 0.32, 0.31, 0.30, 0.32, 0.38, 0.50,  # 00:00 - 07:00
    0.72, 0.88, 0.97, 1.00, 0.86, 0.82, 0.96, 0.97,  # 08:00 - 15:00
    0.90, 0.80, 0.70, 0.62, 0.55, 0.50, 0.45, 0.41,  # 16:00 - 23:00
)

#: Mean seconds an offered call rings before the agent picks up.
RING_SECONDS = 2.5

#: Talk, hold and wrap-up times are lognormal: a median and a spread (sigma).
TALK_SIGMA = 0.55
HOLD_CHANCE = 0.25
HOLD_MEDIAN = 35.0
HOLD_SIGMA = 0.7
WRAP_UP_MEDIAN = 25.0
WRAP_UP_SIGMA = 0.5

#: Callers whose problem was not solved call again: the chance, and the median wait in seconds.
CALL_AGAIN_AFTER_UNRESOLVED = (0.4, 1800.0)
CALL_AGAIN_AFTER_ABANDON = (0.5, 600.0)
CALL_AGAIN_WITHIN_S = 20 * 3600.0

#: Square-root staffing safety factor behind the default load (smaller: busier floor).
SAFETY = 0.8

#: Share of an agent's shift spent ready for calls (the rest: breaks, lunch, coaching).
ON_FLOOR_SHARE = 0.84


@dataclass(frozen=True)
class QueueProfile:
    """How calls to one queue behave."""

    share: float
    """Share of all offered calls."""
    talk_median: float
    """Median talk time in seconds (talk times are lognormal)."""
    complaint_rate: float
    """Chance that a call ends with a complaint being opened."""
    outcomes: tuple[tuple[str, ...], tuple[str, ...]]
    """Dispositions of resolved and of unresolved calls."""


QUEUE_PROFILES: dict[str, QueueProfile] = {
    "billing": QueueProfile(
        0.35, 170, 0.025,
        (("payment_taken", "bill_explained", "plan_changed"), ("escalated", "follow_up")),
    ),
    "technical": QueueProfile(
        0.30, 290, 0.03, (("fixed", "guided"), ("ticket_raised", "engineer_visit"))
    ),
    "sales": QueueProfile(0.25, 220, 0.01, (("sale", "quote_sent"), ("no_sale",))),
    "complaints": QueueProfile(
        0.10, 360, 0.12, (("apology", "refund"), ("escalated", "follow_up"))
    ),
}
_GENERIC_PROFILE = QueueProfile(0.25, 240, 0.03, (("resolved",), ("follow_up",)))


@dataclass(frozen=True)
class Shift:
    """A daily shift: when it starts in local time and how long it lasts."""

    start: time
    hours: float = 8.5


#: Share of the roster starting a shift at each local hour (absent hours: nobody). The
#: starts are staggered so that heads on the floor follow DEMAND_BY_HOUR, with a little
#: more slack at night when teams are small.
SHIFT_STARTS: dict[int, float] = {
    0: 0.028, 1: 0.040, 2: 0.046, 3: 0.056, 4: 0.031, 5: 0.006,
    6: 0.038, 7: 0.079, 8: 0.104, 9: 0.096, 10: 0.077, 11: 0.044,
    12: 0.012, 13: 0.029, 14: 0.047, 15: 0.043, 16: 0.054, 17: 0.055,
    18: 0.051, 19: 0.037, 20: 0.003, 22: 0.008, 23: 0.014,
}

#: Agents per team, at most.
TEAM_SIZE = 12

#: How often the supervisor looks at the queues, and how long a caller may wait before the
#: queue borrows a free agent from the others (seconds).
SUPERVISOR_EVERY_S = 60
BORROW_AFTER_WAIT_S = 120


@dataclass(frozen=True)
class AgentProfile:
    """An agent on the roster."""

    id: str
    name: str
    team: str
    shift: Shift
    skills: frozenset[str]
    """Queues the agent can take calls from."""


@dataclass
class _Agent:
    profile: AgentProfile
    order: int
    state: str = "logged_out"
    reason: str | None = None
    idle_since: int = 0
    call: _Call | None = None
    shift_no: int = 0
    pending: list[tuple[str, str, int]] = field(default_factory=list)
    logout_pending: bool = False
    borrowed_by: str | None = None
    """A queue the agent also takes calls from for now, lent by the supervisor."""

    @property
    def queues(self) -> frozenset[str]:
        """The queues whose calls the agent takes now: their skills, and a queue they are lent to."""
        skills = self.profile.skills
        return skills | {self.borrowed_by} if self.borrowed_by else skills

    @property
    def free(self) -> bool:
        return self.state == "available" and self.call is None


@dataclass
class _Call:
    id: str
    number: int
    queue: str
    caller: str
    state: str = "waiting"  # waiting, ringing, talking
    waiting_since: int = 0
    priority: int = 1  # 0 for calls transferred to a queue: they are served first
    agent: _Agent | None = None
    transferred: bool = False
    held: bool = False


class CallFloor:
    """A deterministic, endless call floor that produces feed protocol v1 events.

    ``start`` (timezone-aware) is the simulated instant the floor opens; its time zone is
    the floor's local time unless ``local_tz`` is given. ``run_started`` is the moment the
    simulator run was created; it keeps ``id``, ``call_id`` and ``seq`` unique and
    increasing across runs, and defaults to ``start``. ``peak_calls_per_minute`` sets the
    load at the busiest hour; by default it follows the roster size.
    """

    def __init__(
        self,
        seed: int,
        start: datetime,
        agents: int = 60,
        queues: tuple[str, ...] = names.DEFAULT_QUEUES,
        peak_calls_per_minute: float | None = None,
        *,
        run_started: datetime | None = None,
        local_tz: tzinfo | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if run_started is not None and run_started.tzinfo is None:
            raise ValueError("run_started must be timezone-aware")
        if not 1 <= agents <= 1000:
            raise ValueError("agents must be between 1 and 1000")
        if not queues or len(set(queues)) != len(queues):
            raise ValueError("queues must be a non-empty tuple of distinct names")
        if peak_calls_per_minute is not None and peak_calls_per_minute <= 0:
            raise ValueError("peak_calls_per_minute must be positive")

        self.start = start
        self.queues = tuple(queues)
        self._tz = local_tz or start.tzinfo
        self._start_utc = start.astimezone(UTC)
        run_epoch = int((run_started or start).timestamp())
        self._id_prefix = f"sim{run_epoch}-"
        self._call_prefix = f"C{run_epoch}-"
        self._complaint_prefix = f"K{run_epoch}-"
        self._seq_base = run_epoch * 1_000_000

        self._rng = random.Random(seed)
        self._profiles = {q: QUEUE_PROFILES.get(q, _GENERIC_PROFILE) for q in self.queues}
        total_share = sum(p.share for p in self._profiles.values())
        self._queue_weights = [self._profiles[q].share / total_share for q in self.queues]

        self._heap: list[tuple[int, int, Callable[..., None], tuple]] = []
        self._tiebreak = itertools.count()
        self._now = 0  # milliseconds since start
        self._out: list[dict] = []
        self._event_count = 0
        self._call_count = 0
        self._complaint_count = 0
        self._waiting: list[_Call] = []
        self._shut_down = False

        self._agents = [
            _Agent(profile, order) for order, profile in enumerate(self._build_roster(agents))
        ]
        self.roster: tuple[AgentProfile, ...] = tuple(a.profile for a in self._agents)
        self.peak_calls_per_minute = peak_calls_per_minute or self._default_peak()
        for queue in self.queues:  # first thing when the floor opens
            self._at(0, self._announce_members, queue)
        for agent in self._agents:
            self._plan_first_shift(agent)
        self._schedule_next_arrival()
        self._after(SUPERVISOR_EVERY_S, self._supervise)

    # -- public ----------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated instant up to which events have been produced."""
        return self.start + self._now * _MS

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next event will carry; each event's is one more than the last."""
        return self._seq_base + self._event_count + 1

    def events_until(self, until: datetime) -> list[dict]:
        """Run the floor up to ``until`` (inclusive) and return the new events.

        Call it repeatedly with later instants to continue; an instant not later than
        :attr:`now` returns nothing.
        """
        if until.tzinfo is None:
            raise ValueError("until must be timezone-aware")
        if self._shut_down:
            return []
        limit = (until - self.start) // _MS
        while self._heap and self._heap[0][0] <= limit:
            when, _, action, args = heapq.heappop(self._heap)
            self._now = when
            action(*args)
        self._now = max(self._now, limit)
        out, self._out = self._out, []
        return out

    def shutdown(self) -> list[dict]:
        """End the run at :attr:`now`: return the events that close everything still open.

        Callers still waiting or ringing are released by the system without an agent
        (``call.ended``, never ``call.abandoned``: they did not give up). Calls in progress
        come off hold, then end with their agent, ``released_by: "system"`` and the
        disposition ``system_shutdown``, without a ``resolved`` verdict. Every agent still
        logged in is logged out with the reason ``system_shutdown``. Open complaints stay
        open: their callbacks are real promises. After this the floor produces nothing
        more; a second call returns no events.
        """
        if self._shut_down:
            return []
        self._shut_down = True
        self._heap.clear()
        open_calls = self._waiting + [a.call for a in self._agents if a.call is not None]
        for call in sorted(open_calls, key=lambda c: c.number):
            agent = call.agent if call.state == "talking" else None
            if agent is None:
                self._emit("call.ended", call_id=call.id, released_by="system")
            else:
                if call.held:
                    self._hold_ends(call, agent)
                self._emit(
                    "call.ended", call_id=call.id, agent=agent.profile.id,
                    released_by="system", disposition="system_shutdown",
                )
            call.state = "ended"
        self._waiting.clear()
        for agent in self._agents:
            agent.call = None
            if agent.state != "logged_out":
                self._logout(agent, "system_shutdown")
        out, self._out = self._out, []
        return out

    # -- building the floor ----------------------------------------------------------

    def _build_roster(self, count: int) -> list[AgentProfile]:
        rng = self._rng
        agent_names = names.unique_person_names(rng, count)
        hours = sorted(SHIFT_STARTS)
        heads = _allocate(count, [SHIFT_STARTS[h] for h in hours])
        shifts = [Shift(time(h)) for h, n in zip(hours, heads, strict=False) for _ in range(n)]
        primaries = _spread(count, self._queue_weights)
        teams = math.ceil(count / TEAM_SIZE)
        roster = []
        for k, (shift, primary) in enumerate(zip(shifts, primaries, strict=False)):
            skills = {self.queues[primary], self.queues[(primary + 1) % len(self.queues)]}
            if rng.random() < 0.5:
                skills.add(self.queues[(primary + 2) % len(self.queues)])
            roster.append(
                AgentProfile(
                    id=f"a{k + 1:03d}",
                    name=agent_names[k],
                    team=names.team_name(k * teams // count),
                    shift=shift,
                    skills=frozenset(skills),
                )
            )
        return roster

    def _default_peak(self) -> float:
        """The peak load the roster can carry while staying mostly within service level.

        For every quarter hour, the agents on shift (less breaks) can carry about ``E``
        erlangs, from the square-root staffing rule ``heads = E + SAFETY * sqrt(E)``; the
        load the curve asks for at that time is ``peak * demand``. The peak chosen is the
        one that a good three quarters of the day can carry.
        """
        handle_minutes = self._mean_handle_seconds() / 60
        ratios = []
        for quarter in range(96):
            moment = quarter / 4
            heads = sum(
                1 for p in self.roster
                if (moment - _hours(p.shift.start)) % 24 < p.shift.hours
            ) * ON_FLOOR_SHARE
            root = (-SAFETY + math.sqrt(SAFETY**2 + 4 * heads)) / 2
            ratios.append(max(root, 0.1) ** 2 / _demand_at(moment))
        ratios.sort()
        return ratios[len(ratios) // 4] / handle_minutes

    def _mean_handle_seconds(self) -> float:
        spread = math.exp(TALK_SIGMA**2 / 2)
        talk = sum(
            w * self._profiles[q].talk_median * spread
            for q, w in zip(self.queues, self._queue_weights, strict=False)
        )
        hold = HOLD_CHANCE * HOLD_MEDIAN * math.exp(HOLD_SIGMA**2 / 2)
        wrap_up = WRAP_UP_MEDIAN * math.exp(WRAP_UP_SIGMA**2 / 2)
        return RING_SECONDS + talk + hold + wrap_up

    # -- scheduling and emitting -----------------------------------------------------

    def _at(self, when: int, action: Callable[..., None], *args: object) -> None:
        heapq.heappush(self._heap, (when, next(self._tiebreak), action, args))

    def _after(self, delay_seconds: float, action: Callable[..., None], *args: object) -> None:
        self._at(self._now + max(1, round(delay_seconds * _SECOND)), action, *args)

    def _ts(self, when: int) -> str:
        return (self._start_utc + when * _MS).isoformat(timespec="milliseconds")

    def _emit(self, type_: str, **fields: object) -> None:
        self._event_count += 1
        event: dict = {
            "id": f"{self._id_prefix}{self._event_count}",
            "type": type_,
            "ts": self._ts(self._now),
            "seq": self._seq_base + self._event_count,
        }
        event.update(fields)
        self._out.append(event)

    def _local(self, when: int) -> datetime:
        return (self._start_utc + when * _MS).astimezone(self._tz)

    def _offset(self, moment: datetime) -> int:
        return (moment - self.start) // _MS

    def _lognormal(self, median: float, sigma: float) -> float:
        return self._rng.lognormvariate(math.log(median), sigma)

    # -- agents: shifts, breaks and states -------------------------------------------

    def _plan_first_shift(self, agent: _Agent) -> None:
        shift = agent.profile.shift
        first_day = self._local(0).date() - timedelta(days=1)
        for days in range(3):
            day = first_day + timedelta(days=days)
            begins = self._offset(datetime.combine(day, shift.start, tzinfo=self._tz))
            if begins + shift.hours * _HOUR > 15 * _MINUTE:
                self._at(max(0, begins - 10 * _MINUTE), self._shift_begins, agent, day)
                return

    def _shift_begins(self, agent: _Agent, day: date) -> None:
        """Shortly before a shift: plan the login and the next day's shift."""
        rng = self._rng
        shift = agent.profile.shift
        begins = self._offset(datetime.combine(day, shift.start, tzinfo=self._tz))
        ends = begins + round(shift.hours * _HOUR)
        if begins < self._now:
            # Already under way when the floor opens: log in within seconds, so a wall
            # display started with the floor fills up at once.
            login = self._now + rng.randrange(1 * _SECOND, 20 * _SECOND)
        else:
            login = begins + rng.randrange(-3 * _MINUTE, 4 * _MINUTE)
        self._at(max(self._now, login), self._login, agent, begins, ends)
        next_day = day + timedelta(days=1)
        next_begins = self._offset(datetime.combine(next_day, shift.start, tzinfo=self._tz))
        self._at(next_begins - 10 * _MINUTE, self._shift_begins, agent, next_day)

    def _login(self, agent: _Agent, begins: int, ends: int) -> None:
        if agent.state != "logged_out":  # a long call kept the last shift going
            self._after(60, self._login, agent, begins, ends)
            return
        rng = self._rng
        agent.shift_no += 1
        plan = [
            (rng.uniform(1.5, 2.5), "break", "short_break", rng.uniform(10, 15)),
            (rng.uniform(3.5, 5.0), "break", "lunch", rng.uniform(30, 45)),
            (rng.uniform(6.0, 7.0), "break", "short_break", rng.uniform(10, 15)),
        ]
        if rng.random() < 0.35:
            reason, low, high = rng.choice(
                (("coaching", 15, 25), ("training", 30, 60), ("meeting", 20, 30))
            )
            plan.append((rng.uniform(1.0, 7.5), "not_ready", reason, rng.uniform(low, high)))
        if rng.random() < 0.5:
            reason = rng.choice(("admin", "system_issue"))
            plan.append((rng.uniform(0.5, 8.0), "not_ready", reason, rng.uniform(2, 6)))
        for hours, state, reason, minutes in sorted(plan):
            due = begins + round(hours * _HOUR)
            if due > self._now:
                activity = (state, reason, round(minutes * _MINUTE))
                self._at(due, self._activity_due, agent, agent.shift_no, activity)
        self._at(
            max(ends, self._now + _MINUTE) + rng.randrange(90 * _SECOND),
            self._logout_due, agent, agent.shift_no,
        )
        self._set_state(agent, "available")
        self._become_idle(agent)

    def _activity_due(self, agent: _Agent, shift_no: int, activity: tuple[str, str, int]) -> None:
        if agent.shift_no != shift_no or agent.state == "logged_out" or agent.logout_pending:
            return
        if agent.free:
            self._begin_activity(agent, activity)
        else:
            agent.pending.append(activity)

    def _begin_activity(self, agent: _Agent, activity: tuple[str, str, int]) -> None:
        state, reason, duration = activity
        self._set_state(agent, state, reason)
        self._at(self._now + duration, self._activity_ends, agent)

    def _activity_ends(self, agent: _Agent) -> None:
        self._agent_released(agent)

    def _logout_due(self, agent: _Agent, shift_no: int) -> None:
        if agent.shift_no != shift_no or agent.state == "logged_out":
            return
        agent.pending.clear()
        if agent.free:
            self._logout(agent)
        else:
            agent.logout_pending = True

    def _logout(self, agent: _Agent, reason: str | None = None) -> None:
        agent.logout_pending = False
        agent.pending.clear()
        self._set_state(agent, "logged_out", reason)

    def _agent_released(self, agent: _Agent) -> None:
        """The agent finished a call's wrap-up or an activity: what next?"""
        if agent.logout_pending:
            self._logout(agent)
        elif agent.pending:
            self._begin_activity(agent, agent.pending.pop(0))
        else:
            self._set_state(agent, "available")
            self._become_idle(agent)

    def _set_state(self, agent: _Agent, state: str, reason: str | None = None) -> None:
        if (state, reason) == (agent.state, agent.reason):
            return  # e.g. a second break of the same kind straight after the first
        fields: dict[str, object] = {"agent": agent.profile.id, "state": state}
        if agent.state == "logged_out":
            fields["name"] = agent.profile.name
            fields["team"] = agent.profile.team
        if reason is not None:
            fields["reason"] = reason
        agent.state, agent.reason = state, reason
        self._emit("agent.state", **fields)

    def _become_idle(self, agent: _Agent) -> None:
        agent.idle_since = self._now
        waiting = [c for c in self._waiting if c.queue in agent.queues]
        if waiting:
            call = min(waiting, key=lambda c: (c.priority, c.waiting_since, c.number))
            self._waiting.remove(call)
            self._ring(call, agent)

    # -- calls -----------------------------------------------------------------------

    def _schedule_next_arrival(self) -> None:
        # Thinning: candidates at the peak rate, each kept with the hour's demand share.
        gap = self._rng.expovariate(self.peak_calls_per_minute / 60)
        self._after(gap, self._arrival)

    def _arrival(self) -> None:
        if self._rng.random() < self._demand(self._now):
            self._new_call()
        self._schedule_next_arrival()

    def _demand(self, when: int) -> float:
        return _demand_at(_hours(self._local(when).time()))

    def _new_call(self, caller: str | None = None, queue: str | None = None) -> None:
        rng = self._rng
        self._call_count += 1
        queue = queue or rng.choices(self.queues, self._queue_weights)[0]
        call = _Call(
            id=f"{self._call_prefix}{self._call_count}",
            number=self._call_count,
            queue=queue,
            caller=caller or names.phone_number(rng),
            waiting_since=self._now,
        )
        self._emit("call.queued", call_id=call.id, queue=queue, caller=call.caller)
        if rng.random() < 0.08:
            patience = rng.uniform(1, 5)  # hung up almost at once
        else:
            patience = self._lognormal(60, 0.8)
        self._after(patience, self._patience_runs_out, call)
        self._offer(call)

    def _offer(self, call: _Call) -> None:
        """Give the call to the longest-idle free agent with the skill, or let it wait."""
        free = [
            a for a in self._agents if a.free and call.queue in a.queues
        ]
        if free:
            self._ring(call, min(free, key=lambda a: (a.idle_since, a.order)))
        else:
            call.state = "waiting"
            self._waiting.append(call)

    def _maybe_call_again(self, call: _Call, chance_and_median: tuple[float, float]) -> None:
        """A caller whose problem was not solved may call the same queue again, within hours."""
        chance, median = chance_and_median
        if self._rng.random() < chance:
            delay = min(self._lognormal(median, 1.0), CALL_AGAIN_WITHIN_S)
            self._after(delay, self._new_call, call.caller, call.queue)

    def _patience_runs_out(self, call: _Call) -> None:
        if call.state == "waiting" and not call.transferred:
            self._waiting.remove(call)
            call.state = "abandoned"
            self._emit("call.abandoned", call_id=call.id)
            self._maybe_call_again(call, CALL_AGAIN_AFTER_ABANDON)

    def _ring(self, call: _Call, agent: _Agent) -> None:
        call.state = "ringing"
        agent.call = call
        self._after(self._rng.uniform(1, 2 * RING_SECONDS - 1), self._answer, call, agent)

    def _answer(self, call: _Call, agent: _Agent) -> None:
        call.state = "talking"
        call.agent = agent
        self._emit("call.answered", call_id=call.id, agent=agent.profile.id)
        self._set_state(agent, "on_call")
        self._talk(call, agent)

    def _talk(self, call: _Call, agent: _Agent) -> None:
        """Plan one agent's part of the call: talk, perhaps a hold, then end or transfer."""
        rng = self._rng
        talk = self._lognormal(self._profiles[call.queue].talk_median, TALK_SIGMA)
        hold = 0.0
        if rng.random() < HOLD_CHANCE:
            hold = self._lognormal(HOLD_MEDIAN, HOLD_SIGMA)
            hold_starts = talk * rng.uniform(0.2, 0.7)
            self._after(hold_starts, self._hold_starts, call, agent)
            self._after(hold_starts + hold, self._hold_ends, call, agent)
        transfer = not call.transferred and rng.random() < 0.05
        self._after(talk + hold + 0.5, self._part_ends, call, agent, transfer)

    def _hold_starts(self, call: _Call, agent: _Agent) -> None:
        call.held = True
        self._emit("call.hold_started", call_id=call.id, agent=agent.profile.id)

    def _hold_ends(self, call: _Call, agent: _Agent) -> None:
        call.held = False
        self._emit("call.hold_ended", call_id=call.id, agent=agent.profile.id)

    def _part_ends(self, call: _Call, agent: _Agent, transfer: bool) -> None:
        if transfer:
            self._transfer(call, agent)
        else:
            self._end(call, agent)

    def _transfer(self, call: _Call, agent: _Agent) -> None:
        rng = self._rng
        call.transferred = True
        colleagues = [
            a for a in self._agents
            if a.free and a is not agent and call.queue in a.queues
        ]
        if colleagues and rng.random() < 0.4:
            colleague = min(colleagues, key=lambda a: (a.idle_since, a.order))
            self._emit(
                "call.transferred", call_id=call.id,
                from_agent=agent.profile.id, to_agent=colleague.profile.id,
            )
            self._wrap_up(agent, rng.uniform(5, 20))
            colleague.call = call
            call.agent = colleague
            self._set_state(colleague, "on_call")
            self._talk(call, colleague)
            return
        others = [q for q in self.queues if q != call.queue] or [call.queue]
        call.queue = rng.choice(others)
        self._emit(
            "call.transferred", call_id=call.id,
            from_agent=agent.profile.id, to_queue=call.queue,
        )
        self._wrap_up(agent, rng.uniform(5, 20))
        call.agent = None
        call.priority = 0
        call.waiting_since = self._now
        self._offer(call)

    def _end(self, call: _Call, agent: _Agent) -> None:
        rng = self._rng
        profile = self._profiles[call.queue]
        draw = rng.random()
        released_by = "customer" if draw < 0.83 else "agent" if draw < 0.98 else "system"
        if released_by == "system":
            resolved, disposition = False, "dropped"
        else:
            resolved = rng.random() < 0.8
            disposition = rng.choice(profile.outcomes[0 if resolved else 1])
        call.state = "ended"
        self._emit(
            "call.ended", call_id=call.id, agent=agent.profile.id,
            released_by=released_by, resolved=resolved, disposition=disposition,
        )
        if not resolved:
            self._maybe_call_again(call, CALL_AGAIN_AFTER_UNRESOLVED)
        wrap_up = self._lognormal(WRAP_UP_MEDIAN, WRAP_UP_SIGMA)
        complaint_rate = profile.complaint_rate * (0.75 if resolved else 2.0)
        if rng.random() < complaint_rate:
            filing = rng.uniform(20, 60)
            self._after(filing, self._open_complaint, call.id, agent)
            wrap_up += filing + rng.uniform(10, 40)
        self._wrap_up(agent, wrap_up)
        if rng.random() < 0.3:
            weights = (3, 5, 12, 35, 45) if resolved else (20, 25, 25, 20, 10)
            score = rng.choices((1, 2, 3, 4, 5), weights)[0]
            self._after(rng.uniform(30, 240), self._survey, call.id, agent, score)

    # -- queue members -----------------------------------------------------------------

    def _announce_members(self, queue: str) -> None:
        members = sorted(a.profile.id for a in self._agents if queue in a.queues)
        self._emit("queue.members", queue=queue, agents=members)

    def _supervise(self) -> None:
        """Lend a free agent to each queue whose caller has waited too long; take back those lent
        to a queue where nobody waits any more, and those who logged out (not while a call rings)."""
        changed = set()
        waiting = {c.queue for c in self._waiting}
        for agent in self._agents:
            ringing = agent.call is not None and agent.call.state == "ringing"
            if agent.borrowed_by and not ringing and (agent.borrowed_by not in waiting or agent.state == "logged_out"):
                changed.add(agent.borrowed_by)
                agent.borrowed_by = None
        for queue in self.queues:
            waited = [self._now - c.waiting_since for c in self._waiting if c.queue == queue]
            if max(waited, default=0) < BORROW_AFTER_WAIT_S * _SECOND:
                continue
            free = [a for a in self._agents if a.free and not a.borrowed_by and queue not in a.queues]
            if free:
                lent = min(free, key=lambda a: (a.idle_since, a.order))
                lent.borrowed_by = queue
                changed.add(queue)
                self._become_idle(lent)
        for queue in sorted(changed):
            self._announce_members(queue)
        self._after(SUPERVISOR_EVERY_S, self._supervise)

    def _wrap_up(self, agent: _Agent, seconds: float) -> None:
        agent.call = None
        self._set_state(agent, "after_call_work")
        self._after(seconds, self._agent_released, agent)

    def _survey(self, call_id: str, agent: _Agent, score: int) -> None:
        self._emit("survey.completed", call_id=call_id, agent=agent.profile.id, score=score)

    # -- complaints ------------------------------------------------------------------

    def _open_complaint(self, call_id: str, agent: _Agent) -> None:
        rng = self._rng
        self._complaint_count += 1
        complaint_id = f"{self._complaint_prefix}{self._complaint_count}"
        high = rng.random() < 0.4
        promised = 2 * _HOUR if high else 24 * _HOUR
        self._emit(
            "complaint.opened", complaint_id=complaint_id, agent=agent.profile.id,
            call_id=call_id, customer=names.person_name(rng),
            due=self._ts(self._now + promised), severity="high" if high else "normal",
        )
        draw = rng.random()
        if draw < 0.72:
            delay = promised * rng.uniform(0.1, 0.95)
        elif draw < 0.9:
            delay = promised * rng.uniform(1.05, 1.6)
        else:
            return  # nobody calls back while the floor runs
        self._at(self._now + round(delay), self._callback, complaint_id, agent)

    def _callback(self, complaint_id: str, owner: _Agent) -> None:
        rng = self._rng
        if owner.state != "logged_out":
            agent = owner
        else:
            on_floor = [a for a in self._agents if a.state != "logged_out"]
            if not on_floor:
                self._after(15 * 60, self._callback, complaint_id, owner)
                return
            agent = rng.choice(on_floor)
        self._emit("complaint.callback_made", complaint_id=complaint_id, agent=agent.profile.id)
        self._after(rng.uniform(2, 60) * 60, self._close_complaint, complaint_id)

    def _close_complaint(self, complaint_id: str) -> None:
        resolved = self._rng.random() < 0.85
        self._emit("complaint.closed", complaint_id=complaint_id, resolved=resolved)


def _hours(moment: time) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600


def _demand_at(hours: float) -> float:
    """Share of the peak arrival rate at ``hours`` past local midnight."""
    low = int(hours) % 24
    frac = hours - int(hours)
    return DEMAND_BY_HOUR[low] * (1 - frac) + DEMAND_BY_HOUR[(low + 1) % 24] * frac


def _allocate(total: int, shares: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``shares`` (largest remainder)."""
    exact = [total * s / sum(shares) for s in shares]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _spread(count: int, weights: list[float]) -> list[int]:
    """Return ``count`` indexes into ``weights``, interleaved in proportion to them."""
    current = [0.0] * len(weights)
    picks = []
    for _ in range(count):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= 1.0
        picks.append(best)
    return picks
