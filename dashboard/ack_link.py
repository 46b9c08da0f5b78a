"""The acknowledge link in alert messages: ``/alerts/ack?token=...`` (alerts/links.py signs it).

Opening the link (GET) only shows which alert it is for and an Acknowledge button: mail scanners
and link previews open links by themselves, and must not acknowledge anything. The button POSTs the
token back; the alert is then acknowledged as the person the notification was sent to. An expired,
forged or incomplete link gets a page saying so, with a link to the Alerts page; an alert already
acknowledged or resolved says by whom and when.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alerts.exceptions import LinkError
from alerts.links import verify_ack_token

from .alert_data import AlertData, LinkTarget
from .alert_widgets import when
from .labels import alert_kind_label, language, text

logger = logging.getLogger(__name__)
router = APIRouter()
PATH = "/alerts/ack"


def _page(title: str, body: str, lang: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
                        content=f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{html.escape(title)} · Callboard</title>
<link rel="stylesheet" href="/assets/callboard.css"></head>
<body><main class="ack-page"><h1>{html.escape(title)}</h1>{body}</main></body></html>""")


def _unusable(reason: str, lang: str, status: int) -> HTMLResponse:
    body = (f'<p class="ack-refused">{html.escape(reason)}</p>'
            f'<p><a href="/alerts?lang={lang}">{html.escape(text("ack_open_alerts", lang))}</a></p>')
    return _page(text("ack_unusable", lang), body, lang, status)


def _describe(target: LinkTarget, lang: str) -> str:
    alert = target.alert
    facts = [alert_kind_label(alert["kind"], lang)]
    facts += [alert[key] for key in ("queue", "agent") if alert.get(key)]
    if alert.get("customer"):
        facts.append(f"{text('alerts_customer', lang)} {alert['customer']}")
    raised = f"{text('alerts_raised', lang)} {when(alert['raised_at'])}"
    link = f'/alerts?alert={alert["id"]}&lang={lang}'
    return (f'<p class="ack-alert" data-alert="{alert["id"]}"><strong>{html.escape(" · ".join(facts))}</strong>'
            f'<br><span class="dim">{html.escape(raised)}</span></p>'
            f'<p><a href="{html.escape(link)}">{html.escape(text("ack_open_alert", lang))}</a></p>')


def _already(target: LinkTarget, lang: str) -> str:
    alert = target.alert
    if alert["state"] == "resolved":
        said = text("ack_already_resolved", lang).format(by=alert["resolved_by"], at=when(alert["resolved_at"]))
    else:
        said = text("ack_already_acknowledged", lang).format(by=alert["acknowledged_by"],
                                                            at=when(alert["acknowledged_at"]))
    return f'<p class="ack-already">{html.escape(said)}</p>'


async def _target(request: Request, token: str | None) -> tuple[LinkTarget | None, str, HTMLResponse | None]:
    """The notification the token names, the page's language, or the page to answer instead."""
    settings = request.app.state.settings
    lang = settings.language
    if not settings.alert_link_secret:
        return None, lang, _unusable(text("ack_disabled", lang), lang, 404)
    try:
        notification_id = verify_ack_token(settings.alert_link_secret, token or "", datetime.now(UTC))
    except LinkError as exc:
        logger.info("acknowledge link refused", extra={"action": "ack_link_refused", "reason": str(exc)})
        return None, lang, _unusable(str(exc), lang, 400)
    data: AlertData = request.app.state.alerts
    target = await data.link_target(notification_id)
    if target is None:
        return None, lang, _unusable(text("ack_gone", lang), lang, 404)
    return target, language(target.language, lang), None


@router.get(PATH, response_class=HTMLResponse, include_in_schema=False)
async def confirm(request: Request, token: str | None = None) -> HTMLResponse:
    """Which alert the link is for, and a button that acknowledges it (this answer changes nothing)."""
    target, lang, refused = await _target(request, token)
    if refused:
        return refused
    body = _describe(target, lang)
    if target.alert["state"] != "open":
        return _page(text("ack_title", lang), body + _already(target, lang), lang)
    question = text("ack_question", lang).format(who=target.recipient)
    body += (f'<form method="post" action="{PATH}"><p>{html.escape(question)}</p>'
             f'<input type="hidden" name="token" value="{html.escape(token or "")}">'
             f'<button type="submit" class="act acknowledge">{html.escape(text("alerts_acknowledge", lang))}</button>'
             f'</form>')
    return _page(text("ack_title", lang), body, lang)


@router.post(PATH, response_class=HTMLResponse, include_in_schema=False)
async def acknowledge(request: Request) -> HTMLResponse:
    """Acknowledge the link's alert as the person it was sent to; say so, or who was first."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [None])[0]
    target, lang, refused = await _target(request, token)
    if refused:
        return refused
    data: AlertData = request.app.state.alerts
    outcome = await data.act(target.alert["id"], "acknowledge", target.recipient)
    target = LinkTarget(target.recipient, target.language, outcome.alert or target.alert)
    body = _describe(target, lang)
    if outcome.changed:
        done = text("ack_done", lang).format(who=target.recipient, at=when(target.alert["acknowledged_at"]))
        body += f'<p class="ack-done">{html.escape(done)}</p>'
    else:
        body += _already(target, lang)
    return _page(text("ack_title", lang), body, lang)
