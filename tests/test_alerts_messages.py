"""What alert messages say, in English and Simplified Chinese, and the acknowledge links in them."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from alerts import links
from alerts.exceptions import LinkError
from alerts.messages import AlertFacts, as_email, as_slack, as_teams, as_text, as_webhook, compose

UTC = datetime.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DUE = datetime.datetime(2025, 3, 4, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
BASE = "https://callboard.example.com"


def overdue(**changes) -> AlertFacts:
    facts = dict(alert_id=42, kind="callback_overdue", change="raised", subject="main-pbx/K1007",
                 at=DUE + datetime.timedelta(minutes=12, seconds=40), queue="billing", agent="a017",
                 customer="•••• 0001", due_at=DUE)
    return AlertFacts(**{**facts, **changes})


def test_an_overdue_callback_message_says_what_where_who_how_late_and_links_to_it():
    message = compose(overdue(), language="en", zone=SHANGHAI, key="k", alert_url=links.alert_url(BASE, 42),
                      ack_url=BASE + "/alerts/ack?token=t")
    # 12 min 40 s late: whole minutes, rounded down. Due 06:00 UTC = 14:00 in Shanghai (UTC+8).
    assert as_text(message) == (
        "Complaint callback overdue by 12 min · billing\n"
        "Queue: billing\n"
        "Agent: a017\n"
        "Customer: •••• 0001\n"
        "Due: 2025-03-04 14:00\n"
        "Subject: main-pbx/K1007\n"
        "Open in Callboard: https://callboard.example.com/alerts?alert=42\n"
        "Acknowledge: https://callboard.example.com/alerts/ack?token=t")


def test_the_same_message_in_simplified_chinese():
    message = compose(overdue(), language="zh-Hans", zone=SHANGHAI, key="k", alert_url=links.alert_url(BASE, 42))
    assert as_text(message).splitlines() == [
        "投诉回电已逾期12分钟 · billing",
        "队列: billing",
        "坐席: a017",
        "客户: •••• 0001",
        "截止时间: 2025-03-04 14:00",
        "对象: main-pbx/K1007",
        "在 Callboard 中查看: https://callboard.example.com/alerts?alert=42"]


@pytest.mark.parametrize("facts, english, chinese", [
    # Due at 06:00, now 05:45:30: 14 min 30 s to go, said as "15 min" (rounded up: never later than it is).
    (overdue(kind="callback_due_soon", at=DUE - datetime.timedelta(minutes=14, seconds=30)),
     "Complaint callback due in 15 min · billing", "投诉回电将在15分钟后到期 · billing"),
    (overdue(kind="hold_too_long", due_at=None, value=200.0), "Caller on hold for 3 min · billing",
     "来电已保留3分钟 · billing"),
    (overdue(kind="queue_wait", due_at=None, agent=None, value=45.0), "Longest wait 45 s · billing",
     "最长等待45秒 · billing"),
    (overdue(kind="queue_service_level", due_at=None, agent=None, value=0.62), "Service level down to 62% · billing",
     "服务水平降至62% · billing"),
    (overdue(kind="feed_down", due_at=None, queue=None, agent=None, subject="feed:main-pbx", value=3900.0),
     "No data from the telephony feed for 1 h 5 min", "话务数据源已1小时5分钟无数据"),
    (overdue(change="escalated", level=1),
     "Escalated, not acknowledged: Complaint callback overdue by 12 min · billing",
     "未确认，已升级：投诉回电已逾期12分钟 · billing"),
    (overdue(change="acknowledged", by="li-wei"),
     "Acknowledged by li-wei: Complaint callback overdue by 12 min · billing",
     "已由li-wei确认：投诉回电已逾期12分钟 · billing"),
    (overdue(change="resolved", by="rule"), "Resolved: Complaint callback overdue by 12 min · billing",
     "已解决：投诉回电已逾期12分钟 · billing"),
])
def test_every_kind_and_change_has_its_title_in_both_languages(facts, english, chinese):
    assert compose(facts, language="en", zone=SHANGHAI, key="k").title == english
    assert compose(facts, language="zh-Hans", zone=SHANGHAI, key="k").title == chinese


def test_only_messages_asking_for_action_carry_the_acknowledge_link():
    for change, has_link in [("raised", True), ("escalated", True), ("handed_over", True), ("acknowledged", False),
                             ("resolved", False)]:
        message = compose(overdue(change=change, by="x"), language="en", zone=SHANGHAI, key="k", ack_url="https://a")
        assert ("acknowledge" in {name for name, _, _ in message.links}) is has_link


def test_an_escalated_message_names_its_level_counting_from_one():
    message = compose(overdue(change="escalated", level=2), language="en", zone=SHANGHAI, key="k")
    assert ("Escalation level", "3") in message.facts


def test_channel_bodies_carry_the_same_words():
    message = compose(overdue(queue="<b>&co"), language="en", zone=SHANGHAI, key="key-1",
                      alert_url=links.alert_url(BASE, 42))
    slack = as_slack(message)
    assert slack["text"] == "Complaint callback overdue by 12 min · &lt;b&gt;&amp;co"  # no markup from feed names
    assert slack["blocks"][-1]["elements"][0]["url"] == BASE + "/alerts?alert=42"
    card = as_teams(message)["attachments"][0]["content"]
    assert {"title": "Queue", "value": "<b>&co"} in card["body"][1]["facts"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Callboard",
                                "url": BASE + "/alerts?alert=42"}]
    subject, plain, page = as_email(message)
    assert subject == message.title and plain == as_text(message) + "\n"
    assert "<td>&lt;b&gt;&amp;co</td>" in page
    hook = as_webhook(message)
    assert hook["idempotency_key"] == "key-1" and hook["links"] == {"alert": BASE + "/alerts?alert=42"}
    assert hook["alert"]["kind"] == "callback_overdue" and hook["alert"]["customer"] == "•••• 0001"


def test_details_as_stored_are_masked_when_read():
    facts = AlertFacts.from_details(alert_id=1, kind="callback_overdue", change="raised", subject="f/K1", at=DUE,
                                    level=0, details={"customer": "+44 20 7946 0001", "due_at": DUE.isoformat()})
    assert facts.customer == "•••• 0001" and facts.due_at == DUE


def test_a_customer_masked_already_keeps_the_digits_it_shows():
    stored = AlertFacts.from_details(alert_id=1, kind="callback_overdue", change="raised", subject="pbx/K1", at=DUE,
                                     level=0, details={"customer": "•••• 0001"})
    assert stored.customer == "•••• 0001"


# --- Acknowledge links --------------------------------------------------------------------------

NOW = datetime.datetime(2025, 3, 4, 6, 0, tzinfo=UTC)


def test_an_acknowledge_link_names_its_notification_until_it_expires():
    expires = NOW + datetime.timedelta(hours=24)
    token = links.ack_token("s3cret", 981, expires)
    assert token.startswith(f"981.{int(expires.timestamp())}.")
    assert links.verify_ack_token("s3cret", token, NOW) == 981
    assert links.verify_ack_token("s3cret", token, expires - datetime.timedelta(seconds=1)) == 981
    with pytest.raises(LinkError, match="expired"):
        links.verify_ack_token("s3cret", token, expires)


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace("981.", "982.", 1),  # another notification
    lambda t: ".".join([t.split(".")[0], str(int(t.split(".")[1]) + 3600), t.split(".")[2]]),  # a later expiry
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
])
def test_a_changed_acknowledge_link_is_refused(tamper):
    token = links.ack_token("s3cret", 981, NOW + datetime.timedelta(hours=1))
    with pytest.raises(LinkError, match="not one Callboard signed"):
        links.verify_ack_token("s3cret", tamper(token), NOW)


def test_a_link_signed_with_another_secret_or_cut_short_is_refused():
    token = links.ack_token("old-secret", 981, NOW + datetime.timedelta(hours=1))
    with pytest.raises(LinkError, match="not one Callboard signed"):
        links.verify_ack_token("s3cret", token, NOW)
    with pytest.raises(LinkError, match="incomplete"):
        links.verify_ack_token("s3cret", token.rsplit(".", 1)[0], NOW)


def test_the_acknowledge_url_carries_the_token():
    url = links.ack_url(BASE, "s3cret", 7, NOW)
    assert url == f"{BASE}/alerts/ack?token={links.ack_token('s3cret', 7, NOW)}"


def test_a_handed_over_message_tells_the_new_person_they_are_on_call_for_it():
    facts = overdue(change="handed_over")
    assert compose(facts, language="en", zone=SHANGHAI, key="k").title.startswith(
        "You are now on call, not acknowledged: Complaint callback overdue by")
    chinese = compose(facts, language="zh-Hans", zone=SHANGHAI, key="k").title
    assert chinese.startswith("您现在值班，尚未确认：投诉回电已逾期")
