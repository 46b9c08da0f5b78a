"""How an alert is written on the pages: its state in a few words beside a callback on the wall and the
floor, its notifications' outcomes on the Alerts page, and what a click on Acknowledge or Resolve says
(kept outside the page modules, which Dash imports itself, so that tests can call them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dash import html

from .alert_data import AlertData
from .labels import text

CALLBACK_KINDS = ("callback_due_soon", "callback_overdue")


def when(iso: str | None, today: date | None = None) -> str:
    """``14:05``, or ``12-05 14:05`` when not on ``today`` (or always, without one)."""
    if iso is None:
        return ""
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%H:%M") if moment.date() == today else moment.strftime("%m-%d %H:%M")


def callback_alerts(alerts: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The open alerts about complaint callbacks, by (feed, complaint id); the latest raised wins."""
    found = {}
    for alert in alerts:
        if alert["kind"] in CALLBACK_KINDS:
            feed, _, complaint_id = alert["subject"].partition("/")
            found[(feed, complaint_id)] = alert
    return found


def last_alerted(alert: dict[str, Any]) -> tuple[str, list[str]]:
    """When the alert last went out to someone (raised, escalated, or handed over to who came on call)
    and to whom."""
    calls = [n for n in alert["notifications"] if n["change"] in ("raised", "escalated", "handed_over")]
    if not calls:
        return alert["raised_at"], []
    latest = max(n["level"] for n in calls)
    round_ = [n for n in calls if n["level"] == latest]
    return round_[0]["created_at"], list(dict.fromkeys(n["recipient_name"] for n in round_))


def alert_beside(alert: dict[str, Any] | None, lang: str, today: date) -> html.Span | None:
    """"alerted 14:05 to Li Wei" or "acknowledged by Mo 14:09": an open alert's state in a few words."""
    if alert is None:
        return None
    if alert["state"] == "acknowledged":
        words = text("alert_beside_acknowledged", lang).format(by=alert["acknowledged_by"],
                                                               at=when(alert["acknowledged_at"], today))
    else:
        at, recipients = last_alerted(alert)
        key = "alert_beside_open" if recipients else "alert_beside_open_nobody"
        words = text(key, lang).format(at=when(at, today), to=", ".join(recipients))
    return html.Span(words, className=f"alert-state alert-{alert['state']}", **{"data-alert": str(alert["id"])})


def notification_outcome(n: dict[str, Any], lang: str, today: date) -> str:
    if n["status"] == "sent":
        return text("notification_sent", lang).format(at=when(n["sent_at"], today))
    if n["status"] == "dead":
        return text("notification_dead", lang).format(reason=n["last_error"] or "")
    waiting = text("notification_waiting", lang).format(attempts=n["attempts"], next=when(n["next_attempt_at"], today))
    return f"{waiting} ({n['last_error']})" if n["last_error"] else waiting


async def action_message(data: AlertData, action: str, alert_id: int, name: str | None, lang: str,
                         done: int, signed_in: str | None = None) -> tuple[str, str, int]:
    """(message, its class, the new change count) for a click on ``action`` of alert ``alert_id`` by the
    person signed in as ``signed_in``."""
    by = (name or "").strip()
    if not by:
        return text("alerts_name_needed", lang), "alerts-message refused", done
    outcome = await data.act(alert_id, action, by, signed_in=signed_in)
    if outcome.alert is None:
        return text("alerts_missing", lang).format(id=alert_id), "alerts-message refused", done
    if not outcome.changed:
        state = text(f"alert_state_{outcome.alert['state']}", lang)
        return text("alerts_already", lang).format(id=alert_id, state=state), "alerts-message", done + 1
    return text(f"alerts_did_{action}", lang).format(id=alert_id, by=by), "alerts-message done", done + 1
