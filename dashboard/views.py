"""What the open pages show of the live snapshot, drawn once per snapshot however many are open.

A page registers how it draws its pattern-matching parts (``@live_parts(ids.WALL_PART)``). The
push (:mod:`dashboard.app`) sends every open page one message per change: the parts of every
registered page, ready to show, with the specs of the timers in them. The browser puts each part
in place and ticks the timers (``assets/callboard.js``); nothing goes back to the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from plotly.io.json import to_json_plotly

from .timers import timer_specs

Snapshot = dict[str, Any] | None
DrawParts = Callable[[Snapshot], dict[str, Any]]

# Part type (the "type" of a page's pattern-matching ids) -> how its page draws those parts.
_PAGES: dict[str, DrawParts] = {}


def live_parts(part_type: str) -> Callable[[DrawParts], DrawParts]:
    """Register ``draw(snapshot) -> {part: children}`` for the ids ``{"type": part_type, "part": part}``."""
    def register(draw: DrawParts) -> DrawParts:
        _PAGES[part_type] = draw
        return draw
    return register


def draw(snapshot: Snapshot) -> dict[str, Any]:
    """The view of one snapshot: every registered page's parts, and the timer specs."""
    return {"timers": timer_specs(snapshot),
            "parts": {part_type: draw_parts(snapshot) for part_type, draw_parts in _PAGES.items()}}


class SharedView:
    """The latest snapshot's view, drawn by the first page that asks and reused by the others."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._view: dict[str, Any] | None = None

    def of(self, version: int, snapshot: Snapshot) -> dict[str, Any]:
        if version != self._version:
            # Components become plain JSON once here, not once per open page.
            self._view = json.loads(to_json_plotly(draw(snapshot)))
            self._version = version
        return self._view
