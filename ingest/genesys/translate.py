"""Genesys Cloud's conversations and user activity, made into protocol events (docs/events.md).

A conversation notification (topic ``v2.routing.queues.{id}.conversations``) and the answer of
``GET /api/v2/conversations/{id}`` both give the whole conversation as it is now: its participants
(purpose customer, acd, agent) with their calls (state, held, startHoldTime, connectedTime,
disconnectType). :class:`Translator` reads the call's story from that picture each time and
returns only the events it has not returned before. Every event's id is made from the
conversation's id, what happened and Genesys' own time for it, so the same fact seen twice (two
notifications, a notification and a status query after a reconnect, two channels during a switch)
is one event. The one fact Genesys gives no time for is the end of a hold: that is stamped when
first seen (and never before the hold's start), and named by the hold's start.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from .exceptions import Untranslatable

# Conversations whose calls ended are remembered this many at a time, so that late notifications
# about them (wrap-up, say) do not hand the same events over again.
ENDED_REMEMBERED = 10_000
# A conversation the status queries no longer list as in progress, and not heard of for this long,
# is taken to have ended unseen (while disconnected, or after it left the queues' topics), and no
# longer followed.
FORGET_AFTER = timedelta(minutes=10)
# A conversation not heard of for this long is given up even if the status queries still list it:
# no call goes that long without a change Genesys notifies.
GIVE_UP_AFTER = timedelta(hours=12)

CUSTOMER_PURPOSES = ("customer", "external")
AGENT_PURPOSES = ("agent", "user")
# disconnectType: "endpoint" (this side hung up), "client" (the agent's client ended it), "peer"
# (the other side hung up); the rest (system, timeout, transfer, error, ...) were neither person.
HUNG_UP = ("endpoint", "client")

# An agent's Genesys presence (systemPresence) while off queue, as a protocol state and reason.
OFF_QUEUE_PRESENCE = {"break": "break", "meal": "break"}
ROUTING_STATES = {"IDLE": "available", "INTERACTING": "on_call", "COMMUNICATING": "on_call",
                  "NOT_RESPONDING": "not_ready"}


class Translator:
    def __init__(self) -> None:
        self._handed_over: dict[str, set[str]] = {}  # event ids, by conversation in progress
        self._ended: OrderedDict[str, set[str]] = OrderedDict()
        self._open_holds: dict[tuple[str, str], str] = {}  # (conversation, participant) -> startHoldTime
        self._last_seen: dict[str, datetime] = {}  # conversation in progress -> when last heard of

    def conversation(self, conversation: Any, seen_at: datetime) -> list[dict[str, Any]]:
        """The events the conversation's present picture adds to what was handed over before."""
        if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
            raise Untranslatable("a conversation without an id")
        participants = conversation.get("participants")
        if not isinstance(participants, list) or not all(isinstance(p, dict) for p in participants):
            raise Untranslatable(f"conversation {conversation['id']}: participants is not a list of objects")
        if not all(isinstance(p.get("id"), str) for p in participants):
            raise Untranslatable(f"conversation {conversation['id']}: a participant without an id")
        events = self._story(conversation["id"], participants, _stamp(seen_at))
        conversation_id = conversation["id"]
        ended_before = self._ended.get(conversation_id)
        before = ended_before if ended_before is not None else self._handed_over.setdefault(conversation_id, set())
        new = [event for event in events if event["id"] not in before]
        before.update(event["id"] for event in new)
        if ended_before is not None or _over(participants):  # let go as it ends, with or without a call
            self._forget(conversation_id, before)
        else:
            self._last_seen[conversation_id] = seen_at
        return new

    @property
    def following(self) -> int:
        """How many conversations in progress are followed (the state kept grows with them only)."""
        return len(self._handed_over)

    def forget_all_but(self, in_progress: set[str], now: datetime) -> list[dict[str, Any]]:
        """After the status queries: a conversation followed that is not in progress any more, and has
        not been heard of for FORGET_AFTER (Genesys' analytics can lag behind its notifications), ended
        unseen; the events that end its call now, released by the system (how it ended was not seen),
        so that it does not stay on the floor."""
        quiet = [c for c in self._handed_over if c not in in_progress and now - self._last_seen[c] > FORGET_AFTER]
        return [event for conversation_id in quiet for event in self._end_unseen(conversation_id, now)]

    def give_up_quiet(self, now: datetime) -> tuple[list[str], list[dict[str, Any]]]:
        """Conversations not heard of for GIVE_UP_AFTER, whatever the status queries say, and the events
        that end their calls now, released by the system."""
        quiet = [c for c in self._handed_over if now - self._last_seen[c] > GIVE_UP_AFTER]
        return quiet, [event for conversation_id in quiet for event in self._end_unseen(conversation_id, now)]

    def _end_unseen(self, conversation_id: str, now: datetime) -> list[dict[str, Any]]:
        """Stop following a conversation whose end was not seen; its call's end, if it was queued."""
        handed_over = self._handed_over[conversation_id]
        end = {"id": f"{conversation_id}:ended", "type": "call.ended", "ts": _stamp(now),
               "call_id": conversation_id, "released_by": "system"}
        queued = any(event_id.startswith(f"{conversation_id}:queued:") for event_id in handed_over)
        self._forget(conversation_id, handed_over | {end["id"]})
        return [end] if queued and end["id"] not in handed_over else []

    def _forget(self, conversation_id: str, handed_over: set[str]) -> None:
        self._handed_over.pop(conversation_id, None)
        self._last_seen.pop(conversation_id, None)
        self._ended[conversation_id] = handed_over
        self._ended.move_to_end(conversation_id)
        while len(self._ended) > ENDED_REMEMBERED:
            self._ended.popitem(last=False)
        for key in [key for key in self._open_holds if key[0] == conversation_id]:
            del self._open_holds[key]

    def _story(self, conversation_id: str, participants: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
        customer = next((p for p in participants if p.get("purpose") in CUSTOMER_PURPOSES), None)
        if customer is None:
            return []  # not (yet) a call from outside
        steps = []
        for participant in participants:
            call = _call(participant)
            if participant.get("purpose") == "acd" and participant.get("queueId"):
                at = participant.get("connectedTime") or participant.get("startTime")
                if at:
                    steps.append((time_of(at), "queue", at, participant))
            elif participant.get("purpose") in AGENT_PURPOSES and participant.get("userId"):
                if at := call.get("connectedTime"):
                    steps.append((time_of(at), "agent", at, participant))
        steps.sort(key=lambda step: step[0])

        events: list[dict[str, Any]] = []

        def event(kind: str, key: str, ts: str, **fields: Any) -> None:
            events.append({"id": f"{conversation_id}:{key}", "type": kind, "ts": ts,
                           "call_id": conversation_id, **fields})

        queued = waiting = False
        last_agent: dict[str, Any] | None = None
        for _, step, at, participant in steps:
            if step == "queue":
                if not queued:
                    event("call.queued", f"queued:{at}", at, queue=participant["queueId"], caller=_caller(customer))
                    queued = True
                elif last_agent is not None and not waiting:
                    event("call.transferred", f"to_queue:{participant['id']}:{at}", at,
                          from_agent=last_agent["userId"], to_queue=participant["queueId"])
                waiting = True
            elif queued:
                agent = participant["userId"]
                if waiting:
                    event("call.answered", f"answered:{participant['id']}:{at}", at, agent=agent)
                elif last_agent is not None and last_agent["userId"] != agent:
                    event("call.transferred", f"to_agent:{participant['id']}:{at}", at,
                          from_agent=last_agent["userId"], to_agent=agent)
                waiting = False
                last_agent = participant
                events.extend(self._holds(conversation_id, participant, now))
                if acw := participant.get("startAcwTime"):
                    events.append({"id": f"{agent}:after_call_work:{acw}", "type": "agent.state", "ts": acw,
                                   "agent": agent, "state": "after_call_work"})
        if not queued:
            return []

        customer_call = _call(customer)
        if not _left(customer):
            return events
        ended_at = customer.get("endTime") or customer_call.get("disconnectedTime") or now
        customer_hung_up = customer_call.get("disconnectType") in HUNG_UP
        if waiting and customer_hung_up:
            event("call.abandoned", "abandoned", ended_at)
        elif last_agent is None:  # left the queue unanswered other than by hanging up: not an abandon
            event("call.ended", "ended", ended_at, released_by="system")
        else:
            agent_disconnect = _call(last_agent).get("disconnectType")
            if customer_hung_up or agent_disconnect == "peer":
                released_by = "customer"
            elif agent_disconnect in HUNG_UP:
                released_by = "agent"
            else:
                released_by = "system"
            event("call.ended", "ended", ended_at, agent=last_agent["userId"], released_by=released_by)
        return events

    def _holds(self, conversation_id: str, participant: dict[str, Any], now: str) -> list[dict[str, Any]]:
        """The agent's hold running now, and the end of the one that ran before, if it has ended."""
        call = _call(participant)
        key = (conversation_id, participant["id"])
        held_since = call.get("startHoldTime") if call.get("held") else None
        events = []
        before = self._open_holds.get(key)
        if before is not None and before != held_since and call.get("state") == "connected":
            ended = max(now, before, key=time_of)  # never before its start, whatever our clocks' difference
            events.append({"id": f"{conversation_id}:hold_ended:{participant['id']}:{before}",
                           "type": "call.hold_ended", "ts": ended, "call_id": conversation_id,
                           "agent": participant["userId"]})
        if held_since:
            self._open_holds[key] = held_since
            events.append({"id": f"{conversation_id}:hold_started:{participant['id']}:{held_since}",
                           "type": "call.hold_started", "ts": held_since, "call_id": conversation_id,
                           "agent": participant["userId"]})
        else:
            self._open_holds.pop(key, None)
        return events


def agent_state(user_id: str, activity: Any, name: str | None = None) -> dict[str, Any]:
    """An agent.state from a user's routing status and presence (the body of a ``v2.users.{id}.activity``
    notification, or a queue member's user). Offline is logged out; on queue, the routing status
    says available, on a call or not responding; off queue, a break or meal is a break and any other
    presence is not ready, with the presence as the reason."""
    if not isinstance(activity, dict):
        raise Untranslatable(f"user {user_id}: activity is not an object")
    routing = activity.get("routingStatus") if isinstance(activity.get("routingStatus"), dict) else {}
    presence = activity.get("presence") if isinstance(activity.get("presence"), dict) else {}
    definition = presence.get("presenceDefinition") if isinstance(presence.get("presenceDefinition"), dict) else {}
    system_presence = str(definition.get("systemPresence") or "")
    status = routing.get("status") if isinstance(routing.get("status"), str) else None
    times = [at for at in (routing.get("startTime"), presence.get("modifiedDate")) if isinstance(at, str)]
    if not times or not (status or system_presence):
        raise Untranslatable(f"user {user_id}: neither a routing status nor a presence, with its time")
    ts = max(times, key=time_of)
    reason = None
    if system_presence.lower() == "offline":
        state = "logged_out"
    elif status in ROUTING_STATES:
        state = ROUTING_STATES[status]
        reason = "not_responding" if status == "NOT_RESPONDING" else None
    else:
        state = OFF_QUEUE_PRESENCE.get(system_presence.lower(), "not_ready")
        reason = system_presence.lower().replace(" ", "_") or None
    event = {"id": f"{user_id}:{state}:{ts}", "type": "agent.state", "ts": ts, "agent": user_id, "state": state}
    if reason:
        event["reason"] = reason
    if name:
        event["name"] = name
    return event


def queue_members(queue_id: str, agents: list[str], at: datetime) -> dict[str, Any]:
    """The queue's whole member list now; named by the list and the time, so a repeat is one event."""
    digest = hashlib.sha256("\n".join(sorted(agents)).encode()).hexdigest()[:16]
    ts = _stamp(at)
    return {"id": f"{queue_id}:members:{digest}:{ts}", "type": "queue.members", "ts": ts, "queue": queue_id,
            "agents": sorted(set(agents))}


def _over(participants: list[dict[str, Any]]) -> bool:
    """Has the conversation ended: its customer gone or, in one without a customer, everyone?"""
    customer = next((p for p in participants if p.get("purpose") in CUSTOMER_PURPOSES), None)
    if customer is not None:
        return _left(customer)
    return bool(participants) and all(_left(p) for p in participants)


def _left(participant: dict[str, Any]) -> bool:
    return bool(participant.get("endTime")) or _call(participant).get("state") in ("disconnected", "terminated")


def _call(participant: dict[str, Any]) -> dict[str, Any]:
    calls = participant.get("calls")
    return calls[-1] if isinstance(calls, list) and calls and isinstance(calls[-1], dict) else {}


def _caller(customer: dict[str, Any]) -> str:
    """The caller's number (ANI) as Genesys gives it, without its tel: or sip: prefix; a withheld one
    is "anonymous", as Genesys itself shows it."""
    own = _call(customer).get("self")
    address = (customer.get("ani") or customer.get("address")
               or (own.get("addressNormalized") if isinstance(own, dict) else None) or "")
    return str(address).removeprefix("tel:").removeprefix("sip:") or "anonymous"


def time_of(text: str) -> datetime:
    """One of Genesys' times (ISO 8601, in UTC)."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise Untranslatable(f"{text!r} is not a time") from None


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
