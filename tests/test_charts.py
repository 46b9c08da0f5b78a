"""The managers' charts, windows and tables, without a browser: each chart plots the API's figures as
they are, with its target lines from the thresholds in force; presets follow the site's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import pytest

from dashboard import charts, export, periods

THRESHOLDS = {"answer_target_s": 20.0, "hold_limit_s": 60.0, "short_abandon_s": 5.0, "rate_amber_below": 0.85,
              "rate_red_below": 0.7}


def figures(**values) -> dict:
    empty = {key: 0 for key in export.TREND_FIGURES}
    return {**empty, "asa_s": None, "on_time_rate": None, "service_level": None, "abandon_rate": None,
            "hold_discipline": None, "callbacks_on_time_rate": None, **values}


def trends_answer(bucket: str = "1h") -> dict:
    return {
        "from": "2026-11-23T09:00:00+08:00", "to": "2026-11-23T11:00:00+08:00", "bucket": bucket,
        "queues": [], "team": None, "shift": None,
        "buckets": [
            {"start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T10:00:00+08:00", **({"shift": "Early"} if
             bucket == "shift" else {}), **figures(offered=5, answered=4, abandoned=1, asa_s=12.5, on_time_rate=0.75,
                                                 service_level=0.6, holds=3, holds_over_limit=1, callbacks_due=2,
                                                 callbacks_on_time=1, callbacks_missed=1, repeat_calls=2)},
            {"start": "2026-11-23T10:00:00+08:00", "end": "2026-11-23T11:00:00+08:00", **({"shift": "Mid"} if
             bucket == "shift" else {}), **figures()},
        ],
        "totals": figures(offered=5, on_time_rate=0.75, service_level=0.6),
        "previous": {"from": "2026-11-23T07:00:00+08:00", "to": "2026-11-23T09:00:00+08:00",
                     **figures(offered=2, on_time_rate=1.0, service_level=0.5)},
        "shifts": [{"shift": "Early", **figures(on_time_rate=0.75)}, {"shift": "Mid", **figures()}],
    }


def test_bucket_charts_plot_the_api_figures_at_each_buckets_local_start():
    trends = trends_answer()
    volume = charts.volume(trends, "en")
    assert [(t["name"], t["x"], t["y"]) for t in volume["data"]] == [
        ("offered", ["2026-11-23 09:00", "2026-11-23 10:00"], [5, 0]),
        ("answered", ["2026-11-23 09:00", "2026-11-23 10:00"], [4, 0]),
        ("abandoned", ["2026-11-23 09:00", "2026-11-23 10:00"], [1, 0])]
    rates = charts.rates(trends, THRESHOLDS, "zh-Hans")
    assert [t["y"] for t in rates["data"]] == [[0.75, None], [0.6, None]]  # no calls: a gap, not 0
    assert [t["name"] for t in rates["data"]] == ["及时应答率", "服务水平"]
    holds = charts.holds(trends, "en")
    assert [t["y"] for t in holds["data"]] == [[1, 0], [2, 0]]  # over the limit, and within it
    assert [t["y"] for t in charts.callbacks(trends, "en")["data"]] == [[1, 0], [1, 0]]
    assert [(t["name"], t["y"]) for t in charts.repeat_calls(trends, "zh-Hans")["data"]] == [("重复来电", [2, 0])]


def test_target_lines_are_the_thresholds_in_force():
    trends = trends_answer()
    asa = charts.asa(trends, THRESHOLDS, "en")
    assert [(shape["y0"], shape["y1"]) for shape in asa["layout"]["shapes"]] == [(20.0, 20.0)]
    assert asa["layout"]["annotations"][0]["text"] == "answer target 20 s"
    rates = charts.rates(trends, THRESHOLDS, "en")
    assert [shape["y0"] for shape in rates["layout"]["shapes"]] == [0.85, 0.7]
    assert [a["text"] for a in rates["layout"]["annotations"]] == ["amber below 85%", "red below 70%"]


def test_day_and_shift_buckets_are_named_not_placed_on_a_clock():
    assert charts.bucket_labels({**trends_answer(), "bucket": "1d"}) == ["2026-11-23", "2026-11-23"]
    shifts = trends_answer("shift")
    assert charts.bucket_labels(shifts) == ["11-23 09:00 Early", "11-23 10:00 Mid"]
    assert charts.volume(shifts, "en")["layout"]["xaxis"]["type"] == "category"


def test_every_chart_is_a_figure_plotly_accepts():
    trends = trends_answer("shift")
    cells = {"cells": [{"weekday": 0, "hour": 9, **figures(service_level=0.5)}]}
    built = [charts.volume(trends, "en"), charts.asa(trends, THRESHOLDS, "en"), charts.rates(trends, THRESHOLDS, "en"),
             charts.abandon_rate(trends, "en"), charts.holds(trends, "en"), charts.callbacks(trends, "en"),
             charts.repeat_calls(trends, "en"), charts.heatmap(cells, THRESHOLDS, "en"),
             charts.heatmap(cells, THRESHOLDS, "en", "asa_s"), charts.shifts(trends, "en"),
             charts.periods(trends, "en")]
    for figure in built:
        go.Figure(figure)  # plotly's own check of every property: raises on one it does not know


def test_many_buckets_are_drawn_as_lines_and_areas_with_the_same_figures():
    few = trends_answer()
    many = {**few, "buckets": [few["buckets"][n % 2] for n in range(charts.DENSE_BUCKETS + 1)]}
    for chart in (charts.volume, charts.holds, charts.callbacks, charts.repeat_calls, charts.abandon_rate):
        drawn, dense = chart(few, "en"), chart(many, "en")
        assert {t["type"] for t in drawn["data"]} == ({"scatter"} if chart is charts.abandon_rate else {"bar"})
        assert {(t["type"], t["mode"]) for t in dense["data"]} == {("scatter", "lines")}
        assert [t["y"][:2] for t in dense["data"]] == [t["y"] for t in drawn["data"]]
        go.Figure(dense)
    assert {t["stackgroup"] for t in charts.holds(many, "en")["data"]} == {"stacked"}  # stacked, as the bars are
    assert all("stackgroup" not in t for t in charts.volume(many, "en")["data"])


def test_the_heat_map_has_a_cell_per_weekday_and_hour_empty_where_nothing_was_counted():
    cells = {"cells": [{"weekday": 0, "hour": 9, **figures(service_level=0.5)},
                       {"weekday": 6, "hour": 23, **figures(service_level=1.0)}]}
    heat = charts.heatmap(cells, THRESHOLDS, "en")["data"][0]
    assert len(heat["z"]) == 7 and all(len(row) == 24 for row in heat["z"])
    assert (heat["z"][0][9], heat["z"][6][23], heat["z"][3][12]) == (0.5, 1.0, None)
    assert (heat["y"][0], heat["y"][6]) == ("Mon", "Sun")
    assert [stop for stop, _ in heat["colorscale"]] == [0, 0.7, 0.85, 1]  # red below 70%, amber below 85%


def test_comparisons_put_shifts_and_the_previous_period_side_by_side():
    trends = trends_answer()
    shifts = charts.shifts(trends, "en")
    assert shifts["data"][0]["x"] == ["Early", "Mid"] and shifts["data"][0]["y"] == [0.75, None]
    compared = charts.periods(trends, "en")
    assert [t["name"] for t in compared["data"]] == ["This period", "Previous period"]
    assert (compared["data"][0]["y"][1], compared["data"][1]["y"][1]) == (0.6, 0.5)  # service level


def test_tables_carry_the_api_fields_and_write_a_missing_figure_as_an_empty_cell():
    columns, rows = export.trends_table("buckets", trends_answer())
    assert columns[:2] == ["start", "end"] and rows[1][columns.index("asa_s")] is None
    assert export.as_csv((columns, rows)).decode().splitlines()[2].split(",")[columns.index("asa_s")] == ""
    columns, rows = export.trends_table("periods", trends_answer())
    assert [row[:2] for row in rows] == [["this", "2026-11-23T09:00:00+08:00"],
                                         ["previous", "2026-11-23T07:00:00+08:00"]]
    with pytest.raises(ValueError):
        export.trends_table("agents", trends_answer())


SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 25 November, 11:00 in Shanghai


@pytest.mark.parametrize("preset, start, end", [
    ("today", datetime(2026, 11, 25, tzinfo=SHANGHAI), NOW),
    ("yesterday", datetime(2026, 11, 24, tzinfo=SHANGHAI), datetime(2026, 11, 25, tzinfo=SHANGHAI)),
    ("this_week", datetime(2026, 11, 23, tzinfo=SHANGHAI), NOW),
    ("last_week", datetime(2026, 11, 16, tzinfo=SHANGHAI), datetime(2026, 11, 23, tzinfo=SHANGHAI)),
    ("last_30_days", datetime(2026, 10, 26, tzinfo=SHANGHAI), datetime(2026, 11, 25, tzinfo=SHANGHAI)),
])
def test_presets_are_windows_of_the_sites_days(preset, start, end):
    assert periods.window(periods.from_query({"range": preset}), NOW, SHANGHAI) == (start, end)


def test_chosen_days_include_both_ends_and_the_address_says_them_back():
    choice = periods.from_query({"range": "custom", "from": "2026-11-07", "to": "2026-11-01", "bucket": "shift",
                                 "queue": ["billing,sales"], "team": "Blue", "shift": "Night"}, ["Early", "Night"])
    assert (choice.first, choice.last) == (date(2026, 11, 1), date(2026, 11, 7))  # given the wrong way round
    assert periods.window(choice, NOW, SHANGHAI) == (datetime(2026, 11, 1, tzinfo=SHANGHAI),
                                                    datetime(2026, 11, 8, tzinfo=SHANGHAI))
    assert choice.query(lang="zh-Hans") == ("?range=custom&from=2026-11-01&to=2026-11-07&bucket=shift"
                                            "&queue=billing%2Csales&team=Blue&shift=Night&lang=zh-Hans")
    assert periods.from_query({"range": "custom", "from": "2026-01-01", "to": "2026-11-30"},
                              longest_days=92).first == date(2026, 8, 31)  # 1 + 30 + 31 + 30 days


def test_an_address_that_makes_no_sense_falls_back_to_today_by_hour():
    choice = periods.from_query({"range": "custom", "from": "soon", "bucket": "2h", "shift": "Evening"}, ["Early"])
    assert (choice.preset, choice.bucket, choice.shift) == ("today", "1h", None)
    assert choice.query() == "?range=today"
