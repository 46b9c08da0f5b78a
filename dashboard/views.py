"""What the open pages show of the live snapshot, drawn once per snapshot and page however many are open.

Each page registers how it draws its pattern-matching parts (``@live_parts(ids.WALL_PART,
"wall")``) and puts its request in its layout: ``dcc.Store(id=ids.PAGE, data={"page": "wall",
"lang": …, …})`` with whatever else it shows by: ``queues`` (a list) and ``team`` select part of
the floor for every page alike (:func:`dashboard.data.select`). The push (:mod:`dashboard.app`)
sends every open page one message per change: its parts, ready to show, with the specs of the
timers in them. Pages that ask for the same thing share one drawing. The browser puts each part
in place and ticks the timers (``assets/callboard.js``); nothing goes back to the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from plotly.io.json import to_json_plotly

from . import labels
from .data import select
from .timers import colour_timers, timer_specs

Snapshot = dict[str, Any] | None
PageRequest = dict[str, Any]
DrawParts = Callable[[Snapshot, PageRequest, Snapshot], dict[str, Any]]

# Page name -> the type of its pattern-matching part ids, and how it draws those parts.
_PAGES: dict[str, tuple[str, DrawParts]] = {}


def live_parts(part_type: str, page: str) -> Callable[[DrawParts], DrawParts]:
    """Register ``draw(selected, request, whole) -> {part: children}`` for page ``page``, whose
    parts have the ids ``{"type": part_type, "part": part}``: ``selected`` is the part of the
    snapshot the page asked for, ``whole`` the snapshot."""
    def register(draw: DrawParts) -> DrawParts:
        _PAGES[page] = (part_type, draw)
        return draw
    return register


def draw(snapshot: Snapshot, request: PageRequest) -> dict[str, Any]:
    """The view of one snapshot for one page: its parts, and the timer specs, of the part of the
    floor it asks for (``queues``, ``team``, ``agent``: see :func:`dashboard.data.select`). The
    page also gets the whole snapshot, for what it offers to choose from."""
    selected = select(snapshot, request.get("queues"), request.get("team"), request.get("agent"))
    view: dict[str, Any] = {"timers": timer_specs(selected), "parts": {}}
    if request.get("page") in _PAGES:
        part_type, draw_parts = _PAGES[request["page"]]
        view["parts"][part_type] = draw_parts(selected, request, snapshot)
        colour_timers(view["parts"], view["timers"])
    return view


class SharedView:
    """The latest snapshot's views, each drawn by the first page that asks and reused by the others.

    A view is kept as JSON text: every open page is sent the same text, which costs each socket a
    copy, where a structure would be serialised again for each of them.
    """

    def __init__(self, default_language: str) -> None:
        self._default_language = default_language
        self._version: tuple[int, str | None] | None = None
        self._views: dict[str, str] = {}

    def of(self, version: int, snapshot: Snapshot, request: PageRequest | None) -> str:
        request = {**(request or {})}
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
