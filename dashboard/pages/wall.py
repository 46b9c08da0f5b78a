"""The wall display: large type, no controls, everything a supervisor needs from across the room."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, html

from dashboard import format as fmt
from dashboard import ids
from dashboard.timers import callback_key, hold_key, state_key, timer, wait_key
from dashboard.views import live_parts

dash.register_page(__name__, path="/wall", redirect_from=["/"], title="Callboard wall")

STATE_LABELS = {
    "available": "Available",
    "on_call": "On call",
    "after_call_work": "Wrap-up",
    "break": "Break",
    "not_ready": "Not ready",
}
# Rates below these turn amber / red on the wall.
RATE_AMBER_BELOW, RATE_RED_BELOW = 0.8, 0.6


def layout(**_query: str) -> html.Div:
    """The wall waiting for data; the browser fills each part from the pushed view."""
    waiting = wall_parts(None)

    def part(name: str, **props: Any) -> html.Div:
        return html.Div(waiting[name], id={"type": ids.WALL_PART, "part": name}, **props)

    return html.Div(className="wall", children=[
        part("status", className="wall-status"),
        part("queues", className="wall-queues"),
        html.Div(className="wall-strips", children=[
            html.Section(className="strip", children=[
                html.H2("On hold too long"), part("holds", className="strip-body")]),
            html.Section(className="strip", children=[
                part("callbacks_title", className="strip-title"), part("callbacks", className="strip-body")]),
        ]),
        html.Section(className="agents", children=[
            html.H2("Agents"), part("agents", className="agent-grid")]),
    ])


# Each part of the wall present on the page, from the latest pushed view (no server round trip).
dash.clientside_callback(
    ClientsideFunction(namespace="callboard", function_name="fill"),
    Output({"type": ids.WALL_PART, "part": ALL}, "children"),
    Input(ids.LIVE_STORE, "data"),
)


@live_parts(ids.WALL_PART)
def wall_parts(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """Every part of the wall, drawn from one snapshot (once per snapshot, for every open wall)."""
    if not snapshot:
        waiting = html.Div("Waiting for data…", className="status-line")
        return {"status": waiting, "queues": [], "holds": [], "callbacks_title": html.H2("Callbacks due"),
                "callbacks": [], "agents": []}
    queues = [queue_tile(q["queue"], q) for q in snapshot["queues"]]
    queues.append(queue_tile("All queues", {**snapshot["totals"], "queue": None}))
    return {
        "status": status_line(snapshot),
        "queues": queues,
        "holds": hold_rows(snapshot["holds_open"]),
        "callbacks_title": callbacks_title(snapshot["complaints_open"]),
        "callbacks": callback_rows(snapshot["complaints_open"], snapshot["as_of"]),
        "agents": agent_cards(snapshot["agents"]),
    }


def status_line(snapshot: dict[str, Any]) -> html.Div:
    updated = snapshot.get("data_updated_at")
    updated_text = _clock(updated) if updated else "never"
    if snapshot.get("stale"):
        reason = "database unreachable" if snapshot.get("database_error") else "no new data from the feed"
        return html.Div(className="status-line stale", children=[
            html.Strong("DATA IS STALE"), f" — {reason}; last update {updated_text}"])
    return html.Div(f"Live · today since {_clock(snapshot['since'])} · last update {updated_text}",
                    className="status-line")


def queue_tile(title: str, q: dict[str, Any]) -> html.Div:
    return html.Div(className="tile", **{"data-queue": q["queue"] or "all"}, children=[
        html.Div(title, className="tile-title"),
        html.Div(className="tile-main", children=[
            _figure("Waiting", str(q["waiting"]), "waiting", "big"),
            _figure("Longest wait", timer(wait_key(q["queue"]), q["longest_wait_s"])
                    if q["longest_wait_s"] is not None else fmt.MISSING, "longest_wait", "big"),
        ]),
        html.Div(className="tile-rates", children=[
            _figure("ASA", fmt.duration(q["asa_s"]), "asa"),
            _figure("On time", fmt.percent(q["on_time_rate"]), "on_time",
                    level=fmt.rate_level(q["on_time_rate"], RATE_AMBER_BELOW, RATE_RED_BELOW)),
            _figure("Service level", fmt.percent(q["service_level"]), "service_level",
                    level=fmt.rate_level(q["service_level"], RATE_AMBER_BELOW, RATE_RED_BELOW)),
            _figure("Abandoned", fmt.percent(q["abandon_rate"]), "abandon_rate"),
        ]),
        html.Div(f"{q['offered']} offered · {q['answered']} answered · {q['abandoned']} abandoned",
                 className="tile-counts"),
    ])


def hold_rows(holds: list[dict[str, Any]]) -> list:
    """Every open hold; the browser shows a row only once its hold passes the limit."""
    rows = [
        html.Div(className="row hold", **{"data-call": hold["call_id"]}, children=[
            html.Span(hold["agent_name"], className="who"),
            html.Span(hold["queue"] or "", className="where"),
            timer(hold_key(hold["call_id"]), hold["hold_s"]),
        ])
        for hold in holds
    ]
    return [*rows, html.Div("No holds over the limit", className="empty")]


def callbacks_title(complaints: list[dict[str, Any]]) -> html.H2:
    overdue = sum(c["overdue"] for c in complaints)
    counts = f" · {len(complaints)} open" + (f" · {overdue} overdue" if overdue else "") if complaints else ""
    return html.H2(["Callbacks due", html.Span(counts, className="overdue" if overdue else "")])


def callback_rows(complaints: list[dict[str, Any]], as_of: str) -> list:
    snapshot_day = datetime.fromisoformat(as_of).date()
    rows = [
        html.Div(className="row callback", **{"data-complaint": c["complaint_id"]}, children=[
            html.Span(c["agent_name"], className="who"),
            html.Span("due " + _due(c["due"], snapshot_day), className="where"),
            timer(callback_key(c["complaint_id"]), c["seconds_left"]),
        ])
        for c in complaints
    ]
    return rows or [html.Div("No callbacks due", className="empty")]


def agent_cards(agents: list[dict[str, Any]]) -> list:
    cards = []
    for agent in agents:
        state = STATE_LABELS.get(agent["state"], agent["state"])
        if agent.get("reason"):
            state = f"{state}: {agent['reason'].replace('_', ' ')}"
        cards.append(html.Div(className=f"agent state-{agent['state']}", **{"data-agent": agent["agent"]}, children=[
            html.Span(agent["name"], className="agent-name"),
            html.Span(state, className="agent-state"),
            timer(state_key(agent["agent"]), agent["state_s"]),
            html.Span(fmt.score(agent["score"]), className="agent-score", title="score (see docs/metrics.md)"),
        ]))
    return cards or [html.Div("No agents logged in", className="empty")]


def _figure(label: str, value: Any, name: str, size: str = "", level: str = "none") -> html.Div:
    return html.Div(className=f"figure {size} level-{level}", **{"data-figure": name}, children=[
        html.Div(value, className="value"),
        html.Div(label, className="label"),
    ])


def _clock(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M:%S")


def _due(iso: str, today: date) -> str:
    """``14:05``, or ``Tue 14:05`` when it is not today."""
    due = datetime.fromisoformat(iso)
    return due.strftime("%H:%M") if due.date() == today else due.strftime("%a %H:%M")
