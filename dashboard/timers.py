"""Timers that tick in the browser: which moment each one counts from, and when it changes colour.

Pages render a timer with :func:`timer` (a span marked ``data-timer`` with a key from the functions
below); :func:`timer_specs` describes every timer a snapshot can show, and the browser
(``assets/callboard.js``) moves their text and colour on in place, in one loop for the page,
without a Dash update.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dash import html

# The attribute that marks a timer and names its key.
TIMER_KEY = "data-timer"
# A promised callback turns amber this long before it is due (red once overdue).
CALLBACK_AMBER_S = 30 * 60


def wait_key(queue: str | None) -> str:
    return f"wait:{queue or '*'}"


def age_key(tile: str | None) -> str:
    """The age of a tile's data: one timer per tile (``None``: the All tile)."""
    return f"age:{tile or '*'}"


def hold_key(feed: str, call_id: str) -> str:
    return f"hold:{feed}/{call_id}"


def callback_key(feed: str, complaint_id: str) -> str:
    return f"callback:{feed}/{complaint_id}"


def state_key(agent: str) -> str:
    return f"state:{agent}"


def alert_key(alert_id: int) -> str:
    """An open alert's age."""
    return f"alert:{alert_id}"


def timer(key: str) -> html.Span:
    """A ticking duration. Drawn empty: the browser writes it from the moment it counts from before
    the page is painted, so a part with timers stays the same from one snapshot to the next unless
    the floor changed, and a push redraws only what changed."""
    return html.Span("", className="timer", **{TIMER_KEY: key})


def timer_class(spec: dict[str, Any], seconds: float) -> str:
    """The class a timer has ``seconds`` after (``up``) or before (``down``) its moment: the same
    rule as ``level`` in assets/callboard.js, which applies it between pushes."""
    level = ""
    if spec["mode"] == "down":
        if "red" in spec and seconds <= spec["red"]:
            level = " red flash"
        elif "amber" in spec and seconds < spec["amber"]:
            level = " amber"
    elif "red" in spec and seconds > spec["red"]:
        level = " red"
    elif "amber" in spec and seconds > spec["amber"]:
        level = " amber"
    hidden = " under-limit" if "hide_below" in spec and seconds <= spec["hide_below"] else ""
    return "timer" + level + hidden


def colour_timers(parts: Any, specs: dict[str, Any]) -> None:
    """Give every timer in ``parts`` its class as of the snapshot, so that a pushed part shows at
    once as the browser's next tick would (a hold under the limit stays hidden, an overdue
    callback is red) instead of waiting for that tick."""
    if not specs:
        return
    as_of = datetime.fromisoformat(specs["as_of"])
    pending = [parts]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, html.Span) and getattr(item, TIMER_KEY, None):
            spec = specs["timers"].get(getattr(item, TIMER_KEY))
            if spec:
                moment = datetime.fromisoformat(spec["from"])
                seconds = (moment - as_of if spec["mode"] == "down" else as_of - moment).total_seconds()
                item.className = timer_class(spec, seconds)
        elif hasattr(item, "children"):
            pending.append(item.children)


def timer_specs(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    if not snapshot:
        return {}
    limits = snapshot["thresholds"]
    as_of = datetime.fromisoformat(snapshot["as_of"])
    specs: dict[str, dict[str, Any]] = {}
    for queue in [*snapshot["queues"], {**snapshot["totals"], "queue": None}]:
        if snapshot.get("data_updated_at"):
            specs[age_key(queue["queue"])] = {"from": snapshot["data_updated_at"], "mode": "up"}
        if queue["longest_wait_s"] is not None:
            oldest = as_of - timedelta(seconds=queue["longest_wait_s"])
            specs[wait_key(queue["queue"])] = {
                "from": oldest.isoformat(), "mode": "up",
                "amber": limits["answer_target_s"], "red": 4 * limits["answer_target_s"]}
    for hold in snapshot["holds_open"]:
        specs[hold_key(hold["feed"], hold["call_id"])] = {
            "from": hold["started_at"], "mode": "up", "red": limits["hold_limit_s"],
            "hide_below": limits["hold_limit_s"]}
    for complaint in snapshot["complaints_open"]:
        specs[callback_key(complaint["feed"], complaint["complaint_id"])] = {
            "from": complaint["due"], "mode": "down", "amber": CALLBACK_AMBER_S, "red": 0}
    for agent in snapshot["agents"]:
        specs[state_key(agent["agent"])] = {"from": agent["state_since"], "mode": "up"}
    for alert in snapshot.get("alerts_open", []):
        specs[alert_key(alert["id"])] = {"from": alert["raised_at"], "mode": "up"}
    return {"as_of": snapshot["as_of"], "timers": specs}
