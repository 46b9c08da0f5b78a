"""The Dash application: the shell every page shares, the live push, and the browser-side timers."""

from __future__ import annotations

import inspect
import logging
import time
from datetime import tzinfo
from pathlib import Path

import dash
from dash import Dash, Input, Output, ctx, dcc, html, set_props
from dash.backends.ws import WebsocketDisconnected
from dash.exceptions import PreventUpdate
from fastapi import FastAPI

from access.roles import may_reach, page_area
from access.sessions import Principal

from . import ids
from .auth import current
from .data import LiveData
from .history import History
from .hub import SnapshotHub
from .labels import text
from .markup import NotMarkup
from .personal_data import PersonalData
from .session_watch import SessionWatch
from .views import SharedView, is_live

PAGES = Path(__file__).with_name("pages")
ASSETS = Path(__file__).with_name("assets")

logger = logging.getLogger(__name__)


def create_app(server: FastAPI, language: str = "en") -> Dash:
    """Mount the pages on ``server``; ``server.state.hub`` must exist once it is serving.

    ``language`` is the site's: pages that do not ask for one are shown in it.
    """
    app = Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(PAGES),
        assets_folder=str(ASSETS),
        title="Callboard",
        update_title=None,
        websocket_callbacks=True,
        websocket_inactivity_timeout=0,
    )
    app.layout = shell
    shared = SharedView(language)

    @app.callback(websocket=True, persistent=True)
    async def push_views() -> None:
        """Send each page the view of every new snapshot as soon as the hub has it.

        One message per change, drawn once for all pages that show the same thing
        (dashboard/views.py), set as the data-view of the page's view holder, which the page's
        script shows without calling back to the server (a page that shows no live view, such as
        the trends, is sent nothing). The page is asked what it shows at each change, as a floor
        view's filters may have changed; a wall screen's page that shows the same thing for as
        long as it is open (``"fixed"`` in its request: a wall that does not rotate; a wall screen
        can open no other page) is asked once.

        Before each push the page's session is checked again: a screen whose display was revoked
        (or whose session ended) gets a sign-in notice instead, and nothing more. A page gets the
        views its holder's role may see only.
        """
        socket = ctx.websocket
        who = current()
        if socket is None or who is None:
            raise PreventUpdate
        hub: SnapshotHub = server.state.hub
        sessions: SessionWatch = server.state.session_watch
        version, request = 0, None
        if who.session:
            sessions.watch(who.session)
        try:
            while not socket.is_shutdown:
                version, snapshot = await hub.wait_newer(version)
                if who.session and not await sessions.holds(who):
                    set_props(ids.SIGNED_OUT, {"children": signed_out_notice(language)})
                    logger.info("push stopped: the page's session has ended", extra={"action": "push_signed_out"})
                    break
                asked_at = time.time()
                if not (who.role == "wall" and (request or {}).get("fixed")):
                    request = await socket.get_prop(ids.PAGE, "data", timeout=10)
                answered_at = time.time()
                page = (request or {}).get("page")
                if not is_live(page) or not may_reach(who.role, page_area(page)):
                    continue
                try:
                    view = await shared.shown_to(who.role, version, snapshot, request, server.state.personal)
                except NotMarkup as exc:
                    logger.error("a page's part cannot be drawn as HTML; the page keeps what it shows (a bug: "
                                 "report it)", extra={"action": "view_not_drawn", "error": str(exc),
                                                      "page": (request or {}).get("page")})
                    continue
                set_props(ids.LIVE_VIEW, {"data-view": view})
                logger.debug("view pushed to a page", extra={
                    "action": "view_pushed", "version": version, "asked_at": asked_at, "answered_at": answered_at,
                    "pushed_at": time.time()})
        except (WebsocketDisconnected, TimeoutError):
            pass  # the page has gone; it starts a new push when it reconnects
        finally:
            if who.session:
                sessions.unwatch(who.session)
        raise PreventUpdate

    @app.callback(Output(ids.LIVE_VIEW, "data-view"), Input(ids.PAGE, "data"))
    async def show_page(request: dict) -> str:
        """A page just opened, or changed what it shows: its view of the latest snapshot, now
        (before the first one, the view of none: the page says it is waiting for data)."""
        hub: SnapshotHub = server.state.hub
        who = current()
        page = (request or {}).get("page")
        if who is None or not is_live(page) or not may_reach(who.role, page_area(page)):
            raise PreventUpdate
        return await shared.shown_to(who.role, hub.version, hub.snapshot, request, server.state.personal)

    return app


async def prepare(app: Dash) -> None:
    """Do now what Dash would do on the first request for "/" or "/_dash-*".

    Dash 4.4's FastAPI backend finds assets/ and registers the page router (with its inline
    scripts) only then; a wall display whose first request is /wall would get a page without
    our CSS and scripts, and a console error. Run its first-request hooks at start-up instead.
    """
    for hook in app.backend._before_request_funcs:
        result = hook()
        if inspect.isawaitable(result):
            await result


def live_data() -> LiveData:
    """The running dashboard's reads, for the pages' own callbacks and layouts."""
    return dash.get_app().server.state.live


def personal_data() -> PersonalData:
    """The running dashboard's reads of customers' numbers and names, for the pages that show them."""
    return dash.get_app().server.state.personal


def site_language() -> str:
    """The language of pages that do not ask for one (``CALLBOARD_LANGUAGE``)."""
    return dash.get_app().server.state.settings.language


# --- The managers' pages read past windows --------------------------------------------------------
def history_data() -> History:
    """The running dashboard's reads of past windows (trends), for the managers' pages."""
    return dash.get_app().server.state.history


def shift_names() -> list[str]:
    """The names of the site's shifts (``CALLBOARD_SHIFTS``), in the order given."""
    return [shift.name for shift in dash.get_app().server.state.settings.shifts]


def site_zone() -> tzinfo:
    """The site's time zone (``CALLBOARD_TIMEZONE``): the managers' days start at its midnight."""
    return dash.get_app().server.state.settings.timezone


def signed_out_notice(lang: str) -> html.Div:
    return html.Div(className="signed-out", role="alert", children=[
        html.P(text("signed_out_notice", lang)), html.A(text("signin_title", lang), href="/signin?next=/wall")])


def shell() -> html.Div:
    return html.Div(className="shell", children=[
        html.Div(id=ids.SIGNED_OUT),
        *sign_out_form(current()),
        dash.page_container,
    ])


def sign_out_form(who: Principal | None) -> list[html.Form]:
    """A person's Sign out button, posting their session's CSRF token (a display screen has none)."""
    if who is None or who.kind != "user":
        return []
    lang = site_language()
    return [html.Form(id=ids.SIGN_OUT, method="post", action="/signout", className="sign-out", children=[
        dcc.Input(type="hidden", name="csrf", value=who.csrf),
        html.Span(who.name, className="dim"),
        html.Button(text("signout_button", lang), type="submit", className="link"),
    ])]
