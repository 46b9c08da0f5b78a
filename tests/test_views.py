"""One change costs one message to each open page: the view is drawn once, and shown by the browser."""

from __future__ import annotations

import json
import re
from datetime import UTC

import pytest
from fastapi import FastAPI
from plotly.io.json import to_json_plotly

from callboard.metrics import Thresholds
from callboard.settings import load
from dashboard import ids
from dashboard.app import create_app, prepare
from dashboard.data import LiveData
from dashboard.timers import TIMER_KEY, callback_key, hold_key
from dashboard.views import SharedView, draw

from .scenario import NOW, T0, Floor, at, store
from .test_hub import queue_a_call, running_hub, shows_waiting


@pytest.fixture
async def dash_app():
    """The dashboard's Dash app with its pages loaded, as on its first request."""
    server = FastAPI()
    server.state.settings = load({})
    server.state.live = LiveData(None, Thresholds(), UTC, stale_after_s=30)  # thresholds only: no reads here
    app = create_app(server, "en")
    await prepare(app)
    return app


async def test_no_callback_takes_the_pushed_view_as_an_input(dash_app):
    # Dash keeps, for undo, every earlier value of an input a callback did not set: the pushes of a
    # wall open all day would pile up in the page. The page's script shows each view instead.
    on_the_view = [c for c in dash_app._callback_list
                   if any(i["id"] == ids.LIVE_VIEW for i in c["inputs"] + c.get("state", []))]
    sets_the_view = [c for c in dash_app._callback_list if c["output"] == f"{ids.LIVE_VIEW}.data-view"]

    assert on_the_view == []
    assert len(sets_the_view) == 1  # the view of a page just opened; the push sets the rest


async def test_the_view_of_a_snapshot_is_drawn_once_for_every_page(dash_app, pool, database_url):
    async with running_hub(pool, database_url) as hub:
        await queue_a_call(pool, "c1")
        await shows_waiting(hub, 1)
        version, snapshot = hub.version, hub.snapshot
    shared = SharedView("en")
    wall = {"page": "wall", "lang": None}

    view = shared.of(version, snapshot, wall)

    assert shared.of(version, snapshot, {"lang": None, "page": "wall"}) is view
    assert shared.of(version, snapshot, {**wall, "lang": "zh-Hans"}) is not view
    assert shared.of(version + 1, snapshot, wall) is not view
    assert isinstance(view, str)  # JSON text, ready for every socket as it is
    view = json.loads(view)
    tiles = view["markup"]["queues"]  # one text a tile: the browser replaces only the tiles that changed
    billing = next(tile for tile in tiles if 'data-queue="billing"' in tile)
    assert billing.startswith('<div class="tile" data-queue="billing">') and '<div class="value">1</div>' in billing
    assert set(view["timers"]["timers"]) >= {"wait:billing", "wait:*"}


async def test_a_pushed_part_shows_its_timers_coloured_before_the_browser_first_ticks(dash_app, pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="on_call", name="Agent One")
    floor.call("h1", "billing", 3000, answered=3010, agent="a1")
    floor.add("call.hold_started", 3570, call_id="h1", agent="a1")   # 30 s at NOW: under the limit
    floor.call("h2", "billing", 3000, answered=3010, agent="a1")
    floor.add("call.hold_started", 3500, call_id="h2", agent="a1")   # 100 s at NOW: over the limit
    floor.add("complaint.opened", 100, complaint_id="k1", agent="a1", customer="C", due=at(3590))  # 10 s overdue
    await store(pool, floor)
    snapshot = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).snapshot(since=T0, now=NOW)

    wall = json.loads(to_json_plotly(draw(snapshot, {"page": "wall", "lang": "en"})))["markup"]

    def timer_class(part: str, key: str) -> str:
        """The class of the timer ``key`` as drawn in ``part`` (HTML text)."""
        found = re.search(f'<span class="([^"]*)" {TIMER_KEY}="{re.escape(key)}">', "".join(part))
        return found[1] if found else ""

    assert timer_class(wall["holds"], hold_key("scenario", "h1")) == "timer under-limit"
    assert timer_class(wall["holds"], hold_key("scenario", "h2")) == "timer red"
    assert timer_class(wall["callbacks"], callback_key("scenario", "k1")) == "timer red flash"


async def test_a_wall_opened_before_the_first_snapshot_says_it_is_waiting_for_data(dash_app):
    view = json.loads(SharedView("en").of(0, None, {"page": "wall", "lang": None}))

    assert "Waiting for data…" in view["markup"]["status"]
    assert view["markup"]["holds_title"] == "<h2>On hold too long</h2>"
    assert view["timers"] == {}


async def test_every_live_page_draws_a_busy_floor_a_stale_one_and_an_empty_one_as_html(dash_app, pool):
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="on_call", name="<b>Agent</b> & One", team="Blue")
    floor.add("agent.state", 0, agent="a2", state="break", reason="lunch_break", name="王芳", team="Red")
    floor.add("queue.members", 0, queue="billing", agents=["a1", "a2"])
    floor.call("c1", "billing", 3000, answered=3010, agent="a1")
    floor.add("call.hold_started", 3500, call_id="c1", agent="a1")
    floor.call("c2", "billing", 3100, abandoned=3110)
    floor.call("c3", "sales", 3550)
    floor.add("complaint.opened", 100, complaint_id="k1", agent="a1", customer="C", due=at(3590))
    await store(pool, floor)
    busy = await LiveData(pool, Thresholds(), UTC, stale_after_s=30).snapshot(since=T0, now=NOW)
    stale = {**busy, "stale": True, "database_error": "connection refused"}
    empty = {**busy, "queues": [], "agents": [], "holds_open": [], "complaints_open": [], "abandoned_calls": []}

    for snapshot in (busy, stale, empty, None):
        for request in ({"page": "wall", "lang": "en"}, {"page": "wall", "lang": "zh-Hans", "explain": True},
                        {"page": "floor", "lang": "en", "sort": "score", "descending": True}):
            view = draw(snapshot, request)
            assert view["page"] == request["page"]
            for drawn in view["markup"].values():  # a part's text, or a list's: one text an element
                assert isinstance(drawn, str) or all(text.startswith("<") and isinstance(text, str) for text in drawn)
    floor_view = draw(busy, {"page": "floor", "lang": "en"})
    a1, a2 = floor_view["markup"]["agents"]
    assert a1.startswith('<tr class="state-on_call" data-agent="a1">') and a1.endswith("</tr>")
    assert '<button class="link" title="a1" data-drill="a1">&lt;b&gt;Agent&lt;/b&gt; &amp; One</button>' in a1
    assert a2.startswith('<tr class="state-break" data-agent="a2">')
    assert {choice["value"] for choice in floor_view["data"]["choices"]["queues"]} == {"billing", "sales"}


async def test_a_wall_that_does_not_rotate_shares_its_drawing_with_one_that_does():
    shared = SharedView("en")

    assert shared.of(1, None, {"page": "wall", "fixed": True}) is shared.of(1, None, {"page": "wall", "fixed": False})
