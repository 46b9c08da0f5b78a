"""What the open pages show of the live snapshot, drawn once per snapshot and page however many are open.

Each page registers how it draws its parts: as pattern-matching components that Dash puts in
place (``@live_parts(ids.ALERTS_PART, "alerts")``), or as HTML text that the browser puts in
place itself (``@live_markup("wall")``, dashboard/markup.py: the wall and the floor view, whose
many elements would each cost Dash's renderer work at every change). It puts in its layout the
holder of its views (:func:`view_holder`) and its request: ``dcc.Store(id=ids.PAGE, data={"page":
"wall", "lang": …, …})`` with whatever else it shows by: ``queues`` (a list) and ``team`` select
part of the floor for every page alike (:func:`dashboard.data.select`). The push
(:mod:`dashboard.app`) sends every open live page one message per change: its parts, ready to
show, with the specs of the timers in them. Pages that ask for the same thing share one drawing.
The browser puts each part in place and ticks the timers (``assets/callboard.js``); nothing goes
back to the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dash import html
from dash.development.base_component import Component
from plotly.io.json import to_json_plotly

from access.roles import sees_personal_data

from . import ids, labels
from .data import select
from .markup import markup
from .personal_data import PersonalData, with_personal_data
from .timers import colour_timers, timer_specs

Snapshot = dict[str, Any] | None
PageRequest = dict[str, Any]
DrawParts = Callable[[Snapshot, PageRequest, Snapshot], dict[str, Any]]

# The pages that show customers' numbers and names: whole to the roles that may see them, masked to
# the others (dashboard/personal_data.py). The wall is not one of them.
PAGES_WITH_PERSONAL_DATA = frozenset({"floor", "alerts"})
# Page name -> the type of its pattern-matching part ids (None: parts drawn as HTML text), how it
# draws those parts, and which of them are data for the page's own scripts rather than elements.
_PAGES: dict[str, tuple[str | None, DrawParts, frozenset[str]]] = {}


def live_parts(part_type: str, page: str) -> Callable[[DrawParts], DrawParts]:
    """Register ``draw(selected, request, whole) -> {part: children}`` for page ``page``, whose
    parts have the ids ``{"type": part_type, "part": part}``: ``selected`` is the part of the
    snapshot the page asked for, ``whole`` the snapshot."""
    def register(draw: DrawParts) -> DrawParts:
        _PAGES[page] = (part_type, draw, frozenset())
        return draw
    return register


def live_markup(page: str, data: tuple[str, ...] = ()) -> Callable[[DrawParts], DrawParts]:
    """Register ``draw`` as :func:`live_parts` does, for a page whose parts are sent as HTML text
    (the view's ``markup``), each put in the page's element marked ``data-part="<part>"``; the
    parts named in ``data`` are sent as they are (the view's ``data``), for the page's scripts."""
    def register(draw: DrawParts) -> DrawParts:
        _PAGES[page] = (None, draw, frozenset(data))
        return draw
    return register


def is_live(page: str | None) -> bool:
    """Whether ``page`` shows a live view (it has registered how it draws its parts)."""
    return page in _PAGES


def view_holder() -> html.Div:
    """The element of a live page whose ``data-view`` the push sets to each view, for the page's
    script to show (assets/callboard.js); no Dash callback takes it as an input."""
    return html.Div(id=ids.LIVE_VIEW, hidden=True)


def draw(snapshot: Snapshot, request: PageRequest) -> dict[str, Any]:
    """The view of one snapshot for one page: its parts, and the timer specs, of the part of the
    floor it asks for (``queues``, ``team``, ``agent``: see :func:`dashboard.data.select`). The
    page also gets the whole snapshot, for what it offers to choose from."""
    selected = select(snapshot, request.get("queues"), request.get("team"), request.get("agent"))
    view: dict[str, Any] = {"page": request.get("page"), "timers": timer_specs(selected), "parts": {}}
    if request.get("page") in _PAGES:
        part_type, draw_parts, data = _PAGES[request["page"]]
        parts = draw_parts(selected, request, snapshot)
        colour_timers(parts, view["timers"])
        if part_type is None:
            view["markup"] = {name: markup_of_part(children) for name, children in parts.items() if name not in data}
            view["data"] = {name: parts[name] for name in data if name in parts}
        else:
            view["parts"][part_type] = parts
    return view


def markup_of_part(children: Any) -> str | list[str]:
    """A part's HTML text; a list of elements (a table's rows, a list's items, the tiles) as the
    text of each, which the browser compares one by one, so that a change replaces only the rows it
    changed (a row not redrawn keeps what the person did to it: their selection, their focus)."""
    if isinstance(children, list) and all(isinstance(child, Component) for child in children):
        return [markup(child) for child in children]
    return markup(children)


class SharedView:
    """The latest snapshot's views, each drawn by the first page that asks and reused by the others.

    A view is kept as JSON text: every open page is sent the same text, which costs each socket a
    copy, where a structure would be serialised again for each of them.
    """

    def __init__(self, default_language: str) -> None:
        self._default_language = default_language
        self._version: tuple[int, str | None] | None = None
        self._views: dict[str, str] = {}

    async def shown_to(self, role: str, version: int, snapshot: Snapshot, request: PageRequest | None,
                       personal: PersonalData) -> str:
        """The view for a page of a holder of ``role``: on the pages that show customers' data, with
        it read (once per snapshot version) and shown whole or masked as the role allows."""
        if snapshot is None or (request or {}).get("page") not in PAGES_WITH_PERSONAL_DATA:
            return self.of(version, snapshot, request)
        full = sees_personal_data(role)
        found = await personal.of_version(version, snapshot)
        return self.of(version, with_personal_data(snapshot, found, full=full), request,
                       personal_data="whole" if full else "masked")

    def of(self, version: int, snapshot: Snapshot, request: PageRequest | None,
           personal_data: str | None = None) -> str:
        """The view of ``snapshot`` for ``request``; ``personal_data`` says how the snapshot shows
        customers' data (``whole``, ``masked``; None: as the live snapshot has it), as views of
        each are kept apart."""
        # Whether the page shows one thing for as long as it is open changes nothing in its view.
        request = {**(request or {}), "personal_data": personal_data}
        request.pop("fixed", None)
        request["lang"] = labels.language(request.get("lang"), self._default_language)
        # Redrawn for a newer snapshot too, not only a newer version: the view's as_of sets the
        # page's clock for its timers, and a page opened on a quiet floor must not get an old one.
        drawn = (version, snapshot["as_of"] if snapshot else None)
        if drawn != self._version:
            self._views.clear()
            self._version = drawn
        key = json.dumps(request, sort_keys=True)
        if key not in self._views:
            self._views[key] = to_json_plotly(draw(snapshot, request))
        return self._views[key]
