"""The figure definitions of docs/metrics.md that need no database: rates and the agent score."""

from __future__ import annotations

import pytest

from callboard import metrics

WEIGHTS = metrics.Thresholds().score_weights


def test_a_rate_with_nothing_to_count_has_no_value_not_zero():
    assert metrics.rate(0, 0) is None
    assert metrics.rate(0, 4) == 0


def test_score_leaves_out_components_without_data_and_renormalises():
    # docs/metrics.md worked example: (25·0.9 + 25·0.8 + 15·1.0) / (25 + 25 + 15) = 57.5 / 65
    components = {"on_time_rate": 0.9, "csat": None, "resolution_rate": 0.8, "hold_discipline": 1.0,
                  "callbacks_on_time_rate": None}
    assert metrics.agent_score(components, WEIGHTS) == pytest.approx(100 * 57.5 / 65)


def test_score_of_an_agent_with_no_data_is_absent():
    assert metrics.agent_score(dict.fromkeys(WEIGHTS), WEIGHTS) is None


def test_service_level_leaves_out_short_abandons_but_abandon_rate_counts_the_rest():
    # 8 answered (6 within T), 3 abandoned of which 1 short: counted = 8 + 3 - 1 = 10
    counts = {"offered": 11, "answered": 8, "answered_on_time": 6, "answer_seconds": 80.0,
              "abandoned": 3, "short_abandoned": 1}
    figures = metrics.queue_figures("billing", counts, waiting=0, oldest_queued_at=None, now=None)
    assert figures["asa_s"] == 10.0
    assert figures["on_time_rate"] == 6 / 8
    assert figures["service_level"] == 6 / 10
    assert figures["abandon_rate"] == 2 / 10

