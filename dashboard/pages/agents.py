"""The managers' agent scorecards: every agent over the chosen days, ranked, and one agent's card to print.

Its address says what it shows (dashboard/periods.py): ``?range=last_week`` or
``?range=custom&from=2026-11-01&to=2026-11-30`` (at most 92 days), ``&agent=a017`` for that
agent's one-page scorecard, ``&lang=zh-Hans``.

Each change of the days reads the scorecards once, as ``/api/v1/agents/days`` answers them: each
agent's figures, the composite score, the place by score and its change since the period before,
and the figures of each day (drawn as a small chart of the score by day).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from callboard.definitions import define
from dashboard import format as fmt
from dashboard import ids, periods
from dashboard.app import live_data, site_language, site_zone
from dashboard.export import AGENTS_LONGEST_DAYS
from dashboard.labels import language, text
from dashboard.widgets import page_links

dash.register_page(__name__, path="/agents", title="Callboard · Agents")

# The scorecard's figures: (figure key, label key, definition, how it is written). Every score
# component stands next to the composite.
FIGURES: tuple[tuple[str, str, str, Any], ...] = (
    ("answered", "answered_count", "agent_answered", str),
    ("asa_s", "asa", "asa", fmt.duration),
    ("on_time_rate", "on_time", "on_time", fmt.percent),
    ("csat", "csat", "csat", fmt.percent),
    ("resolution_rate", "resolution_rate", "resolution_rate", fmt.percent),
    ("hold_discipline", "hold_discipline", "hold_discipline", fmt.percent),
    ("callbacks_on_time_rate", "callbacks_on_time", "callbacks_on_time", fmt.percent),
    ("agent_hangup_rate", "agent_hangup_rate", "agent_hangup_rate", fmt.percent),
    ("repeat_calls", "repeat_calls", "agent_repeat_calls", str),
    ("score", "score_title", "score", fmt.score),
)
FORMATS = ("csv", "xlsx")


def layout(lang: str | None = None, agent: str | list[str] | None = None, **query: Any) -> html.Div:
    """The agents page with its days set from the address; :func:`show_agents` fills it in."""
    shown = language(lang, site_language())
    choice = periods.from_query(query, longest_days=AGENTS_LONGEST_DAYS)
    zone = site_zone()
    first, last = periods.days_shown(*periods.window(choice, datetime.now(UTC), zone), zone)
    one = agent if isinstance(agent, str) else (agent or [None])[0]
    return html.Div(className="managers agents", lang="zh-Hans" if shown == "zh-Hans" else "en", children=[
        dcc.Location(id=ids.AGENTS_URL, refresh=False),
        dcc.Store(id=ids.PAGE, data={"page": "agents", "lang": lang, "agent": one or None}),
        html.Header(className="managers-head", children=[
            html.H1(["Callboard ", html.Span(text("agents_page_title", shown), className="dim")]),
            html.Span(id=ids.AGENTS_WINDOW, className="window"),
            html.Nav(page_links("/agents", shown, lang)),
        ]),
        html.Div(className="managers-filters agents-filters", children=[
            dcc.Dropdown(id=ids.AGENTS_RANGE, value=choice.preset, clearable=False, className="filter",
                         options=[{"label": text(f"range_{p}", shown), "value": p} for p in periods.PRESETS]),
            dcc.DatePickerRange(id=ids.AGENTS_DAYS, start_date=first.isoformat(), end_date=last.isoformat(),
                                display_format="YYYY-MM-DD", first_day_of_week=1, minimum_nights=0,
                                className="days"),
            html.Span(className="downloads", children=[
                text("download", shown), " ",
                *[html.A(f"{text(table_label, shown)} {kind.upper()}",
                         id={"type": ids.AGENTS_EXPORT, "table": table, "fmt": kind},
                         href=_export_href(table, kind, choice), className="export", **{"data-table": table})
                  for table, table_label in (("scorecards", "scorecard"), ("days", "score_by_day"))
                  for kind in FORMATS]]),
            html.Button(text("print", shown), id=ids.AGENTS_PRINT, className="print"),
        ]),
        html.Div(id=ids.AGENTS_BODY, className="agents-body"),
    ])


def _export_href(table: str, kind: str, choice: periods.Choice) -> str:
    return f"/export/agents/{table}.{kind}{choice.query()}"


@dash.callback(
    Output(ids.AGENTS_URL, "search"),
    Output(ids.AGENTS_RANGE, "value"),
    Output(ids.AGENTS_DAYS, "start_date"),
    Output(ids.AGENTS_DAYS, "end_date"),
    Output(ids.AGENTS_WINDOW, "children"),
    Output(ids.AGENTS_BODY, "children"),
    Output({"type": ids.AGENTS_EXPORT, "table": ALL, "fmt": ALL}, "href"),
    Input(ids.AGENTS_RANGE, "value"),
    Input(ids.AGENTS_DAYS, "start_date"),
    Input(ids.AGENTS_DAYS, "end_date"),
    State(ids.PAGE, "data"),
)
async def show_agents(preset: str, first: str | None, last: str | None, page: dict[str, Any]) -> tuple:
    """Read the chosen days' scorecards once and draw the ranking, or the one agent's scorecard."""
    picked_days = ctx.triggered_id == ids.AGENTS_DAYS
    if picked_days and not (first and last):
        raise PreventUpdate  # the second day is still to be picked
    page = page or {}
    lang, agent = page.get("lang"), page.get("agent")
    shown = language(lang, site_language())
    query = {"range": "custom" if picked_days else preset}
    if query["range"] == "custom":
        query.update({"from": (first or "")[:10], "to": (last or "")[:10]})
    choice = periods.from_query(query, longest_days=AGENTS_LONGEST_DAYS)
    zone = site_zone()
    start, end = periods.window(choice, datetime.now(UTC), zone)
    answer = await live_data().agent_days(start, end)
    shown_first, shown_last = periods.days_shown(start, end, zone)
    thresholds = live_data().thresholds
    if agent:
        chosen = next((a for a in answer["agents"] if a["agent"] == agent), None)
        body = scorecard(chosen, answer, choice, lang, shown, thresholds)
    else:
        body = ranking(answer["agents"], choice, lang, shown, thresholds)
    return (
        choice.query(agent=agent, lang=lang), choice.preset, shown_first.isoformat(), shown_last.isoformat(),
        f"{answer['from'][:16].replace('T', ' ')} – {answer['to'][:16].replace('T', ' ')}", body,
        [_export_href(output["id"]["table"], output["id"]["fmt"], choice) for output in ctx.outputs_list[6]],
    )


def sparkline(days: list[dict[str, Any]], lang: str) -> html.Div:
    """The score of each day as a bar 0-100 high; a day without a score is a gap."""
    bars = [html.Span(className="bar" if day["score"] is not None else "bar none",
                      style={"height": f"{day['score'] or 0:.0f}%"},
                      title=f"{day['start'][:10]}: {fmt.score(day['score'])}",
                      **{"data-day": day["start"][:10], "data-score": "" if day["score"] is None else
                         f"{day['score']:.6g}"})
            for day in days]
    return html.Div(bars, className="sparkline", title=text("score_by_day", lang))


def _change(agent: dict[str, Any], lang: str) -> html.Span:
    change = agent["rank_change"]
    if agent["rank"] is not None and agent["previous_rank"] is None:
        return html.Span(text("new_in_ranking", lang), className="change new")
    if change is None:
        return html.Span(fmt.MISSING, className="change")
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    return html.Span(f"{arrow} {abs(change)}" if change else arrow,
                     className="change " + ("up" if change > 0 else "down" if change < 0 else "same"))


def ranking(agents: list[dict[str, Any]], choice: periods.Choice, lang: str | None, shown: str,
            thresholds: dict[str, Any]) -> html.Table | html.Div:
    """Every agent by place (those without a score last, by name), with every figure and the score by day."""
    if not agents:
        return html.Div(text("no_agent_figures", shown), className="empty")
    ordered = sorted(agents, key=lambda a: (a["rank"] is None, a["rank"] or 0, a["name"], a["agent"]))
    heads = [html.Th(text("rank", shown)), html.Th(text("rank_change", shown)), html.Th(text("agent", shown)),
             html.Th(text("team", shown))]
    heads += [html.Th(text(label, shown), title=define(definition, shown, thresholds), className="num")
              for _, label, definition, _ in FIGURES]
    heads.append(html.Th(text("score_by_day", shown)))
    rows = [html.Tr(**{"data-agent": a["agent"]}, children=[
        html.Td(str(a["rank"]) if a["rank"] is not None else fmt.MISSING, className="num rank"),
        html.Td(_change(a, shown)),
        html.Td(html.A(a["name"], href="/agents" + choice.query(agent=a["agent"], lang=lang), title=a["agent"]),
                className="name"),
        html.Td(a["team"] or "", className="team"),
        *[html.Td(fmt.MISSING if a[key] is None else write(a[key]), className=f"num {key}")
          for key, _, _, write in FIGURES],
        html.Td(sparkline(a["days"], shown)),
    ]) for a in ordered]
    return html.Table(className="floor-table ranking", children=[html.Thead(html.Tr(heads)), html.Tbody(rows)])


def scorecard(agent: dict[str, Any] | None, answer: dict[str, Any], choice: periods.Choice, lang: str | None,
              shown: str, thresholds: dict[str, Any]) -> html.Div:
    """One agent's page to print: every component and the composite with their definitions, the
    place and its change, and each day's figures with the score by day."""
    back = html.A(text("all_agents_ranked", shown), href="/agents" + choice.query(lang=lang), className="back")
    if agent is None:
        return html.Div([back, html.Div(text("no_such_agent", shown), className="empty")], className="scorecard")
    figures = [html.Div(className=f"figure {key}", title=define(definition, shown, thresholds), children=[
        html.Div(text(label, shown), className="label"),
        html.Div(fmt.MISSING if agent[key] is None else write(agent[key]), className="value"),
        html.Div(define(definition, shown, thresholds), className="definition"),
    ]) for key, label, definition, write in FIGURES]
    place = html.Div(className="place", children=[
        html.Span(f"{text('rank', shown)} {agent['rank'] if agent['rank'] is not None else fmt.MISSING}"),
        _change(agent, shown),
        html.Span(f"{text('previous_score', shown)} {fmt.score(agent['previous_score'])}", className="dim"),
    ])
    day_rows = [html.Tr(**{"data-day": day["start"][:10]}, children=[
        html.Td(day["start"][:10]),
        *[html.Td(fmt.MISSING if day[key] is None else write(day[key]), className="num")
          for key, _, _, write in FIGURES]]) for day in agent["days"]]
    days_table = html.Table(className="floor-table days", children=[
        html.Thead(html.Tr([html.Th(text("day", shown))] + [html.Th(text(label, shown), className="num")
                                                            for _, label, _, _ in FIGURES])),
        html.Tbody(day_rows)])
    return html.Div(className="scorecard", **{"data-agent": agent["agent"]}, children=[
        back,
        html.H2([agent["name"], html.Span(f" {agent['agent']} · {agent['team'] or ''}", className="dim")]),
        html.Div(f"{text('period', shown)}: {answer['from'][:10]} – {answer['to'][:16].replace('T', ' ')}",
                 className="dim"),
        place,
        html.Div(figures, className="figures"),
        html.H3(text("score_by_day", shown)),
        sparkline(agent["days"], shown),
        days_table,
    ])


dash.clientside_callback(
    "function (n) { if (n) { window.print(); } return window.dash_clientside.no_update; }",
    Output(ids.AGENTS_PRINT, "title"),
    Input(ids.AGENTS_PRINT, "n_clicks"),
    prevent_initial_call=True,
)
