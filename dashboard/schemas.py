"""The shapes of the JSON API's answers, declared once: FastAPI checks every answer against them
and publishes them at ``/openapi.json``. The figures are defined in ``docs/metrics.md``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

# RFC 3339 in the site time zone, passed through as written (never re-formatted).
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Rate = Annotated[float | None, Field(description="a fraction in [0, 1]; null when there is nothing to count")]
Seconds = Annotated[float | None, Field(description="seconds; null when there is nothing to measure")]


class Shape(BaseModel):
    """Answers carry exactly the declared fields (additionalProperties: false in the schema)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Error(Shape):
    error: str
    parameter: str


class AgentCounts(Shape):
    available: int
    on_call: int
    on_hold: Annotated[int, Field(description="agents with a call on hold now (also counted in on_call)")]
    after_call_work: int
    break_: int = Field(alias="break")
    not_ready: int


class WindowFigures(Shape):
    offered: int
    answered: int
    answered_on_time: Annotated[int, Field(description="answered within the answer target")]
    answer_seconds: Annotated[float, Field(description="the answer speeds of the answered calls, summed")]
    abandoned: int
    short_abandoned: int
    asa_s: Seconds
    on_time_rate: Rate
    service_level: Rate
    abandon_rate: Rate


class Totals(WindowFigures):
    waiting: int
    longest_wait_s: Seconds
    on_call: Annotated[int, Field(description="calls in progress now (answered, not ended)")]
    on_hold: Annotated[int, Field(description="of those, calls with a hold running now")]


class QueueTile(Totals):
    queue: str
    members: Annotated[AgentCounts | None, Field(description=(
        "the queue's members (its latest queue.members) who are logged in, by their latest state; "
        "null when the feed has not said who takes the queue's calls"))]


class Hold(Shape):
    feed: Annotated[str, Field(description="the feed the call came from; a call is named by (feed, call_id)")]
    call_id: str
    agent: str
    agent_name: str
    team: str | None
    queue: str | None
    started_at: Timestamp
    hold_s: float


class AbandonedCall(Shape):
    feed: Annotated[str, Field(description="the feed the call came from; a call is named by (feed, call_id)")]
    call_id: str
    queue: str
    queued_at: Timestamp
    abandoned_at: Timestamp
    waited_s: float
    short: Annotated[bool, Field(description="a short abandon: left out of service level and abandon rate")]
    caller: Annotated[str | None, Field(description="the caller's number: whole for supervisors and admins; "
                                                    "for others masked to its last 4 digits, e.g. '•••• 0101', "
                                                    "or '••••' when it has fewer than 7 digits or is not a plain "
                                                    "number; null when none came or it was erased")]


class Complaint(Shape):
    feed: Annotated[str, Field(description="the feed the complaint came from; "
                                           "a complaint is named by (feed, complaint_id)")]
    complaint_id: str
    agent: str | None
    agent_name: str | None
    team: str | None
    opened_at: Timestamp | None
    due: Timestamp | None
    severity: str | None
    callback_made_at: Timestamp | None
    closed_at: Timestamp | None
    resolved: bool | None
    customer: Annotated[str | None, Field(description="the customer (a name or a number): whole for supervisors "
                                                      "and admins; for others a number's last 4 digits at most "
                                                      "('•••• 0101', '••••'); null when none came or it was "
                                                      "erased")] = None
    seconds_left: float | None
    overdue: bool
    status: Literal["open", "overdue", "called_back", "closed"]


class AgentScores(Shape):
    answered: int
    asa_s: Seconds
    on_time_rate: Rate
    surveys: int
    csat: Rate
    handled: int
    resolution_rate: Rate
    holds: int
    holds_over_limit: int
    hold_discipline: Rate
    callbacks_due: int
    callbacks_on_time: int
    callbacks_on_time_rate: Rate
    agent_hangup_rate: Rate
    repeat_calls: Annotated[int | None, Field(description="calls from the same number within 24 h after a call "
                                                          "this agent ended unresolved (docs/metrics.md); null in "
                                                          "the live snapshot, which does not count them")]
    score: Annotated[float | None, Field(description="0-100; null when no component has data")]


class AgentFigures(AgentScores):
    agent: str
    name: str
    team: str | None


class LiveAgent(AgentFigures):
    state: str
    reason: str | None
    state_since: Timestamp
    state_s: float


class Thresholds(Shape):
    answer_target_s: float
    hold_limit_s: float
    short_abandon_s: float
    rate_amber_below: Annotated[float, Field(description="on-time rate and service level below this show amber")]
    rate_red_below: Annotated[float, Field(description="on-time rate and service level below this show red")]


# --- Alerts (dashboard/alert_data.py) -----------------------------------------------------------
class AlertNotification(Shape):
    recipient: Annotated[str, Field(description="the rota's key for the person notified, e.g. li-wei")]
    recipient_name: Annotated[str, Field(description="their name on the rota, e.g. Li Wei (the key if it has none)")]
    channel: str
    change: Literal["raised", "escalated", "acknowledged", "resolved"]
    level: Annotated[int, Field(description="the escalation level of the change: 0 is the rota's first")]
    created_at: Timestamp
    status: Annotated[Literal["sent", "waiting", "dead"], Field(
        description="sent; waiting to be sent or retried (see attempts, next_attempt_at, last_error); "
                    "dead: given up, with the reason in last_error")]
    attempts: int
    sent_at: Timestamp | None
    dead_at: Timestamp | None
    next_attempt_at: Annotated[Timestamp | None, Field(description="while waiting")]
    last_error: str | None


class Alert(Shape):
    id: int
    kind: str
    subject: Annotated[str, Field(description="'<feed>/<complaint or call id>', 'queue:<name>' or 'feed:<name>'")]
    state: Literal["open", "acknowledged", "resolved"]
    level: int
    raised_at: Timestamp
    acknowledged_at: Timestamp | None
    acknowledged_by: str | None
    resolved_at: Timestamp | None
    resolved_by: str | None
    queue: str | None
    agent: str | None
    customer: Annotated[str | None, Field(description="a callback's customer: whole for supervisors and admins "
                                                      "in the live view; elsewhere masked, at most the last 4 "
                                                      "digits of a phone number")]
    due_at: Timestamp | None
    notifications: list[AlertNotification]


class Alerts(Shape):
    as_of: Timestamp
    state: Literal["open", "acknowledged", "resolved", "all"]
    from_: Timestamp | None = Field(None, alias="from", description="unless state=open")
    to: Timestamp | None = Field(None, description="unless state=open")
    matching: Annotated[int, Field(description="how many alerts match; the answer lists at most limit of them")]
    offset: int
    alerts: list[Alert]


class AlertAction(Shape):
    by: Annotated[str, Field(min_length=1, max_length=200, description="who acknowledges or resolves")]


class AlertActionResult(Shape):
    changed: Annotated[bool, Field(description="false when the alert already was in that state (or further on)")]
    alert: Alert


class Live(Shape):
    as_of: Timestamp
    since: Timestamp
    data_updated_at: Timestamp | None
    stale: bool
    database_error: str | None = Field(None, description="present when the last refresh could not read the database")
    queues: list[QueueTile]
    totals: Totals
    agent_counts: AgentCounts
    abandoned_calls: Annotated[list[AbandonedCall], Field(
        description="the latest 50 calls of each queue abandoned in the window, newest first")]
    holds_over_limit: list[Hold]
    holds_open: list[Hold]
    complaints_open: list[Complaint]
    agents: list[LiveAgent]
    thresholds: Thresholds
    alerts_open: Annotated[list[Alert], Field(description="alerts not yet resolved, oldest first")]


class Agents(Shape):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    agents: list[AgentFigures]


class Period(Shape):
    from_: Timestamp = Field(alias="from")
    to: Timestamp


class AgentDay(AgentScores):
    start: Annotated[Timestamp, Field(description="local midnight (or the window's start)")]
    end: Timestamp


class AgentScorecard(AgentFigures):
    rank: Annotated[int | None, Field(description="place by score, highest first; equal scores share a place; "
                                                  "null without a score")]
    previous_score: Annotated[float | None, Field(description="the score of the window just before, as long")]
    previous_rank: Annotated[int | None, Field(description="the place in the window just before")]
    rank_change: Annotated[int | None, Field(description="places gained since then (negative: lost)")]
    days: Annotated[list[AgentDay], Field(description="the agent's figures of each day of the window, site time")]


class AgentDays(Shape):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    previous: Annotated[Period, Field(description="the window just before, as long")]
    agents: list[AgentScorecard]


class TrendFigures(WindowFigures):
    holds: Annotated[int, Field(description="holds started")]
    holds_over_limit: Annotated[int, Field(description="of those, holds longer than the hold limit")]
    hold_discipline: Rate
    callbacks_due: Annotated[int, Field(description="promised callbacks decided: made, or due without one")]
    callbacks_on_time: Annotated[int, Field(description="of those, callbacks made by their due time")]
    callbacks_missed: Annotated[int, Field(description="callbacks due and not made by then")]
    callbacks_on_time_rate: Rate
    repeat_calls: Annotated[int, Field(description="calls offered from the same number within 24 h after a call "
                                                   "not resolved or abandoned (docs/metrics.md)")]


class TrendBucket(TrendFigures):
    start: Timestamp
    end: Timestamp
    shift: Annotated[str | None, Field(description="with bucket=shift: the shift this run of it is")] = None


class PreviousPeriod(TrendFigures):
    from_: Timestamp = Field(alias="from")
    to: Timestamp


class ShiftFigures(TrendFigures):
    shift: str


class Trends(Shape):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    bucket: Literal["15m", "1h", "1d", "1w", "1mo", "shift"]
    queues: Annotated[list[str], Field(description="the queues counted; empty: all")]
    team: Annotated[str | None, Field(description="holds and callbacks of this team's agents only")]
    shift: Annotated[str | None, Field(description="only the time this shift runs")]
    buckets: list[TrendBucket]
    totals: Annotated[TrendFigures, Field(description="the whole window")]
    previous: Annotated[PreviousPeriod, Field(description="the window just before, as long")]
    shifts: Annotated[list[ShiftFigures], Field(description="each shift's runs in the window together")]


class WeekdayHour(TrendFigures):
    weekday: Annotated[int, Field(description="0 = Monday, in the site time zone")]
    hour: Annotated[int, Field(description="the hour of the day, 0-23, in the site time zone")]


class WeekdayHours(Shape):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    queues: list[str]
    team: str | None
    shift: str | None
    cells: list[WeekdayHour]


class Complaints(Shape):
    as_of: Timestamp
    status: Literal["open", "overdue", "all"]
    from_: Timestamp | None = Field(None, alias="from", description="with status=all only")
    to: Timestamp | None = Field(None, description="with status=all only")
    complaints: list[Complaint]


class Health(Shape):
    status: Literal["ok"]


class Readiness(Shape):
    status: Literal["ready", "stale", "database unreachable"]
    data_updated_at: Timestamp | None = None
    error: str | None = None
