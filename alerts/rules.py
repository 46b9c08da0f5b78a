"""The alert rules: pure functions from a read of the live floor to the alerts to raise and resolve.

:func:`evaluate` takes the floor as read at one instant (:class:`Floor`) and the alerts not yet
resolved, and says which alerts to raise, which to resolve, and the next instant at which a rule
can fire by the clock alone (a callback falling due, a hold or a wait passing its limit, a feed
silent for too long), so that the engine sleeps exactly until then. :func:`escalations` does the
same for unacknowledged alerts and the rota. Every figure comes from :mod:`callboard.metrics`.

A complaint's callback has two alerts, one after the other: ``callback_due_soon`` from
``CALLBOARD_ALERT_DUE_SOON_MIN`` before it is due, then ``callback_overdue`` from the due instant
on. Raising the overdue alert resolves the due-soon one without a message of its own (the overdue
message says more). Each alert's every state change notifies each recipient once.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from callboard import metrics
from callboard.settings import Settings

DUE_SOON, OVERDUE = "callback_due_soon", "callback_overdue"
HOLD, QUEUE_WAIT, SERVICE_LEVEL, FEED_DOWN = "hold_too_long", "queue_wait", "queue_service_level", "feed_down"
KINDS = (DUE_SOON, OVERDUE, HOLD, QUEUE_WAIT, SERVICE_LEVEL, FEED_DOWN)
RESOLVED_BY = "callboard"  # who resolves an alert whose cause has ended
# Limits are "longer than": a clock-driven instant is woken at just past the limit.
JUST_PAST = datetime.timedelta(milliseconds=1)


@dataclasses.dataclass(frozen=True)
class Rules:
    """The rules' thresholds, from the settings (checked when they were read)."""

    due_soon: datetime.timedelta
    hold: metrics.Thresholds  # the alert's hold limit, with the definition of "over the limit"
    queue_wait_s: float
    service_level_below: float  # 0: the rule is off
    feed_down_s: float
    escalate_after: datetime.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(due_soon=datetime.timedelta(minutes=settings.alert_due_soon_min),
                   hold=dataclasses.replace(settings.thresholds(), hold_limit_s=settings.alert_hold_limit_s),
                   queue_wait_s=settings.alert_queue_wait_s,
                   service_level_below=settings.alert_service_level_below,
                   feed_down_s=settings.alert_feed_down_s,
                   escalate_after=datetime.timedelta(minutes=settings.alert_escalate_after_min))


@dataclasses.dataclass(frozen=True)
class Floor:
    """The live state the rules read, as of ``now``."""

    now: datetime.datetime
    complaints: Sequence[Mapping[str, Any]]  # waiting for a callback, due by now + due_soon (alerts.complaints_due_by)
    next_complaint_due: datetime.datetime | None  # the first due after that
    holds: Sequence[Mapping[str, Any]]  # running now (live.open_holds)
    queues: Sequence[Mapping[str, Any]]  # metrics.queue_figures of each queue, today
    feeds: Sequence[Mapping[str, Any]]  # alerts.feeds


@dataclasses.dataclass(frozen=True)
class Raise:
    kind: str
    subject: str
    details: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Resolve:
    alert_id: int
    notify: bool  # False: superseded by a later alert about the same thing, which says more


@dataclasses.dataclass(frozen=True)
class Decisions:
    raises: list[Raise]
    resolves: list[Resolve]
    next_at: datetime.datetime | None  # the next instant a rule can fire without new data


def complaint_subject(feed: str, complaint_id: str) -> str:
    return f"{feed}/{complaint_id}"


def evaluate(floor: Floor, unresolved: Sequence[Mapping[str, Any]], rules: Rules) -> Decisions:
    """What to raise and resolve, given the floor and the alerts not yet resolved."""
    now = floor.now
    firing: dict[tuple[str, str], Mapping[str, Any]] = {}
    instants: list[datetime.datetime] = []

    for complaint in floor.complaints:
        deadline = metrics.callback_deadline(complaint["due"], now)
        subject = complaint_subject(complaint["feed"], complaint["complaint_id"])
        details = {"queue": complaint["queue"], "agent": complaint["agent"], "customer": complaint["customer"],
                   "due_at": complaint["due"]}
        if deadline["overdue"]:
            firing[OVERDUE, subject] = details
        else:
            if deadline["seconds_left"] <= rules.due_soon.total_seconds():
                firing[DUE_SOON, subject] = details
            instants.append(complaint["due"])
    if floor.next_complaint_due is not None:
        instants.append(floor.next_complaint_due - rules.due_soon)

    for hold in floor.holds:
        hold_s = metrics.elapsed_s(hold["started_at"], now)
        if metrics.hold_over_limit(hold_s, rules.hold):
            firing[HOLD, f"{hold['feed']}/{hold['call_id']}"] = {"queue": hold["queue"], "agent": hold["agent_name"],
                                                                 "value": round(hold_s)}
        else:
            instants.append(hold["started_at"] + datetime.timedelta(seconds=rules.hold.hold_limit_s) + JUST_PAST)

    for queue in floor.queues:
        subject = f"queue:{queue['queue']}"
        wait_s = queue["longest_wait_s"]
        if wait_s is not None:
            if wait_s > rules.queue_wait_s:
                firing[QUEUE_WAIT, subject] = {"queue": queue["queue"], "value": round(wait_s)}
            else:
                instants.append(now + datetime.timedelta(seconds=rules.queue_wait_s - wait_s) + JUST_PAST)
        level = queue["service_level"]
        if level is not None and level < rules.service_level_below:
            firing[SERVICE_LEVEL, subject] = {"queue": queue["queue"], "value": level}

    for feed in floor.feeds:
        down_s = metrics.feed_down_s(feed["connected"], feed["status_changed_at"], feed["heartbeat_at"], now)
        if down_s > rules.feed_down_s:
            firing[FEED_DOWN, f"feed:{feed['feed']}"] = {"value": round(down_s)}
        else:
            instants.append(now + datetime.timedelta(seconds=rules.feed_down_s - down_s) + JUST_PAST)

    open_now = {(alert["kind"], alert["subject"]) for alert in unresolved}
    raises = [Raise(kind, subject, details) for (kind, subject), details in firing.items()
              if (kind, subject) not in open_now]
    resolves = [Resolve(alert["id"], notify=not (alert["kind"] == DUE_SOON and (OVERDUE, alert["subject"]) in firing))
                for alert in unresolved if (alert["kind"], alert["subject"]) not in firing]
    return Decisions(raises, resolves, min((t for t in instants if t > now), default=None))


def escalations(unresolved: Sequence[Mapping[str, Any]], now: datetime.datetime, rules: Rules,
                levels_on_call: int) -> tuple[list[tuple[int, int]], datetime.datetime | None]:
    """(alert id, the level to escalate it to) for each open alert nobody acknowledged within the
    escalation time since they were last asked, while the rota has a further level with someone on
    call (``levels_on_call`` of them now); and the next instant one will be due."""
    due: list[tuple[int, int]] = []
    instants = []
    for alert in unresolved:
        if alert["state"] != "open" or alert["level"] + 1 >= levels_on_call:
            continue
        at = alert["last_called_at"] + rules.escalate_after
        if at <= now:
            due.append((alert["id"], alert["level"] + 1))
        else:
            instants.append(at)
    return due, min(instants, default=None)
