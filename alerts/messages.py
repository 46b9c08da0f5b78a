"""What an alert message says, in the site's language, and its body for each kind of channel.

:func:`compose` turns the facts of one state change (:class:`AlertFacts`) into a :class:`Message`:
a title saying what happened and how late, the queue, the agent and the customer (masked), and
links to the dashboard. The ``as_*`` functions give that message's body for a channel: plain text,
a Slack incoming-webhook payload, a Teams workflow (Adaptive Card) payload, an e-mail, or the
generic webhook's JSON. A message is rendered again from the same stored facts on every attempt,
so a retried notification says exactly what the first attempt said.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import zoneinfo
from collections.abc import Mapping
from typing import Any

from callboard.privacy import mask_customer
from callboard.settings import LANGUAGES

# What raised an alert. The rule engine raises these; each has a title below.
KINDS = ("callback_due_soon", "callback_overdue", "hold_too_long", "queue_wait", "queue_service_level",
         "feed_down")
# The state changes of an alert, one alert_events row each (docs/alerts.md).
CHANGES = ("raised", "escalated", "handed_over", "acknowledged", "resolved")

_TEXT: dict[str, tuple[str, str]] = {
    # key: (English, Simplified Chinese); {placeholders} filled by compose().
    "callback_due_soon": ("Complaint callback due in {due_in}", "投诉回电将在{due_in}后到期"),
    "callback_overdue": ("Complaint callback overdue by {late}", "投诉回电已逾期{late}"),
    "hold_too_long": ("Caller on hold for {value}", "来电已保留{value}"),
    "queue_wait": ("Longest wait {value}", "最长等待{value}"),
    "queue_service_level": ("Service level down to {value}", "服务水平降至{value}"),
    "feed_down": ("No data from the telephony feed for {value}", "话务数据源已{value}无数据"),
    "raised": ("{title}", "{title}"),
    "escalated": ("Escalated, not acknowledged: {title}", "未确认，已升级：{title}"),
    "handed_over": ("You are now on call, not acknowledged: {title}", "您现在值班，尚未确认：{title}"),
    "acknowledged": ("Acknowledged by {by}: {title}", "已由{by}确认：{title}"),
    "resolved": ("Resolved: {title}", "已解决：{title}"),
    "queue": ("Queue", "队列"),
    "agent": ("Agent", "坐席"),
    "customer": ("Customer", "客户"),
    "due": ("Due", "截止时间"),
    "subject": ("Subject", "对象"),
    "level": ("Escalation level", "升级级别"),
    "open_link": ("Open in Callboard", "在 Callboard 中查看"),
    "ack_link": ("Acknowledge", "确认"),
    "test_title": ("Callboard test message", "Callboard 测试消息"),
    "test_channel": ("Channel", "通道"),
    "test_sent": ("Sent at", "发送时间"),
    "test_body": ("If you can read this, alerts reach you through this channel.",
                  "收到此消息，说明告警可以通过此通道送达。"),
    "hours": ("{h} h {m} min", "{h}小时{m}分钟"),
    "minutes": ("{m} min", "{m}分钟"),
    "seconds": ("{s} s", "{s}秒"),
}
assert set(KINDS) | set(CHANGES) <= set(_TEXT)


def text(key: str, language: str) -> str:
    english, chinese = _TEXT[key]
    return chinese if language == "zh-Hans" else english


def duration(seconds: float, language: str) -> str:
    """``45 s``, ``12 min``, ``1 h 5 min`` (``45秒``, ``12分钟``, ``1小时5分钟``); whole units, rounded down."""
    whole = max(0, int(seconds))
    if whole < 60:
        return text("seconds", language).format(s=whole)
    if whole < 3600:
        return text("minutes", language).format(m=whole // 60)
    return text("hours", language).format(h=whole // 3600, m=whole % 3600 // 60)


@dataclasses.dataclass(frozen=True)
class AlertFacts:
    """One state change of an alert, as stored: what a message about it is made from."""

    alert_id: int
    kind: str
    change: str
    subject: str
    at: datetime.datetime  # when the change happened
    level: int = 0  # 0: the rota's first level; 1: the next; ...
    queue: str | None = None
    agent: str | None = None
    customer: str | None = None  # already masked (callboard.privacy.mask_customer)
    due_at: datetime.datetime | None = None  # a callback's promised time
    value: float | None = None  # seconds on hold / waiting / without data, or a service level (0-1)
    by: str | None = None  # who acknowledged or resolved

    @classmethod
    def from_details(cls, *, alert_id: int, kind: str, change: str, subject: str, at: datetime.datetime,
                     level: int, details: Mapping[str, Any], by: str | None = None) -> AlertFacts:
        """From an alert's ``details`` (keys queue, agent, customer, due_at, value; see docs/alerts.md)."""
        due_at = details.get("due_at")
        return cls(alert_id=alert_id, kind=kind, change=change, subject=subject, at=at, level=level,
                   queue=details.get("queue"), agent=details.get("agent"),
                   customer=mask_customer(details.get("customer")),
                   due_at=datetime.datetime.fromisoformat(due_at) if due_at else None,
                   value=details.get("value"), by=by)


@dataclasses.dataclass(frozen=True)
class Message:
    """A message ready for any channel: every word already in its language."""

    title: str
    facts: tuple[tuple[str, str], ...]  # (label, value), in order
    key: str  # the idempotency key: the same on every attempt at one notification
    links: tuple[tuple[str, str, str], ...] = ()  # (name: "alert" or "acknowledge", label, URL)
    body: str = ""  # a sentence under the title, if any
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # for the generic webhook


def _headline(facts: AlertFacts, language: str) -> str:
    late = due_in = value = ""
    if facts.due_at is not None:
        late = duration((facts.at - facts.due_at).total_seconds(), language)
        due_in = duration((facts.due_at - facts.at).total_seconds() + 59, language)  # 14 min 10 s: "15 min"
    if facts.value is not None:
        value = (f"{facts.value:.0%}" if facts.kind == "queue_service_level"
                 else duration(facts.value, language))
    title = text(facts.kind, language).format(late=late, due_in=due_in, value=value)
    if facts.queue:
        title += f" · {facts.queue}"
    return text(facts.change, language).format(title=title, by=facts.by or "?")


def compose(facts: AlertFacts, *, language: str, zone: zoneinfo.ZoneInfo, key: str,
            alert_url: str | None = None, ack_url: str | None = None) -> Message:
    """The message telling one recipient about one state change."""
    assert language in LANGUAGES, language
    rows = [("queue", facts.queue), ("agent", facts.agent), ("customer", facts.customer),
            ("due", facts.due_at and facts.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")),
            ("subject", facts.subject), ("level", str(facts.level + 1) if facts.level else None)]
    links = [("alert", text("open_link", language), alert_url)]
    if facts.change in ("raised", "escalated", "handed_over"):
        links.append(("acknowledge", text("ack_link", language), ack_url))
    data = {"alert_id": facts.alert_id, "kind": facts.kind, "change": facts.change, "subject": facts.subject,
            "at": facts.at.isoformat(), "level": facts.level, "queue": facts.queue, "agent": facts.agent,
            "customer": facts.customer, "due_at": facts.due_at and facts.due_at.isoformat(),
            "value": facts.value, "by": facts.by}
    return Message(title=_headline(facts, language),
                   facts=tuple((text(label, language), value) for label, value in rows if value),
                   key=key, links=tuple(link for link in links if link[2]), data=data)


def compose_test(channel: str, *, language: str, zone: zoneinfo.ZoneInfo, at: datetime.datetime,
                 key: str) -> Message:
    """The message of ``callboard alerts test``: which channel, and when it was sent."""
    return Message(title=text("test_title", language), body=text("test_body", language),
                   facts=((text("test_channel", language), channel),
                          (text("test_sent", language), at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"))),
                   key=key, data={"kind": "test", "channel": channel, "at": at.isoformat()})


# --- Bodies, one per kind of channel ------------------------------------------------------------

def as_text(message: Message) -> str:
    lines = [message.title]
    if message.body:
        lines.append(message.body)
    lines += [f"{label}: {value}" for label, value in message.facts]
    lines += [f"{label}: {url}" for _, label, url in message.links]
    return "\n".join(lines)


def _slack_escape(value: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup; names from the feed must not become links or mentions.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_slack(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` for notifications, blocks for the channel."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": False}}]
    if message.body:
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": message.body}})
    if message.facts:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{_slack_escape(label)}*\n{_slack_escape(value)}"}
            for label, value in message.facts[:10]]})
    if message.links:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
            for _, label, url in message.links]})
    return {"text": _slack_escape(message.title), "blocks": blocks}


def as_teams(message: Message) -> dict[str, Any]:
    """A Teams workflow-webhook payload: a message with one Adaptive Card, as the Power Automate
    template "Post to a channel when a webhook request is received" expects."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True}]
    if message.body:
        body.append({"type": "TextBlock", "text": message.body, "wrap": True})
    if message.facts:
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value}
                                                  for label, value in message.facts]})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": label, "url": url} for _, label, url in message.links]}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def as_email(message: Message) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of an e-mail."""
    rows = "".join(f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                   for label, value in message.facts)
    links = " · ".join(f"<a href='{html.escape(url)}'>{html.escape(label)}</a>" for _, label, url in message.links)
    body = f"<p>{html.escape(message.body)}</p>" if message.body else ""
    page = (f"<html><body><h2>{html.escape(message.title)}</h2>{body}<table>{rows}</table>"
            f"<p>{links}</p></body></html>")
    return message.title, as_text(message) + "\n", page


def as_webhook(message: Message) -> dict[str, Any]:
    """The generic webhook's JSON: the facts for machines, the text for people (docs/alerts.md)."""
    return {"idempotency_key": message.key, "title": message.title, "text": as_text(message),
            "alert": dict(message.data), "links": {name: url for name, _, url in message.links}}
