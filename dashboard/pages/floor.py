"""The supervisor's floor view: the live floor at a desk, filtered, sorted, and drilled into.

Its address says what it shows, so a view can be bookmarked or shared:

- ``?queue=billing,sales``, ``?team=Blue``, ``?agent=a017``: filters (as on the wall);
- ``?sort=csat&desc=1``: the agent table's order;
- ``?drill=a017``: that agent's calls today; ``&call=C123``: that call's timeline;
- ``?lang=zh-Hans``: in Chinese (default: the site's ``CALLBOARD_LANGUAGE``).

The live parts come with the push, drawn once for every floor view with the same filters and
order; the drill-down is read on demand, for one agent's day or one call, and refreshed every
few seconds while open.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html

from access.roles import sees_personal_data
from callboard import privacy
from callboard.definitions import define
from dashboard import format as fmt
from dashboard import ids
from dashboard.alert_widgets import alert_beside, callback_alerts
from dashboard.app import live_data, personal_data, site_language
from dashboard.auth import current
from dashboard.labels import event_label, language, released_label, state_label, text
from dashboard.timers import callback_key, hold_key, state_key, timer, wait_key
from dashboard.views import live_markup, view_holder
from dashboard.widgets import (
    call_data,
    clock,
    complaint_data,
    page_links,
    sorted_agents,
    status_line,
    url_names,
    url_one,
)

dash.register_page(__name__, path="/", title="Callboard")

# The agent table's columns: (figure key, label key, definition or None). Every score component
# stands next to the composite.
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("name", "agent", None),
    ("team", "team", None),
    ("state", "state", None),
    ("state_s", "in_state", None),
    ("answered", "answered_count", "agent_answered"),
    ("asa_s", "asa", "asa"),
    ("on_time_rate", "on_time", "on_time"),
    ("csat", "csat", "csat"),
    ("resolution_rate", "resolution_rate", "resolution_rate"),
    ("hold_discipline", "hold_discipline", "hold_discipline"),
    ("callbacks_on_time_rate", "callbacks_on_time", "callbacks_on_time"),
    ("agent_hangup_rate", "agent_hangup_rate", "agent_hangup_rate"),
    ("score", "score_title", "score"),
)
SORTABLE = tuple(key for key, _, _ in COLUMNS)
DRILL_REFRESH_S = 10


def layout(lang: str | None = None, queue: str | list[str] | None = None, team: str | list[str] | None = None,
           agent: str | list[str] | None = None, sort: str | None = None, desc: str | None = None,
           drill: str | None = None, feed: str | None = None, call: str | None = None,
           **_query: str) -> html.Div:
    """The floor view's controls and the places for its live parts; the browser puts each part in
    from the pushed view."""
    request = {"page": "floor", "lang": lang, "queues": url_names(queue), "team": url_one(team),
               "agent": url_one(agent), "sort": sort if sort in SORTABLE else "name", "descending": desc == "1"}
    shown_lang = language(lang, site_language())
    thresholds = live_data().thresholds

    def part(name: str, element: type = html.Div, **props: Any) -> Any:
        return element(**{"data-part": name}, **props)

    def header(key: str, label: str, definition: str | None) -> html.Th:
        title = define(definition, shown_lang, thresholds) if definition else None
        return html.Th(html.Button(text(label, shown_lang), id={"type": ids.FLOOR_SORT, "column": key},
                                   title=title, className="sort"), className="num" if definition else "")

    def dropdown(name: str, value: Any, everything: str, multi: bool = False) -> dcc.Dropdown:
        values = value if isinstance(value, list) else [value] if value else []
        return dcc.Dropdown(id={"type": ids.FLOOR_FILTER, "filter": name}, value=value, multi=multi,
                            options=[{"label": v, "value": v} for v in values],
                            placeholder=text(everything, shown_lang), className="filter")

    page_lang = "zh-Hans" if shown_lang == "zh-Hans" else "en"
    return html.Div(className="floor", **{"data-page": "floor"}, lang=page_lang, children=[
        dcc.Location(id=ids.FLOOR_URL, refresh=False),
        dcc.Store(id=ids.PAGE, data=request),
        view_holder(),
        dcc.Store(id=ids.FLOOR_DRILL, data={"agent": url_one(drill), "feed": url_one(feed),
                                                 "call": url_one(call)}),
        dcc.Interval(id=ids.FLOOR_REFRESH, interval=1000 * DRILL_REFRESH_S, disabled=not drill),
        html.Header(className="floor-head", children=[
            html.H1(["Callboard ", html.Span(text("floor_title", shown_lang), className="dim")]),
            part("status", className="floor-status"),
            html.Nav([
                *page_links("/", shown_lang, lang)[1:],
                html.A(text("other_language", shown_lang), className="language",
                       href="/?" + urlencode({"lang": "en" if shown_lang == "zh-Hans" else "zh-Hans"})),
            ]),
        ]),
        html.Div(className="floor-filters", children=[
            dropdown("queues", request["queues"], "all_queues", multi=True),
            dropdown("team", request["team"], "all_teams"),
            dropdown("agent", request["agent"], "all_agents"),
        ]),
        html.Table(className="floor-table queue-table", children=[
            html.Thead(html.Tr([html.Th(text("queue", shown_lang))] + [html.Th(text(key, shown_lang), className="num")
                                for key in ("waiting", "longest_wait", "asa", "on_time", "service_level",
                                            "abandon_rate", "offered", "answered", "abandoned", "on_call_now",
                                            "on_hold_now")]
                    + [html.Th(text("queue_members", shown_lang), className="members")])),
            part("queues", html.Tbody),
        ]),
        html.Div(className="floor-lists", children=[
            html.Section([html.H2(text("holds_title", shown_lang)), part("holds")]),
            html.Section([part("callbacks_title"), part("callbacks")]),
            html.Section([html.H2(text("abandoned_title", shown_lang)), part("abandoned")]),
        ]),
        html.Div(id=ids.FLOOR_DETAIL, className="floor-detail"),
        html.Table(className="floor-table agent-table", children=[
            html.Thead(html.Tr([header(*column) for column in COLUMNS])),
            part("agents", html.Tbody),
        ]),
    ])


# The live parts and the filters' choices are put in place by the page's script from each pushed
# view (assets/callboard.js). Filters and sort headers change what the page asks to be shown; the
# push then draws it.
dash.clientside_callback(
    ClientsideFunction(namespace="callboard", function_name="floorRequest"),
    Output(ids.PAGE, "data", allow_duplicate=True),
    Output({"type": ids.FLOOR_SORT, "column": ALL}, "className"),
    Input({"type": ids.FLOOR_FILTER, "filter": ALL}, "value"),
    Input({"type": ids.FLOOR_SORT, "column": ALL}, "n_clicks"),
    State(ids.PAGE, "data"),
    prevent_initial_call="initial_duplicate",
)
# Clicking a call opens its timeline, Close shuts the drill-down; clicking an agent in the live
# table opens their calls (assets/callboard.js, as the table is not Dash's).
dash.clientside_callback(
    ClientsideFunction(namespace="callboard", function_name="floorDrill"),
    Output(ids.FLOOR_DRILL, "data"),
    Output(ids.FLOOR_REFRESH, "disabled"),
    Input({"type": ids.FLOOR_CALL, "feed": ALL, "call": ALL}, "n_clicks"),
    Input({"type": ids.FLOOR_CLOSE, "index": ALL}, "n_clicks"),
    State(ids.FLOOR_DRILL, "data"),
    prevent_initial_call=True,
)
# The address follows what is shown, so the view can be bookmarked.
dash.clientside_callback(
    ClientsideFunction(namespace="callboard", function_name="floorAddress"),
    Output(ids.FLOOR_URL, "search"),
    Input(ids.PAGE, "data"),
    Input(ids.FLOOR_DRILL, "data"),
    prevent_initial_call=True,
)


@dash.callback(Output(ids.FLOOR_DETAIL, "children"), Input(ids.FLOOR_DRILL, "data"),
               Input(ids.FLOOR_REFRESH, "n_intervals"), State(ids.PAGE, "data"))
async def show_drill_down(drill: dict[str, Any] | None, _refreshes: int | None,
                          request: dict[str, Any] | None) -> list:
    """One agent's calls today and, when one is chosen, that call's timeline, read now."""
    if not drill or not (drill.get("agent") or drill.get("call")):
        return []
    who = current()
    data, personal, full = live_data(), personal_data(), sees_personal_data(who.role if who else None)
    calls = await data.agent_calls(drill["agent"]) if drill.get("agent") else None
    chosen = drill.get("feed"), drill.get("call")
    timeline = await data.call_timeline(*chosen) if all(chosen) else None
    shown = [(c["feed"], c["call_id"]) for c in calls["calls"]] if calls else []
    callers = await personal.callers(shown + ([chosen] if timeline is not None else []))
    if calls is not None:
        calls = {**calls, "calls": [{**c, "caller": privacy.shown_number(callers.get((c["feed"], c["call_id"])),
                                                                         full=full)} for c in calls["calls"]]}
    caller = privacy.shown_number(callers.get(chosen), full=full) if timeline is not None else None
    return drill_panel(calls, timeline, drill.get("call"), _language(request), caller)


def _language(request: dict[str, Any] | None) -> str:
    return language((request or {}).get("lang"), site_language())


@live_markup("floor", data=("choices",))
def floor_parts(snapshot: dict[str, Any] | None, request: dict[str, Any],
                whole: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every live part of the floor view, for the filters and order it asks for."""
    lang = request["lang"]
    if not snapshot:
        waiting = html.Div(text("waiting_for_data", lang), className="status-line")
        return {"status": waiting, "queues": [], "agents": [], "holds": [], "callbacks_title": [],
                "callbacks": [], "abandoned": [], "choices": {}}
    limits = snapshot["thresholds"]
    return {
        "status": status_line(snapshot, request, lang),
        "queues": [queue_row(q["queue"], q, limits, lang) for q in snapshot["queues"]]
        + [queue_row(text("all_queues" if not request.get("queues") else "all_shown", lang),
                     {**snapshot["totals"], "queue": None}, limits, lang)],
        "agents": agent_rows(sorted_agents(snapshot["agents"], request.get("sort") or "name",
                                           bool(request.get("descending"))), limits, lang),
        "holds": hold_list(snapshot["holds_open"], lang),
        "callbacks_title": html.H2([text("callbacks_title", lang), f" · {len(snapshot['complaints_open'])}"
                                    if snapshot["complaints_open"] else ""]),
        "callbacks": callback_list(snapshot["complaints_open"], lang, callback_alerts(snapshot.get("alerts_open", [])),
                                   datetime.fromisoformat(snapshot["as_of"]).date()),
        "abandoned": abandoned_list(snapshot["abandoned_calls"], lang),
        "choices": choices(whole or snapshot),
    }


def choices(snapshot: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """What the filters offer: every queue, team and logged-in agent of the whole floor."""
    teams = sorted({a["team"] for a in snapshot["agents"] if a.get("team")})
    return {
        "queues": [{"label": q["queue"], "value": q["queue"]} for q in snapshot["queues"]],
        "team": [{"label": team, "value": team} for team in teams],
        "agent": [{"label": a["name"], "value": a["agent"]} for a in snapshot["agents"]],
    }


def queue_row(title: str, q: dict[str, Any], limits: dict[str, float], lang: str) -> html.Tr:
    """A queue's figures; its members by state when the feed has said who they are (else an empty
    cell, as on the All row)."""
    def rate(value: float | None) -> html.Td:
        level = fmt.rate_level(value, limits["rate_amber_below"], limits["rate_red_below"])
        return html.Td(fmt.percent(value), className=f"num level-{level}")

    wait = timer(wait_key(q["queue"])) if q["longest_wait_s"] is not None else fmt.MISSING
    return html.Tr(className="total" if q["queue"] is None else "", **{"data-queue": q["queue"] or "all"}, children=[
        html.Td(title, className="name"),
        html.Td(str(q["waiting"]), className="num"),
        html.Td(wait, className="num"),
        html.Td(fmt.duration(q["asa_s"]), className="num"),
        rate(q["on_time_rate"]),
        rate(q["service_level"]),
        html.Td(fmt.percent(q["abandon_rate"]), className="num"),
        *(html.Td(str(q[key]), className="num") for key in ("offered", "answered", "abandoned", "on_call", "on_hold")),
        html.Td(className="members", title=define("queue_members", lang, limits), children=[
            html.Span(className=f"count-chip state-{state}", **{"data-count": state}, children=[
                html.Strong(str(count)), f" {state_label(state, lang)}"])
            for state, count in (q.get("members") or {}).items()]),
    ])


def agent_rows(agents: list[dict[str, Any]], limits: dict[str, float], lang: str) -> list:
    def rate(value: float | None, colour: bool = False) -> html.Td:
        level = fmt.rate_level(value, limits["rate_amber_below"], limits["rate_red_below"]) if colour else "none"
        return html.Td(fmt.percent(value), className=f"num level-{level}")

    rows = []
    for a in agents:
        state = state_label(a["state"], lang)
        if a.get("reason"):
            state = f"{state}: {a['reason'].replace('_', ' ')}"
        rows.append(html.Tr(className=f"state-{a['state']}", **{"data-agent": a["agent"]}, children=[
            html.Td(html.Button(a["name"], className="link", title=a["agent"], **{"data-drill": a["agent"]}),
                    className="name"),
            html.Td(a.get("team") or "", className="team"),
            html.Td(state, className="state"),
            html.Td(timer(state_key(a["agent"])), className="num"),
            html.Td(str(a["answered"]), className="num"),
            html.Td(fmt.duration(a["asa_s"]), className="num"),
            rate(a["on_time_rate"], colour=True),
            html.Td([fmt.percent(a["csat"]), html.Span(f" ({a['surveys']})", className="dim")], className="num"),
            rate(a["resolution_rate"]),
            html.Td([fmt.percent(a["hold_discipline"]),
                     html.Span(f" ({a['holds_over_limit']}/{a['holds']})", className="dim")], className="num"),
            rate(a["callbacks_on_time_rate"]),
            rate(a["agent_hangup_rate"]),
            html.Td(fmt.score(a["score"]), className="num score"),
        ]))
    return rows or [html.Tr(html.Td(text("no_agents", lang), colSpan=len(COLUMNS), className="empty"))]


def hold_list(holds: list[dict[str, Any]], lang: str) -> list:
    """Every open hold; the browser shows one only once it passes the limit."""
    rows = [html.Div(className="row hold", **call_data(h), children=[
        html.Span(h["agent_name"], className="who"), html.Span(h["queue"] or "", className="where"),
        timer(hold_key(h["feed"], h["call_id"]))]) for h in holds]
    return [*rows, html.Div(text("no_holds", lang), className="empty")]


def callback_list(complaints: list[dict[str, Any]], lang: str,
                  alerts: dict[tuple[str, str], dict[str, Any]] | None = None, today: date | None = None) -> list:
    """Each callback due, with its alert's state beside it when one is open."""
    alerts = alerts or {}
    rows = [html.Div(className="row callback", **complaint_data(c), children=[
        html.Span(c["agent_name"], className="who"), html.Span(clock(c["due"])[:5], className="where"),
        html.Span(c.get("customer") or "", className="customer"),
        timer(callback_key(c["feed"], c["complaint_id"])),
        alert_beside(alerts.get((c["feed"], c["complaint_id"])), lang, today)]) for c in complaints]
    return rows or [html.Div(text("no_callbacks", lang), className="empty")]


def abandoned_list(calls: list[dict[str, Any]], lang: str) -> list:
    rows = [html.Div(className="row abandon short" if c["short"] else "row abandon", **call_data(c),
                     children=[html.Span(clock(c["abandoned_at"]), className="when"),
                               html.Span(c["queue"], className="where"),
                               html.Span(fmt.duration(c["waited_s"]), className="waited"),
                               html.Span(c["caller"] or fmt.MISSING, className="caller")]) for c in calls]
    return rows or [html.Div(text("no_abandons", lang), className="empty")]


def drill_panel(calls: dict[str, Any] | None, timeline: list[dict[str, Any]] | None, call_id: str | None,
                lang: str, caller: str | None = None) -> list:
    """The drill-down: the agent's calls today (each opens its timeline), then the chosen call's,
    with its caller's number (whole or masked, as the holder's role allows)."""
    close = html.Button(text("close", lang), id={"type": ids.FLOOR_CLOSE, "index": 0}, className="close")
    panel: list = [close]
    if calls is not None:
        panel.append(html.H2(f"{text('calls_today', lang)} · {calls['name']}"))
        panel.append(agent_calls_table(calls["calls"], lang))
    if timeline is not None:
        panel.append(html.H2([f"{text('call_timeline', lang)} {call_id}",
                              html.Span(f" · {text('caller', lang)} {caller}", className="caller") if caller
                              else ""]))
        panel.append(timeline_table(timeline, lang))
    return panel


def agent_calls_table(calls: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    if not calls:
        return html.Div(text("no_calls", lang), className="empty")
    heads = ("queued", "queue", "caller", "waited", "answered_at", "ended", "holds", "released_by", "resolved",
             "survey")

    def yes_no(value: bool | None) -> str:
        return fmt.MISSING if value is None else text("yes" if value else "no", lang)

    rows = [html.Tr(**call_data(c), children=[
        html.Td(html.Button(clock(c["queued_at"]) if c["queued_at"] else fmt.MISSING, className="link",
                            id={"type": ids.FLOOR_CALL, "feed": c["feed"], "call": c["call_id"]},
                            title=c["call_id"])),
        html.Td(c["queue"] or ""),
        html.Td(c.get("caller") or fmt.MISSING, className="caller"),
        html.Td(fmt.duration(c["waited_s"]), className="num"),
        html.Td(clock(c["answered_at"]) if c["answered_at"] else fmt.MISSING, className="num"),
        html.Td(clock(c["ended_at"]) if c["ended_at"] else fmt.MISSING, className="num"),
        html.Td(f"{c['holds']}" + (f" ({text('longest_hold', lang)} {fmt.duration(c['longest_hold_s'])})"
                                   if c["holds"] else ""), className="num"),
        html.Td(released_label(c["released_by"], lang) or fmt.MISSING),
        html.Td(yes_no(c["resolved"])),
        html.Td(str(c["survey_score"]) if c["survey_score"] is not None else fmt.MISSING, className="num"),
    ]) for c in calls]
    return html.Table(className="floor-table calls", children=[
        html.Thead(html.Tr([html.Th(text(key, lang)) for key in heads])), html.Tbody(rows)])


def timeline_table(events: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    if not events:
        return html.Div(text("no_events", lang), className="empty")
    rows = [html.Tr(**{"data-event": e["type"]}, children=[
        html.Td(clock(e["ts"]), className="num"),
        html.Td(event_label(e["type"], lang)),
        html.Td(" · ".join(_event_details(e, lang))),
    ]) for e in events]
    return html.Table(className="floor-table timeline", children=[
        html.Thead(html.Tr([html.Th(text(key, lang)) for key in ("time", "event", "details")])),
        html.Tbody(rows)])


def _event_details(event: dict[str, Any], lang: str) -> list[str]:
    details = [event[key] for key in ("queue", "agent") if event.get(key)]
    if event.get("to_agent") or event.get("to_queue"):
        details.append(f"→ {event.get('to_agent') or event.get('to_queue')}")
    if event.get("released_by"):
        details.append(f"{text('released_by', lang)}: {released_label(event['released_by'], lang)}")
    if event.get("resolved") is not None:
        details.append(f"{text('resolved', lang)}: {text('yes' if event['resolved'] else 'no', lang)}")
    if event.get("score") is not None:
        details.append(f"{text('survey', lang)}: {event['score']}")
    return details
