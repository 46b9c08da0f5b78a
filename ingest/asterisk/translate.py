"""Asterisk's queue events (AMI) as protocol events, with the state that takes.

Pure: no I/O. :meth:`Translator.translate` takes one AMI event and gives the protocol events it
means (often none); :meth:`Translator.rebuild` takes a ``QueueStatus`` reply after a (re)connect and
gives the events that bring the floor up to date. docs/integrations.md says how each event maps.

Identifiers:
- a call is the caller's channel ``Uniqueid`` (the Linkedid of a call that begins on that channel).
  ``QueueEntry``, all ``QueueStatus`` gives of a waiting caller, has no Linkedid, so the Uniqueid
  is what keeps a call's id the same across reconnects and restarts. A caller who leaves a queue
  unanswered and joins another (an overflow) starts a new call there, ``<Uniqueid>#2``;
- an agent is the queue member's ``Interface`` (``PJSIP/1001``, ``Local/1001@from-queue/n``), which
  every member and agent event carries; the member's ``MemberName`` becomes the agent's name.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..stored_floor import StoredFloor
from .ami import Headers
from .exceptions import AmiEventUnusable

SYSTEM = "asterisk-ami"
# A caller whose channel hangs up within this many seconds of QueueCallerAbandon hung up while
# waiting. Asterisk also sends QueueCallerAbandon when a caller leaves by the queue's timeout, when
# it empties or on a withdraw; those callers go on in the dialplan, and are not abandons.
ABANDON_HANGUP_WITHIN_S = 3.0
# Device states of QueueMemberStatus's Status: in use, busy, ringing while in use, on hold.
BUSY_DEVICE = frozenset({"2", "3", "7", "8"})
# Invalid, unavailable: the member's phone is not reachable.
UNREACHABLE_DEVICE = frozenset({"4", "5"})
RELEASED_BY = {"caller": "customer", "agent": "agent"}
# Timestamped events remembered to recognise one seen twice.
REMEMBERED_EVENTS = 10_000
MEMBER_EVENTS = frozenset({"QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause", "QueueMemberPaused"})

Event = dict[str, Any]


@dataclasses.dataclass
class Call:
    call_id: str
    caller_uid: str
    queue: str
    phase: str  # waiting, left (unanswered, not known how), abandoned (maybe), answered, transferring
    agent: str | None = None
    agent_uid: str | None = None
    linkedids: tuple[str, ...] = ()
    left_at: datetime | None = None
    left_by: Headers | None = None  # the AMI event that left the outcome pending
    visit: int = 1


@dataclasses.dataclass
class Member:
    name: str | None
    status: str
    paused: bool
    reason: str
    in_call: bool


@dataclasses.dataclass(frozen=True)
class Rebuilt:
    """What a QueueStatus reply changed: its events and how many calls it had to end."""

    events: list[Event]
    waiting: int
    ended_unseen: int


def event_time(headers: Headers, received_at: datetime) -> datetime:
    """The event's own ``Timestamp`` (``timestampevents=yes``), else when it arrived."""
    stamp = headers.get("Timestamp")
    if stamp is None:
        return received_at
    try:
        return datetime.fromtimestamp(float(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise AmiEventUnusable(f"{headers.get('Event', 'event')}: Timestamp {stamp!r} is not seconds since "
                               "1970") from None


def _need(headers: Headers, *names: str) -> list[str]:
    missing = [name for name in names if not headers.get(name)]
    if missing:
        raise AmiEventUnusable(f"{headers.get('Event', 'event')} without {', '.join(missing)}")
    return [headers[name] for name in names]


def _stamp(ts: datetime) -> str:
    return ts.isoformat()


class Translator:
    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}  # by the caller channel's Uniqueid
        self._by_agent_channel: dict[str, Call] = {}
        self._by_linkedid: dict[str, Call] = {}
        self._members: dict[str, dict[str, Member]] = {}  # queue -> agent -> member
        self._stored_members: dict[str, list[str]] = {}  # queue -> agents, as stored before a restart
        self._agent_states: dict[str, str] = {}  # what was last said of each agent
        self._seen: dict[tuple[tuple[str, str], ...], None] = {}  # recent timestamped events, oldest first

    # --- live events -------------------------------------------------------------------------

    def translate(self, headers: Headers, received_at: datetime) -> list[Event]:
        name = headers.get("Event")
        if name is None:
            return []  # a response to an action
        ts = event_time(headers, received_at)
        if "Timestamp" in headers and self._seen_before(headers):
            return []  # the same event again (a bridge that resends): said already
        events = self._decide_pending(name, headers, ts)
        handler = _HANDLERS.get(name)
        if handler is not None:
            events += handler(self, headers, ts)
        return events

    def _seen_before(self, headers: Headers) -> bool:
        fingerprint = tuple(sorted(headers.items()))
        if fingerprint in self._seen:
            return True
        self._seen[fingerprint] = None
        if len(self._seen) > REMEMBERED_EVENTS:
            del self._seen[next(iter(self._seen))]
        return False

    def _decide_pending(self, name: str, headers: Headers, ts: datetime) -> list[Event]:
        """A caller who left a queue unanswered: is what their channel does now telling how?"""
        call = self._calls.get(headers.get("Uniqueid", ""))
        if call is None or call.phase not in ("left", "abandoned"):
            return []
        went_on = (name == "QueueCallerJoin"
                   or (name == "VarSet" and headers.get("Variable") == "QUEUESTATUS")
                   or (name == "Newexten" and headers.get("Exten") not in ("h", None)))
        if name == "Hangup":
            hung_up_waiting = (call.phase == "abandoned"
                               and ts - call.left_at <= timedelta(seconds=ABANDON_HANGUP_WITHIN_S))
            return [self._abandoned(call) if hung_up_waiting else self._left_unanswered(call)]
        return [self._left_unanswered(call)] if went_on else []

    def _abandoned(self, call: Call) -> Event:
        self._forget(call)
        return _event("call.abandoned", f"{call.call_id}:abandoned", call.left_at, call.left_by,
                      call_id=call.call_id)

    def _left_unanswered(self, call: Call) -> Event:
        """Left by a timeout, an empty queue, a key press or a withdraw: offered, neither answered
        nor abandoned (docs/metrics.md), so the call ends, released by the system."""
        self._forget(call)
        return _event("call.ended", f"{call.call_id}:ended", call.left_at, call.left_by,
                      call_id=call.call_id, released_by="system")

    def _join(self, headers: Headers, ts: datetime) -> list[Event]:
        queue, uid = _need(headers, "Queue", "Uniqueid")
        call = self._calls.get(uid)
        if call is not None and call.phase in ("answered", "transferring"):
            from_agent = call.agent
            self._unindex(call)
            call.phase, call.queue, call.agent, call.agent_uid = "waiting", queue, None, None
            return [_event("call.transferred", f"{call.call_id}:transferred:{_stamp(ts)}", ts, headers,
                           call_id=call.call_id, from_agent=from_agent, to_queue=queue)]
        if call is None or call.phase != "waiting":
            visit = 1 if call is None else call.visit + 1  # after one that was decided just now
            call_id = uid if visit == 1 else f"{uid}#{visit}"
            call = Call(call_id, uid, queue, "waiting", visit=visit)
            self._calls[uid] = call
        caller = headers.get("CallerIDNum") or "<unknown>"
        return [_event("call.queued", f"{call.call_id}:queued", ts, headers,
                       call_id=call.call_id, queue=call.queue, caller=caller)]

    def _caller_abandon(self, headers: Headers, ts: datetime) -> list[Event]:
        return self._leave(headers, ts, "abandoned")

    def _caller_leave(self, headers: Headers, ts: datetime) -> list[Event]:
        return self._leave(headers, ts, "left")

    def _leave(self, headers: Headers, ts: datetime, phase: str) -> list[Event]:
        (uid,) = _need(headers, "Uniqueid")
        call = self._calls.get(uid)
        if call is not None and (call.phase == "waiting" or (call.phase == "left" and phase == "abandoned")):
            call.phase, call.left_at, call.left_by = phase, ts, headers
        return []  # decided by what the caller's channel does next (see _decide_pending)

    def _connect(self, headers: Headers, ts: datetime) -> list[Event]:
        uid, agent, agent_uid = _need(headers, "Uniqueid", "Interface", "DestUniqueid")
        events, call = self._call_seen_first_by_agent(headers, ts, "HoldTime", 0)
        call.phase, call.agent, call.agent_uid = "answered", agent, agent_uid
        call.left_at = call.left_by = None
        call.linkedids = tuple({headers.get("Linkedid"), headers.get("DestLinkedid")} - {None, ""})
        self._index(call)
        events += self._name(agent, headers.get("MemberName"), ts, headers)
        events.append(_event("call.answered", f"{call.call_id}:answered:{agent_uid}", ts, headers,
                             call_id=call.call_id, agent=agent))
        return events

    def _call_seen_first_by_agent(self, headers: Headers, ts: datetime, wait_header: str,
                                  talked_s: float) -> tuple[list[Event], Call]:
        """The call of an agent event; one never seen waiting (it joined before a restart) is queued
        now from the event's own hold time."""
        uid = headers["Uniqueid"]
        call = self._calls.get(uid)
        if call is not None and call.phase in ("waiting", "left", "answered", "transferring"):
            return [], call
        queued_at = ts - timedelta(seconds=talked_s + _seconds(headers, wait_header))
        events = self._join(headers, queued_at)
        return events, self._calls[uid]

    def _complete(self, headers: Headers, ts: datetime) -> list[Event]:
        uid, agent, reason = _need(headers, "Uniqueid", "Interface", "Reason")
        if reason not in (*RELEASED_BY, "transfer"):
            raise AmiEventUnusable(f"AgentComplete with Reason {reason!r} (known: caller, agent, transfer)")
        call = self._calls.get(uid)
        if call is not None and call.phase == "decided":
            return []  # said already
        events: list[Event] = []
        if call is None or call.phase not in ("answered", "transferring"):  # answered while disconnected
            talked = _seconds(headers, "TalkTime")
            events, call = self._call_seen_first_by_agent(headers, ts, "HoldTime", talked)
            events += self._connect(headers, ts - timedelta(seconds=talked))
        if reason == "transfer":
            call.phase, call.left_at, call.left_by = "transferring", ts, headers
            return events  # to a queue if the caller joins one next, else out of the queues
        self._forget(call)
        events.append(_event("call.ended", f"{call.call_id}:ended", ts, headers, call_id=call.call_id,
                             agent=agent, released_by=RELEASED_BY[reason]))
        return events

    def _hangup(self, headers: Headers, ts: datetime) -> list[Event]:
        uid = headers.get("Uniqueid", "")
        call = self._calls.get(uid)
        events: list[Event] = []
        if call is None:
            return events
        if call.phase == "transferring":  # transferred out of the queues, now over
            events.append(self._transferred_out(call))
        elif call.phase == "waiting":  # gone from the queue without QueueCallerAbandon
            call.left_at, call.left_by = ts, headers
            events.append(self._abandoned(call))
        if call.phase == "decided":
            del self._calls[uid]  # the channel is gone: no later visit
        return events  # an answered call is ended by its AgentComplete

    def _transferred_out(self, call: Call) -> Event:
        self._forget(call)
        return _event("call.ended", f"{call.call_id}:ended", call.left_at, call.left_by, call_id=call.call_id,
                      agent=call.agent, released_by="agent", disposition="transferred")

    def _hold(self, headers: Headers, ts: datetime) -> list[Event]:
        call = self._call_of_channel(headers)
        if call is None:
            return []  # not a queue call in progress
        kind = "call.hold_started" if headers["Event"] == "Hold" else "call.hold_ended"
        return [_event(kind, f"{call.call_id}:{kind.removeprefix('call.')}:{_stamp(ts)}", ts, headers,
                       call_id=call.call_id, agent=call.agent)]

    def _call_of_channel(self, headers: Headers) -> Call | None:
        """The answered call a channel is part of: as the agent's leg, as the caller, or by its Linkedid
        (the agent's phone behind a Local channel shares the call's Linkedid)."""
        uid, linkedid = headers.get("Uniqueid", ""), headers.get("Linkedid", "")
        call = self._by_agent_channel.get(uid)
        if call is None and uid in self._calls and self._calls[uid].phase == "answered":
            call = self._calls[uid]
        return call or self._by_linkedid.get(linkedid)

    def _member(self, headers: Headers, ts: datetime) -> list[Event]:
        queue, agent = _need(headers, "Queue", "Interface")
        name = headers.get("MemberName")
        members = self._members.setdefault(queue, {})
        known = members.get(agent)
        paused = headers.get("Paused", "1" if known and known.paused else "0") == "1"
        members[agent] = Member(
            name=name or (known.name if known else None),
            status=headers.get("Status", known.status if known else "0"),
            paused=paused,
            reason=(headers.get("PausedReason") or headers.get("Reason") or "") if paused else "",
            in_call=headers.get("InCall", "1" if known and known.in_call else "0") == "1",
        )
        events = self._queue_members(queue, ts, headers) if known is None else []
        return events + self._state(agent, ts, headers)

    def _member_removed(self, headers: Headers, ts: datetime) -> list[Event]:
        queue, agent = _need(headers, "Queue", "Interface")
        if self._members.get(queue, {}).pop(agent, None) is None:
            return []
        return self._queue_members(queue, ts, headers) + self._state(agent, ts, headers)

    def _queue_members(self, queue: str, ts: datetime, source: Headers | list[Headers]) -> list[Event]:
        agents = sorted(self._members.get(queue, {}))
        which = hashlib.sha256("\n".join(agents).encode()).hexdigest()[:12]
        return [_event("queue.members", f"{queue}:members:{_stamp(ts)}:{which}", ts, source, queue=queue,
                       agents=agents)]

    def _state(self, agent: str, ts: datetime, source: Headers | list[Headers]) -> list[Event]:
        """agent.state when what the agent's memberships add up to has changed."""
        memberships = [members[agent] for members in self._members.values() if agent in members]
        reason = ""
        if not memberships:
            state, reason = "logged_out", "removed from every queue"
        elif any(m.in_call or m.status in BUSY_DEVICE for m in memberships):
            state = "on_call"
        elif all(m.paused for m in memberships):
            state, reason = "not_ready", next((m.reason for m in memberships if m.reason), "")
        elif any(m.status in UNREACHABLE_DEVICE for m in memberships):
            state, reason = "logged_out", "device unavailable"
        else:
            state = "available"
        said = f"{state}/{reason}"
        if self._agent_states.get(agent) == said:
            return []
        self._agent_states[agent] = said
        name = next((m.name for m in memberships if m.name), None)
        fields = {"agent": agent, "state": state}
        if name:
            fields["name"] = name
        if reason:
            fields["reason"] = reason
        return [_event("agent.state", f"{agent}:state:{state}:{_stamp(ts)}", ts, source, **fields)]

    def _name(self, agent: str, name: str | None, ts: datetime, source: Headers) -> list[Event]:
        """An agent first met on a call (not a member we were told of) is announced, on the call."""
        if agent in self._agent_states:
            return []
        self._agent_states[agent] = "on_call/"
        fields = {"name": name} if name else {}
        return [_event("agent.state", f"{agent}:state:on_call:{_stamp(ts)}", ts, source, agent=agent, state="on_call",
                       **fields)]

    # --- at start, and after a (re)connect -------------------------------------------------------

    def take_up(self, floor: StoredFloor) -> None:
        """Continue from what the ingest stored before it was restarted: the calls in progress (their
        visit, phase, agent and channels) and what was last said of each agent, so that the rebuild
        and the calls' next events make only what is new. Else a call answered before the restart
        would be queued and answered again at its AgentComplete, from whole-second durations (at
        other times: stored twice, its queue time moved), a caller waiting would be queued again
        from QueueEntry's Wait, every member's state would be said again at the rebuild's time, and
        the call's holds on its agent's channel would not be recognised."""
        for stored in floor.calls:
            uid, _, visit = stored.call_id.partition("#")
            call = Call(stored.call_id, uid, stored.queue or "", "waiting" if stored.waiting else "answered",
                        visit=int(visit) if visit.isdigit() else 1)
            if stored.answered is not None:
                call.agent = stored.answered.get("agent")
                source = stored.answered.get("source")
                headers = source.get("event") if isinstance(source, dict) else None
                if isinstance(headers, dict):  # the AgentConnect (or AgentComplete) it was made from
                    call.agent_uid = headers.get("DestUniqueid")
                    call.linkedids = tuple({headers.get("Linkedid"), headers.get("DestLinkedid")} - {None, ""})
                self._index(call)
            self._calls[uid] = call
        for agent, (state, reason) in floor.agent_states.items():
            self._agent_states.setdefault(agent, f"{state}/{reason}")
        self._stored_members = floor.members

    # --- after a (re)connect -------------------------------------------------------------------

    def rebuild(self, status: Iterable[Headers], now: datetime, channels: set[str] | None) -> Rebuilt:
        """Bring the floor up to date from a QueueStatus reply (its QueueParams, QueueMember and
        QueueEntry events): the callers waiting, the members and their states. Calls this
        translator thought waiting or answered that are over end now, released by the system: how
        they ended happened while nobody was listening. An answered call is over when its caller's
        channel is not among ``channels`` (the Uniqueids CoreShowChannels lists) or, without them,
        when its agent is on no queue call. One whose agent's channel is gone is over too: the
        agent transferred it (the AgentComplete that said so may have come before a restart, which
        reads the call back as answered)."""
        status = list(status)
        params = [h for h in status if h.get("Event") == "QueueParams"]
        entries = [h for h in status if h.get("Event") == "QueueEntry"]
        listed = [h for h in status if h.get("Event") == "QueueMember"]
        events: list[Event] = []
        members: dict[str, dict[str, Member]] = {_need(h, "Queue")[0]: {} for h in params}
        for h in listed:
            queue, agent = _need(h, "Queue", "Location")
            members.setdefault(queue, {})[agent] = Member(
                name=h.get("Name") or None, status=h.get("Status", "0"), paused=h.get("Paused") == "1",
                reason=h.get("PausedReason", "") if h.get("Paused") == "1" else "", in_call=h.get("InCall") == "1")
        # Members known before: of the last connection, or as stored before a restart. A queue or an
        # agent QueueStatus no longer lists was removed meanwhile: the queue is said to have none, the
        # agent (in no queue now) to be logged out.
        before = {agent for queue_members in self._members.values() for agent in queue_members}
        before |= {agent for agents in self._stored_members.values() for agent in agents}
        queues = set(members) | {queue for queue in self._members} | set(self._stored_members)
        self._members, self._stored_members = members, {}
        for queue in sorted(queues):
            events += self._queue_members(queue, now, [h for h in status if h.get("Queue") == queue])
        for agent in sorted(before | {agent for m in members.values() for agent in m}):
            events += self._state(agent, now, [h for h in listed if h.get("Location") == agent])

        waiting = {_need(h, "Uniqueid")[0]: h for h in entries}
        busy_agents = {agent for m in members.values() for agent, member in m.items() if member.in_call}

        def over(call: Call) -> bool:
            """Is this answered (or transferred) call over for its queue: its caller gone, or its agent
            no longer on it (a transfer whose AgentComplete came before a restart)?"""
            if channels is not None:
                agent_gone = call.agent_uid is not None and call.agent_uid not in channels
                return call.caller_uid not in channels or agent_gone
            return call.phase == "transferring" or call.agent not in busy_agents

        ended = 0
        for call in list(self._calls.values()):
            if call.caller_uid in waiting:
                continue
            if call.phase == "decided":
                if channels is not None and call.caller_uid not in channels:
                    del self._calls[call.caller_uid]  # its Hangup came while disconnected
            elif call.phase in ("waiting", "left", "abandoned"):
                if call.phase == "waiting":
                    call.left_at, call.left_by = now, {"Event": "QueueStatusComplete"}
                events.append(self._left_unanswered(call))
                ended += 1
            elif call.phase == "transferring" and over(call):
                events.append(self._transferred_out(call))
            elif call.phase == "answered" and over(call):
                self._forget(call)
                gone = {"Event": "CoreShowChannelsComplete" if channels is not None else "QueueStatusComplete"}
                events.append(_event("call.ended", f"{call.call_id}:ended", now, gone, call_id=call.call_id,
                                     agent=call.agent, released_by="system"))
                ended += 1
        for uid, h in waiting.items():
            call = self._calls.get(uid)
            if call is None or call.phase != "waiting":
                events += self._join(h, now - timedelta(seconds=_seconds(h, "Wait")))
        return Rebuilt(events, len(waiting), ended)

    # --- bookkeeping ---------------------------------------------------------------------------

    def _index(self, call: Call) -> None:
        if call.agent_uid:
            self._by_agent_channel[call.agent_uid] = call
        for linkedid in call.linkedids:
            self._by_linkedid[linkedid] = call

    def _unindex(self, call: Call) -> None:
        if call.agent_uid and self._by_agent_channel.get(call.agent_uid) is call:
            del self._by_agent_channel[call.agent_uid]
        for linkedid in call.linkedids:
            if self._by_linkedid.get(linkedid) is call:
                del self._by_linkedid[linkedid]
        call.linkedids = ()

    def _forget(self, call: Call) -> None:
        """The call is decided. Its caller's Uniqueid stays known (as decided) so a later join of the
        same channel starts the next visit's call."""
        self._unindex(call)
        call.phase = "decided"


def _seconds(headers: Headers, name: str) -> float:
    value = headers.get(name, "0") or "0"
    try:
        return max(0.0, float(value))
    except ValueError:
        raise AmiEventUnusable(f"{headers.get('Event', 'event')}: {name} {value!r} is not a number of seconds") \
            from None


def _event(kind: str, key: str, ts: datetime, source: Headers | list[Headers] | None, **fields: Any) -> Event:
    return {"id": f"ami:{key}", "type": kind, "ts": ts.isoformat(), **fields,
            "source": {"system": SYSTEM, "event": source}}


_HANDLERS = {
    "QueueCallerJoin": Translator._join,
    "QueueCallerAbandon": Translator._caller_abandon,
    "QueueCallerLeave": Translator._caller_leave,
    "AgentConnect": Translator._connect,
    "AgentComplete": Translator._complete,
    "Hangup": Translator._hangup,
    "Hold": Translator._hold,
    "Unhold": Translator._hold,
    "QueueMemberRemoved": Translator._member_removed,
    **{name: Translator._member for name in MEMBER_EVENTS},
}
