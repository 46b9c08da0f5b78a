"""The on-call rota: who is on call when, in the site's time zone, and who is next.

The rota of these tests, in London (GMT in winter, BST = UTC+1 from 30 March 2025 01:00 UTC to
26 October 2025 01:00 UTC):
  li-wei    lead     Mon-Fri 07:00-15:00
  sam       lead     Mon-Fri 15:00-23:00
  noor      lead     every day 23:00-07:00 (crosses midnight)
  ana       backup   Mon-Fri 07:00-23:00
  mo        manager  every day, all day
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from alerts.exceptions import AlertsConfigError
from alerts.rota import Recipient, load, parse

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = datetime.UTC
CHANNELS = {"leads-mail": "smtp", "leads-slack": "slack"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
ROTA = {
    "people": {
        "li-wei": {"name": "Li Wei", "language": "zh-Hans",
                   "contacts": [{"channel": "leads-mail", "address": "li.wei@example.com"},
                                {"channel": "leads-slack"}]},
        "sam": {"contacts": [{"channel": "leads-mail", "address": "sam@example.com"}]},
        "noor": {"contacts": [{"channel": "leads-mail", "address": "noor@example.com"}]},
        "ana": {"contacts": [{"channel": "leads-slack"}]},
        "mo": {"name": "Mo (manager)", "contacts": [{"channel": "leads-mail", "address": "mo@example.com"}]},
    },
    "shifts": [
        {"person": "li-wei", "level": "lead", "days": WEEKDAYS, "start": "07:00", "end": "15:00"},
        {"person": "sam", "level": "lead", "days": WEEKDAYS, "start": "15:00", "end": "23:00"},
        {"person": "noor", "level": "lead", "start": "23:00", "end": "07:00"},
        {"person": "ana", "level": "backup", "days": WEEKDAYS, "start": "07:00", "end": "23:00"},
        {"person": "mo", "level": "manager", "start": "00:00", "end": "24:00"},
    ],
}
rota = parse(ROTA, LONDON, CHANNELS)


def london(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LONDON)


def on_call(at: datetime.datetime) -> list[tuple[str, str]]:
    return [(level, person.key) for level, person in rota.on_call(at)]


def test_on_a_winter_weekday_morning_the_day_lead_backup_and_manager_are_on_call():
    # Tuesday 4 March 2025, 10:00 GMT.
    assert on_call(london(2025, 3, 4, 10, 0)) == [("lead", "li-wei"), ("backup", "ana"), ("manager", "mo")]


def test_at_the_hand_over_the_incoming_lead_is_on_call_and_the_outgoing_one_is_not():
    # 15:00 exactly: li-wei's shift has ended, sam's has begun; a second before, still li-wei.
    assert ("lead", "sam") in on_call(london(2025, 3, 4, 15, 0)) and ("lead", "li-wei") not in on_call(
        london(2025, 3, 4, 15, 0))
    assert ("lead", "li-wei") in on_call(london(2025, 3, 4, 14, 59, 59))
    assert rota.next_handover(london(2025, 3, 4, 10, 0)) == london(2025, 3, 4, 15, 0).astimezone(UTC)
    # The last hand-over before Tuesday 10:00 was at 07:00 (li-wei and ana came on); at 15:00 it is 15:00.
    assert rota.last_handover(london(2025, 3, 4, 10, 0)) == london(2025, 3, 4, 7, 0).astimezone(UTC)
    assert rota.last_handover(london(2025, 3, 4, 15, 0)) == london(2025, 3, 4, 15, 0).astimezone(UTC)


def test_a_shift_crossing_midnight_covers_both_sides_of_it():
    # noor's shift starting Friday 23:00 runs to Saturday 07:00; at Saturday 03:00 she is the lead and,
    # at the weekend, nobody is backup.
    assert on_call(london(2025, 3, 8, 3, 0)) == [("lead", "noor"), ("manager", "mo")]
    assert on_call(london(2025, 3, 7, 23, 0)) == [("lead", "noor"), ("manager", "mo")]
    assert ("lead", "noor") not in on_call(london(2025, 3, 8, 7, 0))


def test_a_night_shift_is_an_hour_shorter_when_the_clocks_go_forward():
    # Saturday 29 March 23:00 GMT (23:00 UTC) to Sunday 30 March 07:00 BST (06:00 UTC): 7 hours.
    start = datetime.datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    end = datetime.datetime(2025, 3, 30, 6, 0, tzinfo=UTC)
    assert ("lead", "noor") in on_call(start) and ("lead", "noor") in on_call(end - datetime.timedelta(seconds=1))
    assert ("lead", "noor") not in on_call(end)
    assert rota.next_handover(start + datetime.timedelta(hours=1)) == end


def test_a_night_shift_is_an_hour_longer_when_the_clocks_go_back():
    # Saturday 25 October 23:00 BST (22:00 UTC) to Sunday 26 October 07:00 GMT (07:00 UTC): 9 hours.
    assert ("lead", "noor") in on_call(datetime.datetime(2025, 10, 25, 22, 0, tzinfo=UTC))
    assert ("lead", "noor") not in on_call(datetime.datetime(2025, 10, 25, 21, 59, tzinfo=UTC))
    assert ("lead", "noor") in on_call(datetime.datetime(2025, 10, 26, 6, 59, tzinfo=UTC))
    assert ("lead", "noor") not in on_call(datetime.datetime(2025, 10, 26, 7, 0, tzinfo=UTC))


def test_the_same_instant_is_the_same_shift_whatever_zone_it_is_given_in():
    instant = london(2025, 7, 1, 14, 30)  # Tuesday, BST: 13:30 UTC
    assert on_call(instant) == on_call(instant.astimezone(UTC)) == on_call(
        instant.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")))
    assert ("lead", "li-wei") in on_call(instant)


def test_escalation_goes_lead_then_backup_then_manager_and_stays_on_the_manager():
    at = london(2025, 3, 4, 10, 0)
    assert [[p.key for p in level] for level in rota.escalation_chain(at)] == [["li-wei"], ["ana"], ["mo"]]
    assert rota.recipients(at, 0) == [Recipient("li-wei", "leads-mail", "li.wei@example.com", "zh-Hans"),
                                      Recipient("li-wei", "leads-slack", None, "zh-Hans")]
    assert rota.recipients(at, 1) == [Recipient("ana", "leads-slack", None, None)]
    assert rota.recipients(at, 2) == rota.recipients(at, 5) == [Recipient("mo", "leads-mail", "mo@example.com", None)]


def test_a_level_with_nobody_on_call_is_skipped():
    # Saturday 10:00: no lead on a day shift at weekends except noor's night, no backup: straight to mo.
    at = london(2025, 3, 8, 10, 0)
    assert [[p.key for p in level] for level in rota.escalation_chain(at)] == [["mo"]]
    assert [r.person for r in rota.recipients(at, 0)] == ["mo"]


def test_an_empty_rota_has_nobody_to_notify():
    empty = parse({}, LONDON, CHANNELS)
    assert empty.recipients(london(2025, 3, 4, 10, 0), 0) == [] and empty.next_handover(london(2025, 3, 4)) is None


def test_the_rota_is_read_from_a_toml_file(tmp_path):
    path = tmp_path / "rota.toml"
    path.write_text('levels = ["lead", "manager"]\n'
                    '[people.li-wei]\ncontacts = [{ channel = "leads-slack" }]\n'
                    '[[shifts]]\nperson = "li-wei"\nlevel = "manager"\nstart = "22:00"\nend = "06:00"\n')
    read = load(path, LONDON, CHANNELS)
    assert read.levels == ("lead", "manager")
    assert [(level, p.key) for level, p in read.on_call(london(2025, 3, 4, 5, 0))] == [("manager", "li-wei")]


@pytest.mark.parametrize("change, complaint", [
    ({"shifts": [{"person": "nobody", "start": "07:00", "end": "15:00"}]}, "shifts[0]: person 'nobody' is not one of"),
    ({"shifts": [{"person": "sam", "level": "boss", "start": "07:00", "end": "15:00"}]}, "level 'boss' is not one of"),
    ({"shifts": [{"person": "sam", "days": ["monday"], "start": "07:00", "end": "15:00"}]}, "days must be some of"),
    ({"shifts": [{"person": "sam", "start": "7am", "end": "15:00"}]}, "start must be a local time"),
    ({"shifts": [{"person": "sam", "start": "07:00"}]}, "end is missing"),
    ({"people": {"x": {"contacts": [{"channel": "pager"}]}}}, "[people.x] contacts[0]: channel 'pager' is not one"),
    ({"people": {"x": {"contacts": [{"channel": "leads-mail"}]}}}, "sends e-mail: give the person's address"),
    ({"people": {"x": {"contacts": [{"channel": "leads-slack", "address": "x@example.com"}]}}}, "takes no address"),
    ({"people": {"x": {"contacts": []}}}, "[people.x]: give at least one contact"),
    ({"people": {"x": {"language": "fr", "contacts": [{"channel": "leads-slack"}]}}}, "language must be one of"),
    ({"levels": ["lead", "lead"]}, "levels: must be distinct names"),
    ({"shift": []}, "shift: unknown key"),
])
def test_a_bad_rota_is_refused_at_start_naming_the_entry(change, complaint):
    data = {"people": {"sam": {"contacts": [{"channel": "leads-slack"}]}}, **change}
    with pytest.raises(AlertsConfigError) as refused:
        parse(data, LONDON, CHANNELS, where="rota.toml")
    assert str(refused.value).startswith("rota.toml: ") and complaint in str(refused.value)


def test_an_unreadable_rota_file_is_named(tmp_path):
    with pytest.raises(AlertsConfigError, match="CALLBOARD_ROTA=.*cannot be read"):
        load(tmp_path / "missing.toml", LONDON, CHANNELS)
    (tmp_path / "bad.toml").write_text("[[shifts]\n")
    with pytest.raises(AlertsConfigError, match="is not valid TOML"):
        load(tmp_path / "bad.toml", LONDON, CHANNELS)
