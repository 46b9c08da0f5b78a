"""The wall display: large type, no controls, everything a supervisor needs from across the room."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, dcc, html

from dashboard import format as fmt
from dashboard import ids
from dashboard.labels import state_label, text
from dashboard.timers import callback_key, hold_key, state_key, timer, wait_key
from dashboard.views import live_parts

dash.register_page(__name__, path="/wall", redirect_from=["/"], title="Callboard wall")

def layout(lang: str | None = None, **_query: str) -> html.Div:
    """The wall waiting for data; the browser fills each part from the pushed view.

    ``?lang=zh-Hans`` shows it in Chinese (default: the site's ``CALLBOARD_LANGUAGE``).
    """
    request = {"page": "wall", "lang": lang}
    waiting = wall_parts(None, {**request, "lang": lang or "en"})

    def part(name: str, **props: Any) -> html.Div:
        return html.Div(waiting[name], id={"type": ids.WALL_PART, "part": name}, **props)

    return html.Div(className="wall", children=[
        dcc.Store(id=ids.PAGE, data=request),
        part("status", className="wall-status"),
        part("queues", className="wall-queues"),
        html.Div(className="wall-strips", children=[
            html.Section(className="strip", children=[
                part("holds_title"), part("holds", className="strip-body")]),
            html.Section(className="strip", children=[
                part("callbacks_title", className="strip-title"), part("callbacks", className="strip-body")]),
        ]),
        html.Section(className="agents", children=[
            part("agents_title"), part("agents", className="agent-grid")]),
    ])


# Each part of the wall present on the page, from the latest pushed view (no server round trip).
dash.clientside_callback(
    ClientsideFunction(namespace="callboard", function_name="fill"),
    Output({"type": ids.WALL_PART, "part": ALL}, "children"),
    Input(ids.LIVE_STORE, "data"),
)


@live_parts(ids.WALL_PART, "wall")
def wall_parts(snapshot: dict[str, Any] | None, request: dict[str, Any]) -> dict[str, Any]:
    """Every part of the wall, drawn from one snapshot (once per snapshot, for every open wall)."""
    lang = request["lang"]
    titles = {"holds_title": html.H2(text("holds_title", lang)),
              "agents_title": html.H2(text("agents_title", lang))}
    if not snapshot:
        waiting = html.Div(text("waiting_for_data", lang), className="status-line")
        return {**titles, "status": waiting, "queues": [], "holds": [],
                "callbacks_title": html.H2(text("callbacks_title", lang)), "callbacks": [], "agents": []}
    limits = snapshot["thresholds"]
    queues = [queue_tile(q["queue"], q, limits, lang) for q in snapshot["queues"]]
    queues.append(queue_tile(text("all_queues", lang), {**snapshot["totals"], "queue": None}, limits, lang,
                             agents=snapshot["agent_counts"]))
    return {
        **titles,
        "status": status_line(snapshot, lang),
        "queues": queues,
        "holds": hold_rows(snapshot["holds_open"], lang),
        "callbacks_title": callbacks_title(snapshot["complaints_open"], lang),
        "callbacks": callback_rows(snapshot["complaints_open"], snapshot["as_of"], lang),
        "agents": agent_cards(snapshot["agents"], lang),
    }


def status_line(snapshot: dict[str, Any], lang: str) -> html.Div:
    updated = snapshot.get("data_updated_at")
    updated_text = _clock(updated) if updated else text("never", lang)
    last_update = f"{text('last_update', lang)} {updated_text}"
    if snapshot.get("stale"):
        reason = text("stale_database" if snapshot.get("database_error") else "stale_feed", lang)
        return html.Div(className="status-line stale", children=[
            html.Strong(text("stale", lang)), f" — {reason}; {last_update}"])
    return html.Div(f"{text('live_since', lang)} {_clock(snapshot['since'])} · {last_update}",
                    className="status-line")


def queue_tile(title: str, q: dict[str, Any], limits: dict[str, float], lang: str,
               agents: dict[str, int] | None = None) -> html.Div:
    """A queue's tile; the "All queues" tile also counts the agents by state (``agents``), as
    agents are not tied to queues: a queue's tile counts its calls in progress and on hold."""
    def level(value: float | None) -> str:
        return fmt.rate_level(value, limits["rate_amber_below"], limits["rate_red_below"])

    return html.Div(className="tile", **{"data-queue": q["queue"] or "all"}, children=[
        html.Div(title, className="tile-title"),
        html.Div(className="tile-main", children=[
            _figure(text("waiting", lang), str(q["waiting"]), "waiting", "big"),
            _figure(text("longest_wait", lang), timer(wait_key(q["queue"]), q["longest_wait_s"])
                    if q["longest_wait_s"] is not None else fmt.MISSING, "longest_wait", "big"),
        ]),
        html.Div(className="tile-rates", children=[
            _figure(text("asa", lang), fmt.duration(q["asa_s"]), "asa"),
            _figure(text("on_time", lang), fmt.percent(q["on_time_rate"]), "on_time",
                    level=level(q["on_time_rate"])),
            _figure(text("service_level", lang), fmt.percent(q["service_level"]), "service_level",
                    level=level(q["service_level"])),
            _figure(text("abandon_rate", lang), fmt.percent(q["abandon_rate"]), "abandon_rate"),
        ]),
        html.Div(f"{q['offered']} {text('offered', lang)} · {q['answered']} {text('answered', lang)} · "
                 f"{q['abandoned']} {text('abandoned', lang)}", className="tile-counts"),
        html.Div(className="tile-agents", children=[
            _count(state_label(state, lang), count, state) for state, count in (agents or {
                "on_call": q["on_call"], "on_hold": q["on_hold"]}).items()]),
    ])


def hold_rows(holds: list[dict[str, Any]], lang: str) -> list:
    """Every open hold; the browser shows a row only once its hold passes the limit."""
    rows = [
        html.Div(className="row hold", **{"data-call": hold["call_id"]}, children=[
            html.Span(hold["agent_name"], className="who"),
            html.Span(hold["queue"] or "", className="where"),
            timer(hold_key(hold["call_id"]), hold["hold_s"]),
        ])
        for hold in holds
    ]
    return [*rows, html.Div(text("no_holds", lang), className="empty")]


def callbacks_title(complaints: list[dict[str, Any]], lang: str) -> html.H2:
    overdue = sum(c["overdue"] for c in complaints)
    counts = ""
    if complaints:
        counts = f" · {len(complaints)} {text('open', lang)}"
        counts += f" · {overdue} {text('overdue', lang)}" if overdue else ""
    return html.H2([text("callbacks_title", lang), html.Span(counts, className="overdue" if overdue else "")])


def callback_rows(complaints: list[dict[str, Any]], as_of: str, lang: str) -> list:
    snapshot_day = datetime.fromisoformat(as_of).date()
    rows = [
        html.Div(className="row callback", **{"data-complaint": c["complaint_id"]}, children=[
            html.Span(c["agent_name"], className="who"),
            html.Span(f"{text('due', lang)} {_due(c['due'], snapshot_day)}", className="where"),
            timer(callback_key(c["complaint_id"]), c["seconds_left"]),
        ])
        for c in complaints
    ]
    return rows or [html.Div(text("no_callbacks", lang), className="empty")]


def agent_cards(agents: list[dict[str, Any]], lang: str) -> list:
    cards = []
    for agent in agents:
        state = state_label(agent["state"], lang)
        if agent.get("reason"):
            state = f"{state}: {agent['reason'].replace('_', ' ')}"
        cards.append(html.Div(className=f"agent state-{agent['state']}", **{"data-agent": agent["agent"]}, children=[
            html.Span(agent["name"], className="agent-name"),
            html.Span(state, className="agent-state"),
            timer(state_key(agent["agent"]), agent["state_s"]),
            html.Span(fmt.score(agent["score"]), className="agent-score", title=text("score", lang)),
        ]))
    return cards or [html.Div(text("no_agents", lang), className="empty")]


def _figure(label: str, value: Any, name: str, size: str = "", level: str = "none") -> html.Div:
    return html.Div(className=f"figure {size} level-{level}", **{"data-figure": name}, children=[
        html.Div(value, className="value"),
        html.Div(label, className="label"),
    ])


def _count(label: str, value: int, name: str) -> html.Div:
    return html.Div(className=f"count state-{name}", **{"data-count": name}, children=[
        html.Span(str(value), className="value"), html.Span(label, className="label")])


def _clock(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M:%S")


def _due(iso: str, today: date) -> str:
    """``14:05``, or ``Tue 14:05`` when it is not today."""
    due = datetime.fromisoformat(iso)
    return due.strftime("%H:%M") if due.date() == today else due.strftime("%a %H:%M")
