"""The managers' trends: how past days and shifts went, chart by chart, with downloads.

Its address says what it shows, so a view can be bookmarked or shared (dashboard/periods.py):
``?range=last_week`` or ``?range=custom&from=2026-11-01&to=2026-11-07``, ``&bucket=1h`` (15m, 1h,
1d, 1w, 1mo or shift), ``&queue=billing,sales&team=Blue&shift=Early``, ``&lang=zh-Hans``.

Each change of the choices reads the trends and the weekday x hour cells once, as the JSON API
does, and draws every chart from them (dashboard/charts.py); each chart's title carries its
definition (callboard/definitions.py) and each chart has its data to download (dashboard/export.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from callboard.definitions import define
from callboard.metrics import BUCKETS
from dashboard import charts, ids, periods
from dashboard import format as fmt
from dashboard.app import history_data, live_data, shift_names, site_language, site_zone
from dashboard.export import trends_table
from dashboard.labels import language, text
from dashboard.widgets import page_links

dash.register_page(__name__, path="/trends", title="Callboard · Trends")

# The charts, in order: (name, title label, definition, the export table behind it).
CHARTS = (
    ("volume", "chart_volume", "volume", "buckets"),
    ("asa", "chart_asa", "asa", "buckets"),
    ("rates", "chart_rates", "service_level", "buckets"),
    ("abandon", "chart_abandon", "abandon_rate", "buckets"),
    ("holds", "chart_holds", "holds_over_limit", "buckets"),
    ("callbacks", "chart_callbacks", "callbacks_kept", "buckets"),
    ("repeats", "chart_repeats", "repeat_calls", "buckets"),
    ("heatmap", "chart_heatmap", "service_level", "weekday_hours"),
    ("shifts", "chart_shifts", None, "shifts"),
    ("periods", "chart_periods", None, "periods"),
)
FORMATS = ("csv", "xlsx")


def layout(lang: str | None = None, **query: Any) -> html.Div:
    """The trends page with its choices set from the address; the charts are drawn by
    :func:`show_trends` as soon as the page opens."""
    shown = language(lang, site_language())
    shifts = shift_names()
    choice = periods.from_query(query, shifts)
    zone = site_zone()
    first, last = periods.days_shown(*periods.window(choice, datetime.now(UTC), zone), zone)
    thresholds = live_data().thresholds

    def options(values: list[str], label: Any = None) -> list[dict[str, str]]:
        return [{"label": label(v) if label else v, "value": v} for v in values]

    def card(name: str, title: str, definition: str | None, table: str) -> html.Section:
        tooltip = define(definition, shown, thresholds) if definition else None
        downloads = [html.A(kind.upper(), id={"type": ids.TRENDS_EXPORT, "chart": name, "fmt": kind},
                            href=_export_href(table, kind, choice), className="export",
                            **{"data-table": table}) for kind in FORMATS]
        return html.Section(className="chart-card", **{"data-chart": name}, children=[
            html.Header([html.H2(text(title, shown), title=tooltip),
                         html.Span([text("download", shown), " ", *downloads], className="downloads")]),
            dcc.Graph(id={"type": ids.TRENDS_CHART, "chart": name}, config={"displaylogo": False},
                      className="chart"),
            *([html.Div(id=ids.TRENDS_PERIODS, className="periods-table")] if name == "periods" else []),
        ])

    return html.Div(className="managers", lang="zh-Hans" if shown == "zh-Hans" else "en", children=[
        dcc.Location(id=ids.TRENDS_URL, refresh=False),
        dcc.Store(id=ids.PAGE, data={"page": "trends", "lang": lang}),
        html.Header(className="managers-head", children=[
            html.H1(["Callboard ", html.Span(text("trends_title", shown), className="dim")]),
            html.Span(id=ids.TRENDS_WINDOW, className="window"),
            html.Nav(page_links("/trends", shown, lang)),
        ]),
        html.Div(className="managers-filters", children=[
            dcc.Dropdown(id=ids.TRENDS_RANGE, value=choice.preset, clearable=False, className="filter",
                         options=options(list(periods.PRESETS), lambda p: text(f"range_{p}", shown))),
            dcc.DatePickerRange(id=ids.TRENDS_DAYS, start_date=first.isoformat(), end_date=last.isoformat(),
                                display_format="YYYY-MM-DD", first_day_of_week=1, minimum_nights=0,
                                className="days"),
            dcc.Dropdown(id=ids.TRENDS_BUCKET, value=choice.bucket, clearable=False, className="filter",
                         options=options(list(BUCKETS), lambda b: text(f"bucket_{b}", shown))),
            dcc.Dropdown(id=ids.TRENDS_QUEUES, value=list(choice.queues), multi=True,
                         options=options(list(choice.queues)),
                         placeholder=text("all_queues", shown), className="filter"),
            dcc.Dropdown(id=ids.TRENDS_TEAM, value=choice.team, options=options([choice.team] if choice.team else []),
                         placeholder=text("all_teams", shown), className="filter"),
            dcc.Dropdown(id=ids.TRENDS_SHIFT, value=choice.shift, options=options(shifts),
                         placeholder=text("all_shifts", shown), className="filter"),
        ]),
        html.Div(className="chart-grid", children=[card(*chart) for chart in CHARTS]),
    ])


def _export_href(table: str, kind: str, choice: periods.Choice) -> str:
    return f"/export/trends/{table}.{kind}{choice.query()}"


@dash.callback(
    Output(ids.TRENDS_URL, "search"),
    Output(ids.TRENDS_RANGE, "value"),
    Output(ids.TRENDS_DAYS, "start_date"),
    Output(ids.TRENDS_DAYS, "end_date"),
    Output(ids.TRENDS_BUCKET, "value"),
    Output(ids.TRENDS_WINDOW, "children"),
    Output({"type": ids.TRENDS_CHART, "chart": ALL}, "figure"),
    Output({"type": ids.TRENDS_EXPORT, "chart": ALL, "fmt": ALL}, "href"),
    Output(ids.TRENDS_PERIODS, "children"),
    Output(ids.TRENDS_QUEUES, "options"),
    Output(ids.TRENDS_TEAM, "options"),
    Input(ids.TRENDS_RANGE, "value"),
    Input(ids.TRENDS_DAYS, "start_date"),
    Input(ids.TRENDS_DAYS, "end_date"),
    Input(ids.TRENDS_BUCKET, "value"),
    Input(ids.TRENDS_QUEUES, "value"),
    Input(ids.TRENDS_TEAM, "value"),
    Input(ids.TRENDS_SHIFT, "value"),
    State(ids.PAGE, "data"),
)
async def show_trends(preset: str, first: str | None, last: str | None, bucket: str, queues: list[str] | None,
                      team: str | None, shift: str | None, page: dict[str, Any]) -> tuple:
    """Read the chosen window once (trends and weekday x hour cells) and draw every chart of it."""
    picked_days = ctx.triggered_id == ids.TRENDS_DAYS
    if picked_days and not (first and last):
        raise PreventUpdate  # the second day is still to be picked
    history, zone, lang = history_data(), site_zone(), (page or {}).get("lang")
    shown = language(lang, site_language())
    query = {"range": "custom" if picked_days else preset, "bucket": bucket, "queue": ",".join(queues or []),
             "team": team, "shift": shift}
    if query["range"] == "custom":
        query.update({"from": (first or "")[:10], "to": (last or "")[:10]})
    choice = periods.from_query(query, history.shift_names)
    if ctx.triggered_id == ids.TRENDS_RANGE:
        choice = dataclasses.replace(choice, bucket=periods.DEFAULT_BUCKETS[choice.preset])
    start, end = periods.window(choice, datetime.now(UTC), zone)
    filters = (list(choice.queues), choice.team, choice.shift)
    trends, cells, offered = await asyncio.gather(history.trends(start, end, choice.bucket, *filters),
                                                  history.weekday_hours(start, end, *filters),
                                                  history.choices(start, end))
    figures = trends_figures(trends, cells, live_data().thresholds, shown)
    shown_first, shown_last = periods.days_shown(start, end, zone)
    tables = {name: table for name, _, _, table in CHARTS}
    return (
        choice.query(lang=lang), choice.preset, shown_first.isoformat(), shown_last.isoformat(), choice.bucket,
        window_words(trends, shown),
        [figures[output["id"]["chart"]] for output in ctx.outputs_list[6]],
        [_export_href(tables[output["id"]["chart"]], output["id"]["fmt"], choice)
         for output in ctx.outputs_list[7]],
        periods_table(trends, shown),
        _options(set(offered["queues"]) | set(choice.queues)),
        _options(set(offered["teams"]) | ({choice.team} if choice.team else set())),
    )


def _options(values: set[str]) -> list[dict[str, str]]:
    return [{"label": value, "value": value} for value in sorted(values)]


def trends_figures(trends: dict[str, Any], cells: dict[str, Any], thresholds: dict[str, Any],
                   lang: str) -> dict[str, Any]:
    """Every chart of the page, by name, from one trends answer and one weekday x hour answer."""
    return {
        "volume": charts.volume(trends, lang),
        "asa": charts.asa(trends, thresholds, lang),
        "rates": charts.rates(trends, thresholds, lang),
        "abandon": charts.abandon_rate(trends, lang),
        "holds": charts.holds(trends, lang),
        "callbacks": charts.callbacks(trends, lang),
        "repeats": charts.repeat_calls(trends, lang),
        "heatmap": charts.heatmap(cells, thresholds, lang),
        "shifts": charts.shifts(trends, lang),
        "periods": charts.periods(trends, lang),
    }


def window_words(trends: dict[str, Any], lang: str) -> str:
    """The window shown, e.g. "2026-11-16 00:00 – 2026-11-23 00:00 · previous period 2026-11-09 00:00 – …"."""
    def span(a: str, b: str) -> str:
        return f"{a[:16].replace('T', ' ')} – {b[:16].replace('T', ' ')}"

    previous = trends["previous"]
    return (f"{span(trends['from'], trends['to'])} · {text('previous_period', lang)} "
            f"{span(previous['from'], previous['to'])}")


# The comparison table's rows: (figure key, label key, how it is written).
_COMPARED = (
    ("offered", "offered", str), ("answered", "answered", str), ("abandoned", "abandoned", str),
    ("asa_s", "asa", fmt.duration), ("on_time_rate", "on_time", fmt.percent),
    ("service_level", "service_level", fmt.percent), ("abandon_rate", "chart_abandon", fmt.percent),
    ("holds_over_limit", "holds_over_limit", str), ("hold_discipline", "hold_discipline", fmt.percent),
    ("callbacks_missed", "callbacks_missed", str), ("callbacks_on_time_rate", "callbacks_on_time", fmt.percent),
)


def periods_table(trends: dict[str, Any], lang: str) -> html.Table:
    """This period against the previous, figure by figure (the rows of the ``periods`` export)."""
    columns, (this_row, previous_row) = trends_table("periods", trends)
    this, previous = dict(zip(columns, this_row, strict=True)), dict(zip(columns, previous_row, strict=True))

    def written(value: Any, write: Any) -> str:
        return fmt.MISSING if value is None else write(value)

    def change(key: str, write: Any) -> str:
        a, b = this[key], previous[key]
        if a is None or b is None:
            return fmt.MISSING
        if write is fmt.percent:
            return f"{(a - b) * 100:+.1f} pt"
        if write is fmt.duration:
            return ("+" if a >= b else "") + fmt.duration(a - b)
        return f"{a - b:+d}"

    rows = [html.Tr(**{"data-figure": key}, children=[
        html.Td(text(label, lang)), html.Td(written(this[key], write), className="num"),
        html.Td(written(previous[key], write), className="num"), html.Td(change(key, write), className="num")])
        for key, label, write in _COMPARED]
    heads = [text(key, lang) for key in ("figure", "this_period", "previous_period", "change")]
    return html.Table(className="floor-table", children=[
        html.Thead(html.Tr([html.Th(head) for head in heads])), html.Tbody(rows)])
