"""Signing in and out: ``/signin`` (the form), ``/signout``, ``/display?key=…`` (a wall screen's URL)
and ``/signin/link?key=…`` (a one-time link). Plain HTML pages, no Dash: they must work before anyone
is signed in. Who may then see what is decided in dashboard/auth.py."""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from access.exceptions import SignInRefused, TooManyFailures
from access.sessions import Gate, NewSession

from .auth import SESSION_COOKIE, client_address, principal_of, secure_request
from .labels import language, text

router = APIRouter()
FORM_COOKIE = "callboard_signin"  # the sign-in form's CSRF token, sent back in the form (double submit)
DISPLAY_PATH = "/display"


def page(title: str, body: str, lang: str, status: int = 200) -> HTMLResponse:
    """A plain page in the dashboard's look, never cached."""
    return HTMLResponse(status_code=status, headers={"Cache-Control": "no-store"}, content=f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{html.escape(title)} · Callboard</title>
<link rel="stylesheet" href="/assets/callboard.css"></head>
<body><main class="ack-page signin-page"><h1>{html.escape(title)}</h1>{body}</main></body></html>""")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never //elsewhere or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(request: Request, lang: str, next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    said = f'<p class="ack-refused" role="alert">{html.escape(message)}</p>' if message else ""
    body = (f'{said}<form method="post" action="/signin" class="signin">'
            f'<input type="hidden" name="csrf" value="{token}">'
            f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
            f'<input type="hidden" name="lang" value="{lang}">'
            f'<p><label for="name">{html.escape(text("signin_name", lang))}</label><br>'
            f'<input id="name" name="name" autocomplete="username" required autofocus maxlength="100"></p>'
            f'<p><label for="password">{html.escape(text("signin_password", lang))}</label><br>'
            f'<input id="password" name="password" type="password" autocomplete="current-password" required></p>'
            f'<p><button type="submit" class="act">{html.escape(text("signin_button", lang))}</button></p></form>')
    response = page(text("signin_title", lang), body, lang, status)
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict", path="/signin",
                        secure=secure_request(request))
    return response


def _signed_in(request: Request, new: NewSession, target: str) -> Response:
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store",
                                                                  "Referrer-Policy": "no-referrer"})
    lasting = int((new.expires_at - new.expires_at.now(new.expires_at.tzinfo)).total_seconds())
    response.set_cookie(SESSION_COOKIE, new.key, max_age=lasting, httponly=True, samesite="lax", path="/",
                        secure=secure_request(request))
    response.delete_cookie(FORM_COOKIE, path="/signin")
    return response


def _refused(request: Request, reason: str) -> HTMLResponse:
    """403: why (a label's key), and a link to the sign-in form."""
    lang = request.app.state.settings.language
    body = (f'<p class="ack-refused">{html.escape(text(reason, lang))}</p>'
            f'<p><a href="/signin">{html.escape(text("signin_title", lang))}</a></p>')
    return page(text("signin_title", lang), body, lang, 403)


def _gate(request: Request) -> Gate:
    return request.app.state.gate


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
async def sign_in_form(request: Request, next: str | None = None, lang: str | None = None) -> HTMLResponse:  # noqa: A002
    return _form(request, language(lang, request.app.state.settings.language), safe_next(next))


@router.post("/signin", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    lang = language(form.get("lang"), request.app.state.settings.language)
    next_path = safe_next(form.get("next"))
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, form.get("csrf", "")):
        return _form(request, lang, next_path, text("signin_expired_form", lang), 403)
    try:
        new = await _gate(request).sign_in(form.get("name", "").strip(), form.get("password", ""),
                                           client_address(request), request.cookies.get(SESSION_COOKIE))
    except TooManyFailures as exc:
        minutes = f"{request.app.state.settings.sign_in_window_min:g}"
        response = _form(request, lang, next_path, text("signin_throttled", lang).format(minutes=minutes), 429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except SignInRefused:
        return _form(request, lang, next_path, text("signin_refused", lang), 401)
    return _signed_in(request, new, next_path)


@router.post("/signout", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    """End this browser's session (the form carries the session's CSRF token)."""
    who = principal_of(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if who is None or who.session is None or not secrets.compare_digest(who.csrf or "", (form.get("csrf") or [""])[0]):
        return _refused(request, "signin_expired_form")
    await _gate(request).sign_out(who, client_address(request))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(DISPLAY_PATH, include_in_schema=False)
async def display(request: Request, key: str = "", next: str | None = None) -> Response:  # noqa: A002
    """A wall screen opening its display URL: signed in with the wall role, sent on to /wall (or the
    wall view ``next`` names, e.g. ``/wall?queue=billing``)."""
    new = await _gate(request).sign_in_display(key, client_address(request), request.cookies.get(SESSION_COOKIE))
    if new is None:
        return _refused(request, "display_link_unusable")
    target = safe_next(next)
    return _signed_in(request, new, target if target == "/wall" or target.startswith("/wall?") else "/wall")


@router.get("/signin/link", include_in_schema=False)
async def sign_in_link(request: Request, key: str = "") -> Response:
    """A one-time sign-in link (the demo prints one): used up by opening it."""
    new = await _gate(request).sign_in_link(key, client_address(request), request.cookies.get(SESSION_COOKIE))
    if new is None:
        return _refused(request, "signin_link_unusable")
    return _signed_in(request, new, "/")
