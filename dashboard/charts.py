"""The managers' charts: functions that take the figures the JSON API serves (``/api/v1/trends``,
``/api/v1/trends/weekday-hours``) and return Plotly figures. They plot the API's values as they
are (rates as fractions, shown as percentages by the axis), so a chart's data is the API's; target
lines come from the thresholds in force. Times are the site's: the API writes them in its zone.

A figure is Plotly's own JSON form, ``{"data": [traces], "layout": {...}}``, as ``dcc.Graph`` takes
it: a page draws nine at a time, and building them as ``plotly.graph_objects`` (which check every
property) took longer than reading their figures from the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .labels import text

Answer = Mapping[str, Any]
Figure = dict[str, Any]
Trace = dict[str, Any]
# Every chart's look, in the pages' dark colours (dashboard/assets/callboard.css).
_AXIS = {"gridcolor": "#30363d", "zerolinecolor": "#30363d", "linecolor": "#30363d"}
_LAYOUT = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#e6edf3"},
           "colorway": ["#58a6ff", "#f85149", "#3fb950", "#d2a8ff", "#d29922", "#8b949e"],
           "margin": {"l": 50, "r": 20, "t": 10, "b": 40}, "height": 280, "hovermode": "x unified",
           "legend": {"orientation": "h", "y": -0.18}, "xaxis": _AXIS, "yaxis": _AXIS}
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


def _figure(traces: Sequence[Trace], trends: Answer | None = None, **layout: Any) -> Figure:
    axes = {axis: {**_AXIS, **layout.pop(axis, {})} for axis in ("xaxis", "yaxis")}
    if trends is not None and (trends["bucket"] == "shift" or trends["bucket"] in _DAY_BUCKETS):
        axes["xaxis"]["type"] = "category"
    return {"data": list(traces), "layout": {**_LAYOUT, **layout, **axes}}


# Beyond this many buckets (a week by hour, a month by hour) a bar or a marker would be a pixel or
# two wide: counts are drawn as lines (stacked ones as areas) and rates as lines without markers,
# as readable there, and thousands of shapes fewer for the browser to draw.
DENSE_BUCKETS = 100


def _bar(x: list[Any], y: list[Any], name: str, colour: str | None = None, *, stacked: bool = False) -> Trace:
    if len(x) > DENSE_BUCKETS:
        return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name,
                "line": {"width": 1, **({"color": colour} if colour else {})},
                **({"stackgroup": "stacked"} if stacked else {})}
    return {"type": "bar", "x": x, "y": y, "name": name, **({"marker": {"color": colour}} if colour else {})}


def _line(x: list[Any], y: list[Any], name: str, colour: str) -> Trace:
    mode = "lines" if len(x) > DENSE_BUCKETS else "lines+markers"
    return {"type": "scatter", "mode": mode, "x": x, "y": y, "name": name, "line": {"color": colour}}


def _series(trends: Answer, key: str) -> list[Any]:
    return [b[key] for b in trends["buckets"]]


def volume(trends: Answer, lang: str) -> Figure:
    """Calls offered, answered and abandoned in each bucket."""
    x = bucket_labels(trends)
    return _figure([_bar(x, _series(trends, key), text(key, lang), _COLOURS[key])
                    for key in ("offered", "answered", "abandoned")], trends, barmode="group")


def _with_targets(figure: Figure, targets: Sequence[tuple[float, str, str]]) -> Figure:
    """The figure with a dashed line across it at each (y, label, colour), labelled at its left."""
    figure["layout"]["shapes"] = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
         "line": {"dash": "dash", "color": colour}} for y, _, colour in targets]
    figure["layout"]["annotations"] = [
        {"xref": "paper", "x": 0, "xanchor": "left", "yref": "y", "y": y, "yanchor": "bottom", "text": label,
         "showarrow": False, "font": {"color": colour}} for y, label, colour in targets]
    return figure


def asa(trends: Answer, thresholds: Answer, lang: str) -> Figure:
    """ASA per bucket in seconds, against the answer target."""
    target = thresholds["answer_target_s"]
    return _with_targets(
        _figure([_line(bucket_labels(trends), _series(trends, "asa_s"), text("asa", lang), _COLOURS["line"])],
                trends, yaxis={"title": {"text": "s"}, "rangemode": "tozero"}),
        [(target, f"{text('answer_target', lang)} {target:g} s", _COLOURS["amber"])])


def rates(trends: Answer, thresholds: Answer, lang: str) -> Figure:
    """On-time answer rate and service level per bucket, against the rates below which they show
    amber and red."""
    x = bucket_labels(trends)
    figure = _figure([_line(x, _series(trends, "on_time_rate"), text("on_time", lang), _COLOURS["line"]),
                      _line(x, _series(trends, "service_level"), text("service_level", lang), _COLOURS["second"])],
                     trends, yaxis={"tickformat": ".0%", "range": [0, 1.05]})
    amber, red = thresholds["rate_amber_below"], thresholds["rate_red_below"]
    return _with_targets(figure, [(amber, f"{text('amber_below', lang)} {amber:.0%}", _COLOURS["amber"]),
                                  (red, f"{text('red_below', lang)} {red:.0%}", _COLOURS["red"])])


def abandon_rate(trends: Answer, lang: str) -> Figure:
    return _figure([_line(bucket_labels(trends), _series(trends, "abandon_rate"), text("chart_abandon", lang),
                          _COLOURS["abandoned"])], trends, yaxis={"tickformat": ".0%", "rangemode": "tozero"})


def holds(trends: Answer, lang: str) -> Figure:
    """Holds started per bucket: those over the limit, stacked on those within it."""
    x = bucket_labels(trends)
    within = [b["holds"] - b["holds_over_limit"] for b in trends["buckets"]]
    return _figure([_bar(x, _series(trends, "holds_over_limit"), text("holds_over_limit", lang), _COLOURS["red"],
                         stacked=True),
                    _bar(x, within, text("holds_within", lang), _COLOURS["previous"], stacked=True)],
                   trends, barmode="stack")


def callbacks(trends: Answer, lang: str) -> Figure:
    """Promised callbacks decided per bucket: kept, and missed stacked on them."""
    x = bucket_labels(trends)
    return _figure([_bar(x, _series(trends, "callbacks_on_time"), text("callbacks_kept", lang), _COLOURS["answered"],
                         stacked=True),
                    _bar(x, _series(trends, "callbacks_missed"), text("callbacks_missed", lang), _COLOURS["red"],
                         stacked=True)],
                   trends, barmode="stack")


def repeat_calls(trends: Answer, lang: str) -> Figure:
    """Repeat calls offered per bucket: callers who called again within 24 h of a call not settled."""
    return _figure([_bar(bucket_labels(trends), _series(trends, "repeat_calls"), text("repeat_calls", lang),
                         _COLOURS["amber"])], trends)


def heatmap(weekday_hours: Answer, thresholds: Answer, lang: str, key: str = "service_level") -> Figure:
    """``key`` of each weekday (rows, Monday first) and hour (columns): service level (or another
    rate) coloured as on screen, red below the red line, amber below the amber line; or ASA
    (``asa_s``), darker the longer. A cell with nothing to count is empty."""
    grid: list[list[Any]] = [[None] * 24 for _ in range(7)]
    for cell in weekday_hours["cells"]:
        grid[cell["weekday"]][cell["hour"]] = cell[key]
    red, amber = thresholds["rate_red_below"], thresholds["rate_amber_below"]
    rate_colours = [[0, _COLOURS["red"]], [red, _COLOURS["red"]], [amber, _COLOURS["amber"]],
                    [1, _COLOURS["answered"]]]
    scale = {"colorscale": rate_colours, "zmin": 0, "zmax": 1, "colorbar": {"tickformat": ".0%"}} \
        if key != "asa_s" else {"colorscale": "YlOrRd", "reversescale": True, "zmin": 0}
    return _figure([{"type": "heatmap", "z": grid, "x": list(range(24)),
                     "y": [text(f"weekday_{day}", lang) for day in range(7)], "hoverongaps": False, **scale}],
                   yaxis={"autorange": "reversed"}, xaxis={"dtick": 1, "title": {"text": text("hour", lang)}},
                   hovermode="closest")


COMPARED_RATES = ("on_time_rate", "service_level", "abandon_rate", "hold_discipline", "callbacks_on_time_rate")
_RATE_LABELS = {"on_time_rate": "on_time", "service_level": "service_level", "abandon_rate": "chart_abandon",
                "hold_discipline": "hold_discipline", "callbacks_on_time_rate": "callbacks_on_time"}


def shifts(trends: Answer, lang: str) -> Figure:
    """Each shift's runs in the window together: their rates side by side."""
    names = [s["shift"] for s in trends["shifts"]]
    return _figure([_bar(names, [s[key] for s in trends["shifts"]], text(_RATE_LABELS[key], lang))
                    for key in COMPARED_RATES], barmode="group", yaxis={"tickformat": ".0%"},
                   xaxis={"type": "category"})


def periods(trends: Answer, lang: str) -> Figure:
    """The window's rates against those of the window just before, as long."""
    x = [text(_RATE_LABELS[key], lang) for key in COMPARED_RATES]
    return _figure([_bar(x, [trends["totals"][key] for key in COMPARED_RATES], text("this_period", lang),
                         _COLOURS["line"]),
                    _bar(x, [trends["previous"][key] for key in COMPARED_RATES], text("previous_period", lang),
                         _COLOURS["previous"])],
                   barmode="group", yaxis={"tickformat": ".0%"}, xaxis={"type": "category"})
