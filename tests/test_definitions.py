"""The wall explains each figure with the thresholds in force, in the display's language."""

from __future__ import annotations

from callboard.definitions import DEFINITIONS, define, threshold_words

THRESHOLDS = {"answer_target_s": 20.0, "short_abandon_s": 3.5, "rate_amber_below": 0.85, "rate_red_below": 0.7}


def test_a_definition_shows_the_thresholds_in_force():
    assert define("on_time", "en", THRESHOLDS) == "answered within 20 s / answered"
    assert define("service_level", "en", THRESHOLDS) == \
        "answered within 20 s / (answered + abandoned − abandoned after less than 3.5 s)"
    assert define("rate_colours", "en", THRESHOLDS) == "amber below 85%, red below 70%"


def test_every_definition_is_written_in_chinese_too_with_the_same_thresholds():
    assert define("on_time", "zh-Hans", THRESHOLDS) == "20 s 内应答 / 已接"
    for name, (english, chinese) in DEFINITIONS.items():
        assert chinese and chinese != english, name
        in_english, in_chinese = define(name, "en", THRESHOLDS), define(name, "zh-Hans", THRESHOLDS)
        for value in threshold_words(THRESHOLDS).values():
            assert (value in in_english) == (value in in_chinese), (name, value)
