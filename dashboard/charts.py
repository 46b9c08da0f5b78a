"""The managers' charts: functions that take the figures the JSON API serves (``/api/v1/trends``,
``/api/v1/trends/weekday-hours``) and return Plotly figures. They plot the API's values as they
are (rates as fractions, shown as percentages by the axis), so a chart's data is the API's; target
lines come from the thresholds in force. Times are the site's: the API writes them in its zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from .labels import text

Answer = Mapping[str, Any]
# Every chart's look; the pages are dark.
_LAYOUT = {"template": "plotly_dark", "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
           "margin": {"l": 50, "r": 20, "t": 10, "b": 40}, "height": 280, "hovermode": "x unified",
           "legend": {"orientation": "h", "y": -0.18}}
_COLOURS = {"offered": "#8b949e", "answered": "#3fb950", "abandoned": "#f85149", "line": "#58a6ff",
            "second": "#d2a8ff", "amber": "#d29922", "red": "#f85149", "previous": "#6e7681"}


# Buckets named by their start's date (the first may start later in the day), not placed on a time axis.
_DAY_BUCKETS = ("1d", "1w", "1mo")


def bucket_labels(trends: Answer) -> list[str]:
    """The x of each bucket: its local start ("2026-11-23 09:00"); the day it starts for days,
    weeks and months ("2026-11-23"); with shift buckets the shift's name too ("11-23 07:00 Early"),
    as shifts may start together."""
    if trends["bucket"] == "shift":
        return [f"{b['start'][5:16].replace('T', ' ')} {b['shift']}" for b in trends["buckets"]]
    if trends["bucket"] in _DAY_BUCKETS:
        return [b["start"][:10] for b in trends["buckets"]]
    return [b["start"][:16].replace("T", " ") for b in trends["buckets"]]


def _figure(traces: Sequence[go.BaseTraceType], trends: Answer | None = None, **layout: Any) -> go.Figure:
    figure = go.Figure(data=list(traces))
    figure.update_layout({**_LAYOUT, **layout})
    if trends is not None and (trends["bucket"] == "shift" or trends["bucket"] in _DAY_BUCKETS):
        figure.update_xaxes(type="category")
    return figure


def _series(trends: Answer, key: str) -> list[Any]:
    return [b[key] for b in trends["buckets"]]


def volume(trends: Answer, lang: str) -> go.Figure:
    """Calls offered, answered and abandoned in each bucket."""
    x = bucket_labels(trends)
    return _figure([go.Bar(x=x, y=_series(trends, key), name=text(key, lang), marker_color=_COLOURS[key])
                    for key in ("offered", "answered", "abandoned")], trends, barmode="group")


def _target(figure: go.Figure, value: float, label: str, colour: str) -> None:
    figure.add_hline(y=value, line_dash="dash", line_color=colour, annotation_text=label,
                     annotation_position="top left", annotation_font_color=colour)


def asa(trends: Answer, thresholds: Answer, lang: str) -> go.Figure:
    """ASA per bucket in seconds, against the answer target."""
    figure = _figure([go.Scatter(x=bucket_labels(trends), y=_series(trends, "asa_s"), name=text("asa", lang),
                                 mode="lines+markers", line_color=_COLOURS["line"])], trends,
                     yaxis={"title": "s", "rangemode": "tozero"})
    target = thresholds["answer_target_s"]
    _target(figure, target, f"{text('answer_target', lang)} {target:g} s", _COLOURS["amber"])
    return figure


def rates(trends: Answer, thresholds: Answer, lang: str) -> go.Figure:
    """On-time answer rate and service level per bucket, against the rates below which they show
    amber and red."""
    x = bucket_labels(trends)
    figure = _figure([go.Scatter(x=x, y=_series(trends, "on_time_rate"), name=text("on_time", lang),
                                 mode="lines+markers", line_color=_COLOURS["line"]),
                      go.Scatter(x=x, y=_series(trends, "service_level"), name=text("service_level", lang),
                                 mode="lines+markers", line_color=_COLOURS["second"])], trends,
                     yaxis={"tickformat": ".0%", "range": [0, 1.05]})
    for key, colour in (("rate_amber_below", "amber"), ("rate_red_below", "red")):
        label = text("amber_below" if colour == "amber" else "red_below", lang)
        _target(figure, thresholds[key], f"{label} {thresholds[key]:.0%}", _COLOURS[colour])
    return figure


def abandon_rate(trends: Answer, lang: str) -> go.Figure:
    return _figure([go.Scatter(x=bucket_labels(trends), y=_series(trends, "abandon_rate"),
                               name=text("chart_abandon", lang), mode="lines+markers",
                               line_color=_COLOURS["abandoned"])], trends,
                   yaxis={"tickformat": ".0%", "rangemode": "tozero"})


def holds(trends: Answer, lang: str) -> go.Figure:
    """Holds started per bucket: those over the limit, stacked on those within it."""
    x = bucket_labels(trends)
    within = [b["holds"] - b["holds_over_limit"] for b in trends["buckets"]]
    return _figure([go.Bar(x=x, y=_series(trends, "holds_over_limit"), name=text("holds_over_limit", lang),
                           marker_color=_COLOURS["red"]),
                    go.Bar(x=x, y=within, name=text("holds_within", lang), marker_color=_COLOURS["previous"])],
                   trends, barmode="stack")


def callbacks(trends: Answer, lang: str) -> go.Figure:
    """Promised callbacks decided per bucket: kept, and missed stacked on them."""
    x = bucket_labels(trends)
    return _figure([go.Bar(x=x, y=_series(trends, "callbacks_on_time"), name=text("callbacks_kept", lang),
                           marker_color=_COLOURS["answered"]),
                    go.Bar(x=x, y=_series(trends, "callbacks_missed"), name=text("callbacks_missed", lang),
                           marker_color=_COLOURS["red"])], trends, barmode="stack")


def heatmap(weekday_hours: Answer, lang: str, key: str = "service_level") -> go.Figure:
    """``key`` (service level by default) of each weekday (rows, Monday first) and hour (columns);
    a cell with nothing to count is empty."""
    grid: list[list[Any]] = [[None] * 24 for _ in range(7)]
    for cell in weekday_hours["cells"]:
        grid[cell["weekday"]][cell["hour"]] = cell[key]
    rate = key != "asa_s"
    return _figure([go.Heatmap(z=grid, x=list(range(24)), y=[text(f"weekday_{day}", lang) for day in range(7)],
                               colorscale="RdYlGn" if rate else "RdYlGn_r", zmin=0 if rate else None,
                               zmax=1 if rate else None, hoverongaps=False,
                               colorbar={"tickformat": ".0%"} if rate else {})],
                   yaxis={"autorange": "reversed"}, xaxis={"dtick": 1, "title": text("hour", lang)},
                   hovermode="closest")


COMPARED_RATES = ("on_time_rate", "service_level", "abandon_rate", "hold_discipline", "callbacks_on_time_rate")
_RATE_LABELS = {"on_time_rate": "on_time", "service_level": "service_level", "abandon_rate": "chart_abandon",
                "hold_discipline": "hold_discipline", "callbacks_on_time_rate": "callbacks_on_time"}


def shifts(trends: Answer, lang: str) -> go.Figure:
    """Each shift's runs in the window together: their rates side by side."""
    names = [s["shift"] for s in trends["shifts"]]
    return _figure([go.Bar(x=names, y=[s[key] for s in trends["shifts"]], name=text(_RATE_LABELS[key], lang))
                    for key in COMPARED_RATES], barmode="group", yaxis={"tickformat": ".0%"},
                   xaxis={"type": "category"})


def periods(trends: Answer, lang: str) -> go.Figure:
    """The window's rates against those of the window just before, as long."""
    x = [text(_RATE_LABELS[key], lang) for key in COMPARED_RATES]
    return _figure([go.Bar(x=x, y=[trends["totals"][key] for key in COMPARED_RATES], name=text("this_period", lang),
                           marker_color=_COLOURS["line"]),
                    go.Bar(x=x, y=[trends["previous"][key] for key in COMPARED_RATES],
                           name=text("previous_period", lang), marker_color=_COLOURS["previous"])],
                   barmode="group", yaxis={"tickformat": ".0%"}, xaxis={"type": "category"})
