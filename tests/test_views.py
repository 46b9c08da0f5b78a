"""One change costs one message to each open page: the view is drawn once, and shown by the browser."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from fastapi import FastAPI

from callboard.metrics import Thresholds
from callboard.settings import load
from dashboard import ids
from dashboard.app import create_app, prepare
from dashboard.data import LiveData
from dashboard.views import SharedView

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


async def test_pages_show_a_pushed_view_without_calling_back_to_the_server(dash_app):
    on_the_view = [c for c in dash_app._callback_list if {"id": ids.LIVE_STORE, "property": "data"} in c["inputs"]]

    assert len(on_the_view) >= 2  # the wall's parts, and the timers
    assert all(c["clientside_function"] for c in on_the_view), "a server callback would send the view back"


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
    wall = json.dumps(view["parts"][ids.WALL_PART]["queues"])  # plain JSON, ready for every socket
    assert '"data-queue": "billing"' in wall and '"children": "1"' in wall
    assert set(view["timers"]["timers"]) >= {"wait:billing", "wait:*"}
