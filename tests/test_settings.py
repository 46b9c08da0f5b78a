"""Settings are read strictly: a bad value is refused with its name, never guessed at."""

from __future__ import annotations

import pytest

from callboard import metrics
from callboard.exceptions import ConfigError
from callboard.settings import load


def test_default_score_weights_are_those_of_docs_metrics():
    assert load({}).thresholds().score_weights == metrics.SCORE_WEIGHTS == {
        "on_time_rate": 25, "csat": 25, "resolution_rate": 25, "hold_discipline": 15, "callbacks_on_time_rate": 10}


def test_score_weights_are_read_and_used_for_the_score():
    settings = load({"CALLBOARD_SCORE_WEIGHTS": "on_time_rate=50, csat=0,resolution_rate=50,hold_discipline=0,"
                                                "callbacks_on_time_rate=0"})
    t = settings.thresholds()
    # on time 0.9, CSAT 0.2 (weight 0), resolution 0.5: (50·0.9 + 50·0.5) / 100 = 70
    components = {"on_time_rate": 0.9, "csat": 0.2, "resolution_rate": 0.5, "hold_discipline": None,
                  "callbacks_on_time_rate": None}
    assert metrics.agent_score(components, t.score_weights) == pytest.approx(70)


def test_score_weights_may_be_a_toml_table(tmp_path):
    config = tmp_path / "callboard.toml"
    config.write_text("[score_weights]\non_time_rate = 1\ncsat = 1\nresolution_rate = 1\nhold_discipline = 1\n"
                      "callbacks_on_time_rate = 0.5\n")
    assert load({"CALLBOARD_CONFIG": str(config)}).score_weights["callbacks_on_time_rate"] == 0.5


@pytest.mark.parametrize("text, complaint", [
    ("on_time_rate=25,csat=25,resolution_rate=25,hold_discipline=15,speed=10", "'speed' is not a score component"),
    ("on_time_rate=25,csat=25,resolution_rate=25,hold_discipline=15", "no weight for callbacks_on_time_rate"),
    ("on_time_rate=25,csat=-5,resolution_rate=25,hold_discipline=15,callbacks_on_time_rate=10", "0 or more"),
    ("on_time_rate=0,csat=0,resolution_rate=0,hold_discipline=0,callbacks_on_time_rate=0", "more than 0"),
    ("on_time_rate=25,on_time_rate=5,csat=25,resolution_rate=25,hold_discipline=15,callbacks_on_time_rate=10",
     "one weight"),
    ("on_time_rate=lots,csat=25,resolution_rate=25,hold_discipline=15,callbacks_on_time_rate=10", "a number"),
    ("on_time_rate=nan,csat=25,resolution_rate=25,hold_discipline=15,callbacks_on_time_rate=10", "0 or more"),
])
def test_bad_score_weights_are_refused_by_name(text, complaint):
    with pytest.raises(ConfigError, match="CALLBOARD_SCORE_WEIGHTS") as refused:
        load({"CALLBOARD_SCORE_WEIGHTS": text})
    assert complaint in str(refused.value)


def test_rate_colours_default_and_must_be_ordered_fractions():
    t = load({}).thresholds()
    assert (t.rate_amber_below, t.rate_red_below) == (0.8, 0.6)
    assert load({"CALLBOARD_RATE_AMBER_BELOW": "0.9", "CALLBOARD_RATE_RED_BELOW": "0"}).rate_red_below == 0
    with pytest.raises(ConfigError, match="CALLBOARD_RATE_RED_BELOW=0.7 must be less than"):
        load({"CALLBOARD_RATE_AMBER_BELOW": "0.7", "CALLBOARD_RATE_RED_BELOW": "0.7"})
    with pytest.raises(ConfigError, match="CALLBOARD_RATE_AMBER_BELOW='80'"):
        load({"CALLBOARD_RATE_AMBER_BELOW": "80"})


@pytest.mark.parametrize("variable, field", [
    ("DATABASE_URL", "database_url"), ("CALLBOARD_FEED_TOKEN", "feed_token"),
    ("CALLBOARD_ALERT_LINK_SECRET", "alert_link_secret"), ("CALLBOARD_AMI_SECRET", "ami_secret"),
    ("CALLBOARD_GENESYS_CLIENT_SECRET", "genesys_client_secret"),
])
def test_a_secret_is_read_from_the_file_its_file_variable_names(tmp_path, variable, field):
    secret = tmp_path / "secret"
    secret.write_text("postgresql://callboard:s3cret@db/callboard\n")  # as `printf ... > file` leaves it
    assert getattr(load({f"{variable}_FILE": str(secret)}), field) == "postgresql://callboard:s3cret@db/callboard"
    # A value in the environment itself wins over the file.
    assert getattr(load({variable: "direct", f"{variable}_FILE": str(secret)}), field) == "direct"


def test_a_secret_file_that_cannot_be_read_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match=r"DATABASE_URL_FILE='.*missing' cannot be read"):
        load({"DATABASE_URL_FILE": str(tmp_path / "missing")})
