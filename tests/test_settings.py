"""Settings are read once and bad values are refused with the setting named."""

from __future__ import annotations

import pytest

from callboard.exceptions import ConfigError
from callboard.settings import load


def test_rate_colour_thresholds_default_to_80_and_60_percent():
    settings = load({})
    assert (settings.rate_amber_below, settings.rate_red_below) == (0.8, 0.6)


@pytest.mark.parametrize("environ, named", [
    ({"CALLBOARD_RATE_AMBER_BELOW": "80"}, "CALLBOARD_RATE_AMBER_BELOW='80' is not valid"),
    ({"CALLBOARD_RATE_RED_BELOW": "-0.1"}, "CALLBOARD_RATE_RED_BELOW='-0.1' is not valid"),
    ({"CALLBOARD_RATE_AMBER_BELOW": "0.5", "CALLBOARD_RATE_RED_BELOW": "0.7"}, "must be below"),
    ({"CALLBOARD_RATE_AMBER_BELOW": "0.6", "CALLBOARD_RATE_RED_BELOW": "0.6"}, "must be below"),
])
def test_rate_colour_thresholds_are_fractions_with_red_below_amber(environ, named):
    with pytest.raises(ConfigError, match=named):
        load(environ)
