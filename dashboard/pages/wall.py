"""The wall display: large type, no controls, everything a supervisor needs from across the room.

What a wall shows is chosen in its URL (see docs/wall.md):

- ``?queue=billing,sales`` (or ``?queue=billing&queue=sales``): only those queues' tiles, and an
  All tile totalling them; ``?team=Blue``: that team's agents, holds and callbacks.
- ``?rotate=30&view=queue:billing,sales&view=team:Blue&view=all``: cycle through views every 30 s;
  a view joins filters with ``;`` (``view=queue:sales;team:Red``).
- ``?explain=1``: each tile shows how its figures are defined (always in its tooltips).
- ``?lang=zh-Hans``: in Chinese (default: the site's ``CALLBOARD_LANGUAGE``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html

from callboard.definitions import define
from dashboard import format as fmt
from dashboard import ids
from dashboard.alert_widgets import alert_beside, callback_alerts
from dashboard.labels import state_label, text
from dashboard.timers import age_key, callback_key, hold_key, state_key, timer, wait_key
from dashboard.views import live_markup, view_holder
from dashboard.widgets import call_data, clock, complaint_data, status_line, url_list, url_names, url_one

dash.register_page(__name__, path="/wall", title="Callboard wall")

ROTATE_DEFAULT_S = 30
ROTATE_MIN_S = 1
# Lists show as many rows as fit, then "+N more" (assets/callboard.js). Most rows drawn of each
# long list: more than a 3840×2160 wall shows.
ROWS_DRAWN = {"callbacks": 40, "abandoned": 24, "agents": 240}


def layout(lang: str | None = None, queue: str | list[str] | None = None, team: str | list[str] | None = None,
           explain: str | None = None, rotate: str | None = None, view: str | list[str] | None = None,
           **_query: str) -> html.Div:
    """The wall's places for its parts; the browser puts each part in from the pushed view (the
    first one, at once: a wall before the first snapshot says it is waiting for data)."""
    views = [parse_view(v) for v in url_list(view)]
    first = views[0] if views else {"queues": url_names(queue), "team": url_one(team)}
    # A wall that does not rotate shows the same part of the floor for as long as it is open: the
    # push need not ask it again at each change what it shows (dashboard/app.py).
    request = {"page": "wall", "lang": lang, **first, "explain": explain in ("1", "true", "yes"),
               "fixed": len(views) < 2}
    shown_lang = lang or "en"

    def part(name: str, **props: Any) -> html.Div:
        return html.Div(**{"data-part": name}, **props)

    def fitted(name: str, **props: Any) -> html.Div:
        return part(name, **{"data-fit": name}, **props)

    def head(name: str) -> html.Div:
        return html.Div(className="strip-head", children=[
            part(f"{name}_title"),
            html.Span(className="more", **{"data-more-for": name, "data-more-label": text("more", shown_lang)})])

    return html.Div(className="wall", **{"data-page": "wall"}, children=[
        dcc.Store(id=ids.PAGE, data=request),
        view_holder(),
        dcc.Store(id=ids.ROTATION, data={"views": views}),
        dcc.Interval(id=ids.ROTATE, interval=1000 * rotation_seconds(rotate), disabled=len(views) < 2),
        part("status", className="wall-status"),
        part("queues", className="wall-queues"),
        html.Div(className="wall-strips", children=[
            html.Section(className="strip", children=[head("holds"), fitted("holds", className="strip-body")]),
            html.Section(className="strip", children=[head("callbacks"), fitted("callbacks", className="strip-body")]),
            html.Section(className="strip abandoned", children=[
                head("abandoned"), fitted("abandoned", className="strip-body")]),
        ]),
        html.Section(className="agents", children=[head("agents"), fitted("agents", className="agent-grid")]),
    ])


def parse_view(spec: str) -> dict[str, Any]:
    """``queue:billing,sales;team:Blue`` -> the filters of one view of a rotating wall; ``all``: none."""
    filters = dict(part.partition(":")[::2] for part in spec.split(";") if ":" in part)
    return {"queues": url_names(filters.get("queue")), "team": url_one(filters.get("team"))}


def rotation_seconds(rotate: str | None) -> float:
    try:
        return max(ROTATE_MIN_S, float(rotate)) if rotate else ROTATE_DEFAULT_S
    except ValueError:
        return ROTATE_DEFAULT_S


# A rotating wall moves to its next view in the browser; the server then draws that view once.
dash.clientside_callback(
    ClientsideFunction(namespace="callboard", function_name="rotate"),
    Output(ids.PAGE, "data"),
    Input(ids.ROTATE, "n_intervals"),
    State(ids.ROTATION, "data"),
    State(ids.PAGE, "data"),
    prevent_initial_call=True,
)


@live_markup("wall")
def wall_parts(snapshot: dict[str, Any] | None, request: dict[str, Any], _whole: Any = None) -> dict[str, Any]:
    """Every part of the wall, drawn from one snapshot (once per snapshot, for every open wall
    showing the same part of the floor)."""
    lang = request["lang"]
    titles = {"holds_title": html.H2(text("holds_title", lang)),
              "agents_title": html.H2(text("agents_title", lang))}
    if not snapshot:
        waiting = html.Div(text("waiting_for_data", lang), className="status-line")
        return {**titles, "status": waiting, "queues": [], "holds": [],
                "callbacks_title": html.H2(text("callbacks_title", lang)), "callbacks": [],
                "abandoned_title": html.H2(text("abandoned_title", lang)), "abandoned": [], "agents": []}
    limits = snapshot["thresholds"]
    explain = request.get("explain", False)
    queues = [queue_tile(q["queue"], q, limits, lang, explain=explain) for q in snapshot["queues"]]
    all_title = text("all_queues" if not request.get("queues") else "all_shown", lang)
    queues.append(queue_tile(all_title, {**snapshot["totals"], "queue": None}, limits, lang,
                             agents=snapshot["agent_counts"], explain=explain))
    return {
        **titles,
        "status": status_line(snapshot, request, lang),
        "queues": queues,
        "holds": hold_rows(snapshot["holds_open"], lang),
        "callbacks_title": callbacks_title(snapshot["complaints_open"], lang),
        "callbacks": at_most(snapshot["complaints_open"], "callbacks",
                             lambda shown: callback_rows(shown, snapshot["as_of"], lang,
                                                         callback_alerts(snapshot.get("alerts_open", [])))),
        "abandoned_title": abandoned_title(snapshot["totals"], lang),
        "abandoned": at_most(snapshot["abandoned_calls"], "abandoned", lambda shown: abandoned_rows(shown, lang)),
        "agents": at_most(snapshot["agents"], "agents", lambda shown: agent_cards(shown, lang)),
    }


def at_most(items: list[dict[str, Any]], name: str, draw: Any) -> list:
    """The rows of a list, drawn for at most as many items as the largest wall can show: every change
    is sent to every open wall, so the rest would cost each of them for nothing. The browser's
    "+N more" counts the items left undrawn (the last element says how many) with those cut."""
    limit = ROWS_DRAWN[name]
    rows = draw(items[:limit])
    if len(items) > limit:
        rows.append(html.Div(className="undrawn", **{"data-count": str(len(items) - limit)}))
    return rows


def queue_tile(title: str, q: dict[str, Any], limits: dict[str, float], lang: str,
               agents: dict[str, int] | None = None, explain: bool = False) -> html.Div:
    """A queue's tile; the All tile also counts the agents by state (``agents``): a queue's tile
    counts its calls in progress and on hold instead, and its members by state when the feed has
    said who they are (``q["members"]``; no such line otherwise, rather than zeros)."""
    def level(value: float | None) -> str:
        return fmt.rate_level(value, limits["rate_amber_below"], limits["rate_red_below"])

    def means(*names: str) -> str:
        return "; ".join(define(name, lang, limits) for name in names)

    counts_definition = "all_agents" if agents is not None else "queue_agents"
    figures = [
        ("waiting", ("waiting",)), ("longest_wait", ("longest_wait",)), ("asa", ("asa",)),
        ("on_time", ("on_time", "rate_colours")), ("service_level", ("service_level", "rate_colours")),
        ("abandon_rate", ("abandon_rate",)), ("counts", ("counts",)), (counts_definition, (counts_definition,)),
        *([("queue_members", ("queue_members",))] if q.get("members") is not None else []),
        ("age", ("age",)),
    ]
    defined = {name: means(*names) for name, names in figures}
    tile = [
        html.Div(className="tile-head", children=[
            html.Div(title, className="tile-title", title=title),
            html.Div(className="tile-age", title=defined["age"], children=[
                f"{text('updated', lang)} ", timer(age_key(q["queue"])), f" {text('ago', lang)}"]),
        ]),
        html.Div(className="tile-main", children=[
            _figure(text("waiting", lang), str(q["waiting"]), "waiting", defined, "big"),
            _figure(text("longest_wait", lang), timer(wait_key(q["queue"]))
                    if q["longest_wait_s"] is not None else fmt.MISSING, "longest_wait", defined, "big"),
        ]),
        html.Div(className="tile-rates", children=[
            _figure(text("asa", lang), fmt.duration(q["asa_s"]), "asa", defined),
            _figure(text("on_time", lang), fmt.percent(q["on_time_rate"]), "on_time", defined,
                    level=level(q["on_time_rate"])),
            _figure(text("service_level", lang), fmt.percent(q["service_level"]), "service_level", defined,
                    level=level(q["service_level"])),
            _figure(text("abandon_rate", lang), fmt.percent(q["abandon_rate"]), "abandon_rate", defined),
        ]),
        html.Div(f"{q['offered']} {text('offered', lang)} · {q['answered']} {text('answered', lang)} · "
                 f"{q['abandoned']} {text('abandoned', lang)}", className="tile-counts", title=defined["counts"]),
        html.Div(className="tile-agents", title=defined[counts_definition], children=[
            _count(state_label(state, lang), count, state) for state, count in (agents or {
                "on_call": q["on_call"], "on_hold": q["on_hold"]}).items()]),
    ]
    if q.get("members") is not None:
        tile.append(html.Div(className="tile-agents tile-members", title=defined["queue_members"], children=[
            html.Div(text("queue_members", lang), className="members-head"),
            *(_count(state_label(state, lang), count, state) for state, count in q["members"].items())]))
    if explain:
        labels = {"waiting": text("waiting", lang), "longest_wait": text("longest_wait", lang),
                  "asa": text("asa", lang), "on_time": text("on_time", lang),
                  "service_level": text("service_level", lang), "abandon_rate": text("abandon_rate", lang),
                  "counts": text("counts", lang), counts_definition: text("agents_title", lang),
                  "queue_members": text("queue_members", lang), "age": text("updated", lang)}
        tile.append(html.Dl(className="tile-explain", children=[
            item for name, _ in figures for item in (html.Dt(labels[name]), html.Dd(defined[name]))]))
    return html.Div(className="tile", **{"data-queue": q["queue"] or "all"}, children=tile)


def hold_rows(holds: list[dict[str, Any]], lang: str) -> list:
    """Every open hold; the browser shows a row only once its hold passes the limit."""
    rows = [
        html.Div(className="row hold", **call_data(hold), children=[
            html.Span(hold["agent_name"], className="who"),
            html.Span(hold["queue"] or "", className="where"),
            timer(hold_key(hold["feed"], hold["call_id"])),
        ])
        for hold in holds  # oldest, so worst, first
    ]
    return [*rows, html.Div(text("no_holds", lang), className="empty")]


def callbacks_title(complaints: list[dict[str, Any]], lang: str) -> html.H2:
    overdue = sum(c["overdue"] for c in complaints)
    counts = ""
    if complaints:
        counts = f" · {len(complaints)} {text('open', lang)}"
        counts += f" · {overdue} {text('overdue', lang)}" if overdue else ""
    return html.H2([text("callbacks_title", lang), html.Span(counts, className="overdue" if overdue else "")])


def callback_rows(complaints: list[dict[str, Any]], as_of: str, lang: str,
                  alerts: dict[tuple[str, str], dict[str, Any]] | None = None) -> list:
    """Each callback due, with its alert's state beside it when one is open."""
    snapshot_day = datetime.fromisoformat(as_of).date()
    alerts = alerts or {}
    rows = [
        html.Div(className="row callback", **complaint_data(c), children=[
            html.Span(c["agent_name"], className="who"),
            html.Span(f"{text('due', lang)} {_due(c['due'], snapshot_day)}", className="where"),
            timer(callback_key(c["feed"], c["complaint_id"])),
            alert_beside(alerts.get((c["feed"], c["complaint_id"])), lang, snapshot_day),
        ])
        for c in complaints
    ]
    return rows or [html.Div(text("no_callbacks", lang), className="empty")]


def abandoned_title(totals: dict[str, Any], lang: str) -> html.H2:
    counts = ""
    if totals["abandoned"]:
        counts = f" · {totals['abandoned']}"
        counts += f" ({totals['short_abandoned']} {text('short', lang)})" if totals["short_abandoned"] else ""
    return html.H2([text("abandoned_title", lang), counts])


def abandoned_rows(calls: list[dict[str, Any]], lang: str) -> list:
    """Newest first; short abandons (left out of the service level) dimmed and marked. No caller's
    number, not even its end: a wall is seen by whoever passes (the floor view shows it to supervisors)."""
    rows = [
        html.Div(className="row abandon short" if call["short"] else "row abandon",
                 **call_data(call), children=[
            html.Span(clock(call["abandoned_at"]), className="when"),
            html.Span(call["queue"], className="where"),
            html.Span(fmt.duration(call["waited_s"]), className="waited",
                      title=text("short", lang) if call["short"] else None),
            html.Span(call["call_id"], className="call-id"),
        ])
        for call in calls
    ]
    return rows or [html.Div(text("no_abandons", lang), className="empty")]


def agent_cards(agents: list[dict[str, Any]], lang: str) -> list:
    cards = []
    for agent in agents:
        state = state_label(agent["state"], lang)
        if agent.get("reason"):
            state = f"{state}: {agent['reason'].replace('_', ' ')}"
        cards.append(html.Div(className=f"agent state-{agent['state']}", **{"data-agent": agent["agent"]}, children=[
            html.Span(agent["name"], className="agent-name", title=agent["name"]),
            html.Span(state, className="agent-state"),
            timer(state_key(agent["agent"])),
            html.Span(fmt.score(agent["score"]), className="agent-score", title=text("score", lang)),
        ]))
    return cards or [html.Div(text("no_agents", lang), className="empty")]


def _figure(label: str, value: Any, name: str, defined: dict[str, str], size: str = "",
            level: str = "none") -> html.Div:
    return html.Div(className=f"figure {size} level-{level}", title=defined[name], **{"data-figure": name},
                    children=[html.Div(value, className="value"), html.Div(label, className="label")])


def _count(label: str, value: int, name: str) -> html.Div:
    return html.Div(className=f"count state-{name}", **{"data-count": name}, children=[
        html.Span(str(value), className="value"), html.Span(label, className="label")])


def _due(iso: str, today: date) -> str:
    """``14:05``, or ``Tue 14:05`` when it is not today."""
    due = datetime.fromisoformat(iso)
    return due.strftime("%H:%M") if due.date() == today else due.strftime("%a %H:%M")
