"""Every request to the dashboard goes through here: who holds it, whether their role may reach it
(access/roles.py), whether a browser's state-changing request came from our own pages, and the
security headers of every answer.

Who holds a request, in order: an ``Authorization: Bearer`` API token (on /api/v1 only); the
trusted proxy's user header, if configured and the request comes straight from a trusted proxy;
the session cookie. The holder is kept in a context variable for the pages' callbacks and the
live push (:func:`current`).
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
from contextvars import ContextVar
from urllib.parse import quote, urlsplit

from dash import Dash
from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from access.roles import PUBLIC, area_of, may_reach, page_area
from access.sessions import Gate, Principal
from callboard.settings import Settings
from db.pool import CONNECTION_ERRORS

from .labels import text

logger = logging.getLogger(__name__)
SESSION_COOKIE = "callboard_session"
PAGE_AREAS = frozenset({"wall", "floor", "alerts", "trends", "agents", "other"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The acknowledge link's form posts its own signed token back: that token is its authorisation.
OWN_AUTHORISATION = frozenset({"/alerts/ack"})
CALLBACK_PATH = "/_dash-update-component"
# Dash's page router: the callback that lays out the page at its location's path, for any page.
PAGE_ROUTER_OUTPUT = ".._pages_content.children..._pages_store.data.."
PAGE_LOCATION = "_pages_location"
BEARER_PATHS = ("/api/", "/openapi.json")  # where programs may send an API token
_current: ContextVar[Principal | None] = ContextVar("callboard_principal", default=None)


def current() -> Principal | None:
    """Who holds the request (or websocket) being served now."""
    return _current.get()


def principal_of(request: HTTPConnection) -> Principal | None:
    return request.scope.get("callboard.principal")


def client_address(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"


def secure_request(request: HTTPConnection) -> bool:
    """Whether cookies set now must be Secure: the request came over TLS, or the settings say so."""
    return request.url.scheme in ("https", "wss") or request.app.state.settings.secure_cookies


def same_origin(request: HTTPConnection) -> bool:
    """Whether a browser sent this from one of our own pages (requests from programs carry neither header)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def callback_area(app: Dash, request: dict) -> str:
    """The area of the page a Dash callback request (its JSON body) belongs to: its own page's, or
    ``dash`` for the shell's (the live push checks each page's request itself) and Dash's own; the
    page router's is the area of the path it is asked to lay out."""
    output = request.get("output", "")
    if not isinstance(output, str):
        return "other"
    if output == PAGE_ROUTER_OUTPUT:
        path = asked_path(request)
        return "other" if path is None else area_of(path)
    spec = app.callback_map.get(output)
    module = getattr(spec.get("callback"), "__module__", "") if spec else ""
    package, _, page = module.rpartition(".")
    if package in ("pages", "dashboard.pages"):  # Dash imports the pages folder as "pages"
        return page_area(page)
    if module == "dashboard.app" or package == "dash":
        return "dash"
    return "other"


def asked_path(request: dict) -> str | None:
    """The path a request to Dash's page router asks for (its location's ``pathname`` input)."""
    inputs = request.get("inputs")
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict) and item.get("id") == PAGE_LOCATION and item.get("property") == "pathname":
            return item.get("value") if isinstance(item.get("value"), str) else None
    return None


def declare_security(server: FastAPI) -> None:
    """/openapi.json says how the API is signed in to: a bearer token, or a browser's session cookie."""
    describe = server.openapi

    def openapi() -> dict:
        schema = describe()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        if "bearer" not in schemes:
            schemes["bearer"] = {"type": "http", "scheme": "bearer",
                                 "description": "An API token from `callboard tokens add NAME --role ROLE`."}
            schemes["session"] = {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                  "description": "A browser signed in at /signin."}
            for path, operations in schema["paths"].items():
                if area_of(path.split("{")[0]) != PUBLIC:
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}, {"session": []}]
        return schema

    server.openapi = openapi


def security_headers(settings: Settings, script_hashes: list[str]) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries. Dash's few inline scripts are allowed by their hashes only."""
    scripts = " ".join(script_hashes)  # each already quoted: 'sha256-…'
    ancestors = settings.frame_ancestors or "'none'"
    policy = ("default-src 'self'; " f"script-src 'self' {scripts}; " "style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
              f"base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}")
    headers = [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"same-origin")]
    if not settings.frame_ancestors:
        headers.append((b"x-frame-options", b"DENY"))
    return headers


class AccessMiddleware:
    """Lets a request through only if its holder's role may reach its path; adds the security headers."""

    def __init__(self, app: ASGIApp, dash_app: Dash) -> None:
        self.app = app
        self._dash_app = dash_app
        self._headers: list[tuple[bytes, bytes]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        send = self._with_headers(connection, send) if scope["type"] == "http" else send
        area = area_of(scope["path"])
        try:
            # The health checks and the sign-in pages answer without asking the database who is there.
            who = None if area == PUBLIC else await self._holder(connection)
        except CONNECTION_ERRORS:
            if scope["type"] == "websocket":
                await receive()
                await send({"type": "websocket.close", "code": 1013})  # try again later
            else:
                await JSONResponse({"error": "the database cannot be reached; try again shortly"}, 503)(
                    scope, receive, send)
            return
        scope["callboard.principal"] = who
        token = _current.set(who)
        try:
            refusal = self._refusal(connection, area, who)
            if refusal is None and scope["type"] == "http" and scope["path"] == CALLBACK_PATH:
                receive, refusal = await self._check_callback(receive, who)
            elif refusal is None and scope["type"] == "websocket":
                receive = self._checking_messages(receive, who)
            if refusal is None:
                await self.app(scope, receive, send)
            else:
                await self._refuse(connection, refusal, who, receive, send)
        finally:
            _current.reset(token)

    async def _holder(self, connection: HTTPConnection) -> Principal | None:
        gate: Gate = connection.app.state.gate
        settings: Settings = connection.app.state.settings
        authorization = connection.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer " and connection.url.path.startswith(BEARER_PATHS):
            return await gate.by_token(authorization[7:].strip())
        if settings.trusted_user_header and _from_trusted_proxy(connection, settings):
            name = connection.headers.get(settings.trusted_user_header, "").strip()
            if name:
                return await gate.by_user_name(name)
        key = connection.cookies.get(SESSION_COOKIE)
        return await gate.by_session(key) if key else None

    def _refusal(self, connection: HTTPConnection, area: str, who: Principal | None) -> int | None:
        """401, 403, or None to let the request through."""
        if area != PUBLIC and who is None:
            return 401
        if not may_reach(who.role if who else "", area):
            return 403
        method = connection.scope.get("method", "GET")
        from_browser = who is None or who.kind != "token"
        if (method not in SAFE_METHODS and from_browser and connection.url.path not in OWN_AUTHORISATION
                and not same_origin(connection)):
            logger.warning("cross-site request refused", extra={"action": "cross_site_refused"})
            return 403
        if connection.scope["type"] == "websocket" and not same_origin(connection):
            return 403
        return None

    async def _check_callback(self, receive: Receive, who: Principal | None) -> tuple[Receive, int | None]:
        """Read a callback POST's body: its callback must belong to a page the holder may see."""
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            request = json.loads(body)
            area = callback_area(self._dash_app, request if isinstance(request, dict) else {})
        except ValueError:
            area = "other"
        allowed = may_reach(who.role, area) if who else False

        async def replay() -> Message:
            nonlocal body
            sent, body = body, b""
            return {"type": "http.request", "body": sent, "more_body": False}

        return replay, None if allowed else 403

    def _checking_messages(self, receive: Receive, who: Principal | None) -> Receive:
        """The websocket's messages, with callback requests for pages the holder may not see dropped."""

        async def checked() -> Message:
            message = await receive()
            text_sent = message.get("text") if message["type"] == "websocket.receive" else None
            if text_sent and '"callback_request"' in text_sent:
                try:
                    payload = json.loads(text_sent).get("payload")
                    area = callback_area(self._dash_app, payload if isinstance(payload, dict) else {})
                except (ValueError, AttributeError):
                    area = "other"
                if not (who and may_reach(who.role, area)):
                    logger.warning("callback refused to a role", extra={"action": "callback_refused"})
                    return {"type": "websocket.receive", "text": '{"type": "refused"}'}
            return message

        return checked

    async def _refuse(self, connection: HTTPConnection, status: int, who: Principal | None, receive: Receive,
                      send: Send) -> None:
        scope = connection.scope
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4001 if status == 401 else 4003})
            return
        path = scope["path"]
        is_page = scope["method"] == "GET" and area_of(path) in PAGE_AREAS
        if status == 401 and is_page:
            target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
            response = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        elif status == 401:
            response = JSONResponse({"error": "sign in first, or send Authorization: Bearer TOKEN"}, 401,
                                    headers={"WWW-Authenticate": "Bearer"})
        elif is_page and who is not None:
            lang = connection.query_params.get("lang") or connection.app.state.settings.language
            lang = lang if lang in ("en", "zh-Hans") else "en"
            notice = text("forbidden_notice", lang).format(name=who.name, role=who.role)
            home = "/wall" if who.role == "wall" else "/"
            response = HTMLResponse(status_code=403, content=f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(text("forbidden_title", lang))} · Callboard</title>
<link rel="stylesheet" href="/assets/callboard.css"></head><body><main class="ack-page">
<h1>{html.escape(text("forbidden_title", lang))}</h1><p class="ack-refused">{html.escape(notice)}</p>
<p><a href="{home}">{html.escape(text("forbidden_home", lang))}</a></p></main></body></html>""")
        else:
            reason = "your role may not use this" if who else "refused"
            response = JSONResponse({"error": reason}, 403)
        await response(scope, receive, send)

    def _with_headers(self, connection: HTTPConnection, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                if self._headers is None:
                    self._headers = security_headers(connection.app.state.settings, self._dash_app.csp_hashes())
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((n, v) for n, v in self._headers if n not in present)]
            await send(message)

        return sending


def _from_trusted_proxy(connection: HTTPConnection, settings: Settings) -> bool:
    if connection.client is None:
        return False
    try:
        address = ipaddress.ip_address(connection.client.host)
    except ValueError:
        return False
    return any(address in network for network in settings.trusted_proxies or ())
