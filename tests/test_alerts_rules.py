"""The alert rules as pure functions: the floor at an instant and the open alerts in, decisions out.

Defaults of these tests: due soon 15 min, alert hold limit 180 s, queue wait 300 s, service level
below 60 %, feed down 60 s, escalation after 10 min.
"""

from __future__ import annotations

import datetime

import pytest

from alerts import rules
from alerts.rules import Floor, Raise, Resolve
from callboard import metrics
from callboard.exceptions import ConfigError
from callboard.settings import load

UTC = datetime.UTC
NOW = datetime.datetime(2025, 3, 4, 6, 0, tzinfo=UTC)
RULES = rules.Rules.from_settings(load({}))
S, MIN = datetime.timedelta(seconds=1), datetime.timedelta(minutes=1)


def complaint(cid="K1", due=NOW + 10 * MIN, **extra):
    return {"feed": "pbx", "complaint_id": cid, "due": due, "agent": "Ana", "customer": "+44 20 7946 0001",
            "queue": "billing", **extra}


def floor(*, complaints=(), next_due=None, holds=(), queues=(), feeds=(), now=NOW):
    return Floor(now=now, complaints=list(complaints), next_complaint_due=next_due, holds=list(holds),
                 queues=list(queues), feeds=list(feeds))


def alert(aid, kind, subject, state="open", level=0, last_called_at=NOW):
    return {"id": aid, "kind": kind, "subject": subject, "state": state, "level": level,
            "last_called_at": last_called_at, "notified": []}


def queue(name, *, answered=0, on_time=0, abandoned=0, oldest=None):
    counts = {"offered": answered + abandoned, "answered": answered, "answered_on_time": on_time,
              "answer_seconds": 0, "abandoned": abandoned, "short_abandoned": 0}
    return metrics.queue_figures(name, counts, 1 if oldest else 0, oldest, NOW)


def test_a_callback_due_within_the_due_soon_time_raises_due_soon_and_wakes_at_its_due_time():
    decisions = rules.evaluate(floor(complaints=[complaint(due=NOW + 10 * MIN)]), [], RULES)
    assert [(r.kind, r.subject) for r in decisions.raises] == [("callback_due_soon", "pbx/K1")]
    assert decisions.raises[0].details["due_at"] == NOW + 10 * MIN
    assert decisions.next_at == NOW + 10 * MIN  # overdue exactly then, not at a later poll


def test_a_callback_at_its_due_instant_is_overdue_and_its_due_soon_alert_resolves_silently():
    decisions = rules.evaluate(floor(complaints=[complaint(due=NOW)]), [alert(7, "callback_due_soon", "pbx/K1")],
                               RULES)
    assert [(r.kind, r.subject) for r in decisions.raises] == [("callback_overdue", "pbx/K1")]
    assert decisions.resolves == [Resolve(7, notify=False)]


def test_a_callback_made_resolves_its_alert_with_a_message():
    # The complaint is no longer among those waiting for a callback.
    decisions = rules.evaluate(floor(), [alert(8, "callback_overdue", "pbx/K1")], RULES)
    assert decisions.resolves == [Resolve(8, notify=True)] and decisions.raises == []


def test_an_alert_already_open_is_not_raised_again():
    decisions = rules.evaluate(floor(complaints=[complaint(due=NOW - MIN)]), [alert(9, "callback_overdue", "pbx/K1")],
                               RULES)
    assert decisions.raises == [] and decisions.resolves == []


def test_the_next_complaint_beyond_the_horizon_wakes_the_engine_when_it_becomes_due_soon():
    decisions = rules.evaluate(floor(next_due=NOW + 40 * MIN), [], RULES)
    assert decisions.next_at == NOW + 25 * MIN  # 40 min - 15 min


def test_a_hold_raises_only_once_longer_than_the_alert_limit():
    at_limit = {"feed": "pbx", "call_id": "C1", "agent_name": "Ana", "queue": "billing",
                "started_at": NOW - 180 * S}
    decisions = rules.evaluate(floor(holds=[at_limit]), [], RULES)
    assert decisions.raises == [] and decisions.next_at == NOW + rules.JUST_PAST  # 180 s is not over 180 s
    over = {**at_limit, "started_at": NOW - 181 * S}
    assert rules.evaluate(floor(holds=[over]), [], RULES).raises == [
        Raise("hold_too_long", "pbx/C1", {"queue": "billing", "agent": "Ana", "value": 181})]


def test_a_queue_raises_on_a_long_wait_and_on_a_low_service_level():
    # 10 answered, 5 on time, 0 abandoned: service level 5 / 10 = 50 % < 60 %.
    # The oldest caller has waited 301 s > 300 s.
    decisions = rules.evaluate(floor(queues=[queue("billing", answered=10, on_time=5, oldest=NOW - 301 * S)]),
                               [], RULES)
    assert sorted((r.kind, r.subject, r.details["value"]) for r in decisions.raises) == [
        ("queue_service_level", "queue:billing", 0.5), ("queue_wait", "queue:billing", 301)]


def test_a_queue_back_at_the_service_level_resolves_and_one_without_calls_raises_nothing():
    # 10 answered, 6 on time: 60 %, not below 60 %.
    decisions = rules.evaluate(floor(queues=[queue("billing", answered=10, on_time=6), queue("sales")]),
                               [alert(3, "queue_service_level", "queue:billing")], RULES)
    assert decisions.raises == [] and decisions.resolves == [Resolve(3, notify=True)]


def test_a_feed_silent_longer_than_the_limit_is_down_and_a_live_one_wakes_when_it_would_be():
    down = {"feed": "pbx", "connected": False, "status_changed_at": NOW - 61 * S, "heartbeat_at": NOW - 2 * S}
    assert [(r.kind, r.details) for r in rules.evaluate(floor(feeds=[down]), [], RULES).raises] == [
        ("feed_down", {"value": 61})]
    live = {"feed": "pbx", "connected": True, "status_changed_at": NOW - 3600 * S, "heartbeat_at": NOW - 4 * S}
    decisions = rules.evaluate(floor(feeds=[live]), [], RULES)
    assert decisions.raises == [] and decisions.next_at == NOW + 56 * S + rules.JUST_PAST


def test_escalation_follows_the_rota_up_to_its_last_level_and_skips_acknowledged_alerts():
    unresolved = [alert(1, "feed_down", "feed:a", last_called_at=NOW - 10 * MIN),
                  alert(2, "feed_down", "feed:b", last_called_at=NOW - 9 * MIN),
                  alert(3, "feed_down", "feed:c", state="acknowledged", last_called_at=NOW - 60 * MIN),
                  alert(4, "feed_down", "feed:d", level=2, last_called_at=NOW - 60 * MIN)]
    due, next_at = rules.escalations(unresolved, NOW, RULES, levels_on_call=3)
    assert due == [(1, 1)] and next_at == NOW + MIN
    assert rules.escalations(unresolved, NOW, RULES, levels_on_call=1) == ([], None)  # nobody further up


def test_alert_thresholds_are_checked_when_the_settings_are_read():
    with pytest.raises(ConfigError, match="CALLBOARD_ALERT_SERVICE_LEVEL_BELOW='80' is not valid: must be a fraction"):
        load({"CALLBOARD_ALERT_SERVICE_LEVEL_BELOW": "80"})
    with pytest.raises(ConfigError, match="CALLBOARD_ALERT_FEED_DOWN_S=5.0 is too short"):
        load({"CALLBOARD_ALERT_FEED_DOWN_S": "5"})
    with pytest.raises(ConfigError, match="CALLBOARD_ALERT_QUEUE_WAIT_S='-1' is not valid"):
        load({"CALLBOARD_ALERT_QUEUE_WAIT_S": "-1"})
