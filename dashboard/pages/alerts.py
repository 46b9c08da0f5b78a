"""The Alerts page: open alerts as they happen, acknowledging and resolving them, and the history.

- The open alerts (not resolved) come with the push, like the wall: kind, what they are about
  (queue, agent, the customer: whole for supervisors and admins, else masked), level, state, when
  raised and a ticking age, who acknowledged and when, and every notification with its outcome
  (sent, retrying, dead).
- Acknowledge and Resolve record the name typed in "Your name" (kept in this browser); made twice,
  by a double click or two supervisors at once, a change is made once.
- The history lists alerts raised in a date range, newest first, by state, kind and queue, a page at
  a time ("showing 50 of 130").
- ``?alert=ID`` (the link in every alert message) shows that alert at the top, even once resolved,
  and highlights it among the open ones; ``?lang=zh-Hans``: in Chinese.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from access.roles import sees_personal_data
from alerts.messages import KINDS
from dashboard import format as fmt
from dashboard import ids
from dashboard.alert_data import HISTORY_PAGE, STATES, AlertData, HistoryFilter
from dashboard.alert_widgets import action_message, notification_outcome, when
from dashboard.app import personal_data, site_language
from dashboard.auth import current
from dashboard.labels import alert_kind_label, language, text
from dashboard.timers import alert_key, timer
from dashboard.views import live_parts, view_holder
from dashboard.widgets import page_links, status_line, url_one

dash.register_page(__name__, path="/alerts", title="Callboard alerts")

HISTORY_DAYS = 7  # the history's date range when the page opens: the last week
REFRESH_S = 15  # the history and the chosen alert are read again this often
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # the history's start when its date range has none


def alert_data() -> AlertData:
    return dash.get_app().server.state.alerts


def chosen_alert(alert: str | None) -> int | None:
    try:
        return int(alert) if alert else None
    except ValueError:
        return None


def layout(lang: str | None = None, alert: str | list[str] | None = None, **_query: str) -> html.Div:
    """The page waiting for the push; the chosen alert and the history are read once it is shown."""
    request = {"page": "alerts", "lang": lang, "alert": chosen_alert(url_one(alert))}
    shown_lang = language(lang, site_language())
    waiting = alerts_parts(None, {**request, "lang": shown_lang})
    today = datetime.now(dash.get_app().server.state.settings.timezone).date()

    def part(name: str, element: type = html.Div, **props: Any) -> Any:
        return element(waiting[name], id={"type": ids.ALERTS_PART, "part": name}, **props)

    def choice(name: str, options: list[dict[str, str]], everything: str) -> dcc.Dropdown:
        return dcc.Dropdown(id={"type": ids.ALERTS_FILTER, "filter": name}, options=options, value=None,
                            placeholder=text(everything, shown_lang), className="filter")

    other = "en" if shown_lang == "zh-Hans" else "zh-Hans"
    page_lang = "zh-Hans" if shown_lang == "zh-Hans" else "en"
    return html.Div(className="floor alerts", **{"data-page": "alerts"}, lang=page_lang, children=[
        dcc.Store(id=ids.PAGE, data=request),
        view_holder(),
        dcc.Store(id=ids.ALERTS_NAME_STORE, storage_type="local"),
        dcc.Store(id=ids.ALERTS_DONE, data=0),
        dcc.Store(id=ids.ALERTS_OFFSET, data=0),
        dcc.Interval(id=ids.ALERTS_REFRESH, interval=1000 * REFRESH_S),
        html.Header(className="floor-head", children=[
            html.H1(["Callboard ", html.Span(text("alerts_title", shown_lang), className="dim")]),
            part("status", className="floor-status"),
            html.Nav([
                *page_links("/alerts", shown_lang, lang)[:-1],
                html.A(text("other_language", shown_lang), className="language",
                       href="/alerts" + _query_string({"lang": other, "alert": request["alert"]})),
            ]),
        ]),
        html.Div(className="alerts-name", children=[
            html.Label(htmlFor=ids.ALERTS_NAME, children=text("alerts_your_name", shown_lang)),
            dcc.Input(id=ids.ALERTS_NAME, type="text", maxLength=200, autoComplete="name"),
            html.Span(text("alerts_name_hint", shown_lang), className="dim"),
            html.Div(id=ids.ALERTS_MESSAGE, className="alerts-message", role="status"),
        ]),
        html.Div(id=ids.ALERTS_DETAIL, className="floor-detail"),
        html.Section(className="alerts-open", children=[
            html.H2(text("alerts_open_title", shown_lang)),
            html.Table(className="floor-table alerts-table", children=[
                html.Thead(html.Tr([html.Th(text(key, shown_lang)) for key in COLUMNS])),
                part("open", html.Tbody),
            ]),
        ]),
        html.Section(className="alerts-history", children=[
            html.H2(text("alerts_history_title", shown_lang)),
            html.Div(className="alerts-filters", children=[
                choice("state", [{"label": text(f"alert_state_{s}", shown_lang), "value": s} for s in STATES],
                       "alerts_any_state"),
                choice("kind", [{"label": alert_kind_label(k, shown_lang), "value": k} for k in KINDS],
                       "alerts_any_kind"),
                dcc.Input(id={"type": ids.ALERTS_FILTER, "filter": "queue"}, type="text", debounce=True,
                          placeholder=text("alerts_any_queue", shown_lang), className="filter"),
                dcc.DatePickerRange(id=ids.ALERTS_DATES, start_date=today - timedelta(days=HISTORY_DAYS - 1),
                                    end_date=today, display_format="YYYY-MM-DD", first_day_of_week=1),
            ]),
            html.Div(id=ids.ALERTS_HISTORY),
            html.Div(className="alerts-paging", children=[
                html.Button(text("alerts_newer", shown_lang), id={"type": ids.ALERTS_STEP, "step": -1},
                            className="link"),
                html.Button(text("alerts_older", shown_lang), id={"type": ids.ALERTS_STEP, "step": 1},
                            className="link"),
            ]),
        ]),
    ])


COLUMNS = ("alerts_kind", "alerts_subject", "alerts_level", "alerts_state", "alerts_raised", "alerts_age",
           "alerts_handled", "alerts_notified", "alerts_actions")


def _query_string(params: dict[str, Any]) -> str:
    present = {key: value for key, value in params.items() if value}
    return "?" + urlencode(present) if present else ""


# "Your name" is kept in this browser: filled from the store when the page opens, stored as typed.
dash.clientside_callback(
    """
    function (typed, stored) {
        var noUpdate = window.dash_clientside.no_update;
        var trigger = window.dash_clientside.callback_context.triggered_id;
        if (trigger === "alerts-name") return [noUpdate, typed || ""];
        return [stored ? stored : noUpdate, noUpdate];
    }
    """,
    Output(ids.ALERTS_NAME, "value"),
    Output(ids.ALERTS_NAME_STORE, "data"),
    Input(ids.ALERTS_NAME, "value"),
    Input(ids.ALERTS_NAME_STORE, "data"),
)


@dash.callback(Output(ids.ALERTS_MESSAGE, "children"), Output(ids.ALERTS_MESSAGE, "className"),
               Output(ids.ALERTS_DONE, "data"),
               Input({"type": ids.ALERTS_ACT, "action": ALL, "alert": ALL, "where": ALL}, "n_clicks"),
               State(ids.ALERTS_NAME, "value"), State(ids.PAGE, "data"), State(ids.ALERTS_DONE, "data"),
               prevent_initial_call=True)
async def act(_clicks: list, name: str | None, request: dict[str, Any], done: int) -> tuple[str, str, int]:
    """Acknowledge or resolve the alert whose button was clicked, as the name typed; say what happened."""
    clicked = ctx.triggered_id
    if not clicked or not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # buttons redrawn by a push, not clicked
    who = current()
    return await action_message(alert_data(), clicked["action"], clicked["alert"], name, _language(request), done,
                                signed_in=who.name if who else None)


@dash.callback(Output(ids.ALERTS_DETAIL, "children"), Input(ids.ALERTS_DONE, "data"),
               Input(ids.ALERTS_REFRESH, "n_intervals"), State(ids.PAGE, "data"))
async def show_chosen(_done: int, _refreshes: int | None, request: dict[str, Any]) -> list:
    """The alert named in the address, as it is now (resolved ones too), with its notifications."""
    alert_id = (request or {}).get("alert")
    if alert_id is None:
        return []
    lang = _language(request)
    alert = await alert_data().alert(alert_id)
    if alert is None:
        return [html.Div(text("alerts_missing", lang).format(id=alert_id), className="empty")]
    [alert] = await personal_data().shown_alerts([alert], full=_sees_personal_data())
    return [html.H2(text("alerts_selected", lang).format(id=alert_id)),
            html.Table(className="floor-table alerts-table", children=[
                html.Thead(html.Tr([html.Th(text(key, lang)) for key in COLUMNS])),
                html.Tbody([alert_row(alert, lang, _today(alert), where="detail", selected=True)])])]


@dash.callback(Output(ids.ALERTS_HISTORY, "children"), Output(ids.ALERTS_OFFSET, "data"),
               Input({"type": ids.ALERTS_FILTER, "filter": ALL}, "value"), Input(ids.ALERTS_DATES, "start_date"),
               Input(ids.ALERTS_DATES, "end_date"), Input({"type": ids.ALERTS_STEP, "step": ALL}, "n_clicks"),
               Input(ids.ALERTS_DONE, "data"), Input(ids.ALERTS_REFRESH, "n_intervals"),
               State(ids.ALERTS_OFFSET, "data"), State(ids.PAGE, "data"))
async def show_history(_filters: list, start: str | None, end: str | None, _steps: list, _done: int,
                       _refreshes: int | None, offset: int, request: dict[str, Any]) -> tuple[Any, int]:
    """A page of the history: newest first, filtered; a new filter starts again from the newest."""
    trigger = ctx.triggered_id
    stepped = isinstance(trigger, dict) and trigger.get("type") == ids.ALERTS_STEP
    if stepped:
        offset = max(0, (offset or 0) + trigger["step"] * HISTORY_PAGE)
    elif trigger == ids.ALERTS_DATES or (isinstance(trigger, dict) and trigger.get("type") == ids.ALERTS_FILTER):
        offset = 0
    chosen = {field["id"]["filter"]: field.get("value") for field in ctx.inputs_list[0]}
    zone = dash.get_app().server.state.settings.timezone
    first, last = _day(start), _day(end)
    history = await alert_data().history(HistoryFilter(
        start=datetime.combine(first, time(0), tzinfo=zone) if first else EARLIEST,
        end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone) if last else datetime.now(zone),
        state=chosen.get("state") or None, kind=chosen.get("kind") or None,
        queue=(chosen.get("queue") or "").strip() or None,
        offset=offset or 0))
    if stepped and not history["alerts"] and history["matching"]:
        raise PreventUpdate  # "Older" past the oldest: stay on this page
    history = {**history, "alerts": await personal_data().shown_alerts(history["alerts"], full=_sees_personal_data())}
    return history_table(history, _language(request), request.get("alert")), offset or 0


def _sees_personal_data() -> bool:
    who = current()
    return sees_personal_data(who.role if who else None)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _language(request: dict[str, Any] | None) -> str:
    return language((request or {}).get("lang"), site_language())


def _today(alert: dict[str, Any]) -> date:
    return datetime.now(datetime.fromisoformat(alert["raised_at"]).tzinfo).date()


@live_parts(ids.ALERTS_PART, "alerts")
def alerts_parts(snapshot: dict[str, Any] | None, request: dict[str, Any],
                 _whole: dict[str, Any] | None = None) -> dict[str, Any]:
    """The live parts: the status line and the open alerts (the chosen one highlighted)."""
    lang = request["lang"]
    if not snapshot:
        return {"status": html.Div(text("waiting_for_data", lang), className="status-line"), "open": []}
    today = datetime.fromisoformat(snapshot["as_of"]).date()
    rows = [alert_row(alert, lang, today, where="open", selected=alert["id"] == request.get("alert"))
            for alert in snapshot["alerts_open"]]
    return {"status": status_line(snapshot, request, lang),
            "open": rows or [html.Tr(html.Td(text("alerts_none_open", lang), colSpan=len(COLUMNS),
                                             className="empty"))]}


def about(alert: dict[str, Any], lang: str) -> list:
    """What the alert is about: queue, agent and the customer; else its subject."""
    parts = [alert[key] for key in ("queue", "agent") if alert.get(key)]
    if alert.get("customer"):
        parts.append(f"{text('alerts_customer', lang)} {alert['customer']}")
    return [" · ".join(parts) or alert["subject"]]


def handled(alert: dict[str, Any], lang: str, today: date) -> list:
    lines = []
    if alert["acknowledged_by"]:
        lines.append(html.Div(f"{text('alert_state_acknowledged', lang)}: {alert['acknowledged_by']} "
                              f"{when(alert['acknowledged_at'], today)}", className="acknowledged"))
    if alert["resolved_by"]:
        lines.append(html.Div(f"{text('alert_state_resolved', lang)}: {alert['resolved_by']} "
                              f"{when(alert['resolved_at'], today)}", className="resolved"))
    return lines


def notified(alert: dict[str, Any], lang: str, today: date) -> list:
    """Each notification: to whom, through what, about which change, and what became of it."""
    return [html.Div(className=f"notification {n['status']}", children=[
        html.Span(f"{n['recipient_name']} · {n['channel']}", className="who", title=n["recipient"]),
        html.Span(f" ({text('notification_change_' + n['change'], lang)}) ", className="dim"),
        html.Span(notification_outcome(n, lang, today), className="outcome"),
    ]) for n in alert["notifications"]]


def buttons(alert: dict[str, Any], lang: str, where: str) -> list:
    shown = {"open": ("acknowledge", "resolve"), "acknowledged": ("resolve",)}.get(alert["state"], ())
    return [html.Button(text(f"alerts_{action}", lang), className=f"act {action}",
                        id={"type": ids.ALERTS_ACT, "action": action, "alert": alert["id"], "where": where})
            for action in shown]


def alert_row(alert: dict[str, Any], lang: str, today: date, where: str, selected: bool = False) -> html.Tr:
    if where == "open":
        age: Any = timer(alert_key(alert["id"]))
    else:  # drawn once, on demand: how long it has lasted so far, or lasted
        ended = datetime.fromisoformat(alert["resolved_at"]) if alert["resolved_at"] else datetime.now(UTC)
        age = fmt.duration((ended - datetime.fromisoformat(alert["raised_at"])).total_seconds())
    return html.Tr(className=f"alert alert-{alert['state']}" + (" selected" if selected else ""),
                   **{"data-alert": str(alert["id"])}, children=[
        html.Td(alert_kind_label(alert["kind"], lang), className="kind"),
        html.Td(about(alert, lang)),
        html.Td(str(alert["level"]), className="num"),
        html.Td(text(f"alert_state_{alert['state']}", lang), className="state"),
        html.Td(when(alert["raised_at"], today), className="num"),
        html.Td(age, className="num"),
        html.Td(handled(alert, lang, today), className="handled"),
        html.Td(notified(alert, lang, today), className="notified"),
        html.Td(buttons(alert, lang, where), className="actions"),
    ])


def history_table(history: dict[str, Any], lang: str, chosen: int | None) -> list:
    shown = len(history["alerts"])
    listed = f"{history['offset'] + 1}–{history['offset'] + shown}" if history["offset"] else str(shown)
    counted = text("alerts_showing", lang).format(shown=listed, matching=history["matching"])
    if not shown:
        return [html.Div(text("alerts_history_none", lang), className="empty")]
    rows = [html.Tr(className=f"alert alert-{a['state']}" + (" selected" if a["id"] == chosen else ""),
                    **{"data-alert": str(a["id"])}, children=[
        html.Td(html.A(alert_kind_label(a["kind"], lang), href=_query_string({"alert": a["id"], "lang": lang}) or "?")),
        html.Td(about(a, lang)),
        html.Td(str(a["level"]), className="num"),
        html.Td(text(f"alert_state_{a['state']}", lang), className="state"),
        html.Td(when(a["raised_at"]), className="num"),
        html.Td(handled(a, lang, None)),
        html.Td(notified(a, lang, None), className="notified"),
    ]) for a in history["alerts"]]
    heads = ("alerts_kind", "alerts_subject", "alerts_level", "alerts_state", "alerts_raised", "alerts_handled",
             "alerts_notified")
    return [html.Div(counted, className="alerts-count dim"),
            html.Table(className="floor-table alerts-table", children=[
                html.Thead(html.Tr([html.Th(text(key, lang)) for key in heads])), html.Tbody(rows)])]
