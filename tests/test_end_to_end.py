"""Simulator → websocket → ingest → PostgreSQL → dashboard, checked in headless Chromium."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By
from websockets.asyncio.client import connect

from simulator import demo_server

from .conftest import browser_errors, timeout, wait_for
from .live_stack import running_dashboard, running_ingest, settings_for_test

# Simulated time all but stands still, so the feed holds exactly its backfill.
FROZEN = 1e-6


async def everything_sent(feed_url: str, expected_last_seq: int) -> list[dict]:
    events: list[dict] = []
    async with connect(feed_url, max_size=None) as ws:
        await ws.send(json.dumps({"op": "resume", "after_seq": 0}))
        while not events or events[-1]["seq"] < expected_last_seq:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout(10)))
            events.extend(message if isinstance(message, list) else [message])
    return events


def expected_floor(events: list[dict], since: datetime) -> dict:
    """The wall's 'All queues' figures, worked out from the raw events (not by Callboard)."""
    queued, answered, abandoned, ended = {}, {}, {}, set()
    for e in events:
        ts = datetime.fromisoformat(e["ts"])
        if e["type"] == "call.queued":
            queued[e["call_id"]] = ts
        elif e["type"] == "call.answered":
            answered.setdefault(e["call_id"], ts)  # the first answer decides the call
        elif e["type"] == "call.abandoned":
            abandoned[e["call_id"]] = ts
        elif e["type"] == "call.ended":
            ended.add(e["call_id"])
    latest_state = {}
    for e in events:
        if e["type"] == "agent.state":
            latest_state[e["agent"]] = e["state"]
    return {
        "offered": sum(ts >= since for ts in queued.values()),
        "answered": sum(ts >= since for ts in answered.values()),
        "abandoned": sum(ts >= since for ts in abandoned.values()),
        "waiting": sum(c not in answered and c not in abandoned and c not in ended for c in queued),
        "agents_logged_in": sum(state != "logged_out" for state in latest_state.values()),
    }


async def test_simulated_floor_reaches_the_wall_display(database_url, browser):
    now = datetime.now(UTC)
    feed = demo_server(seed=11, agents=40, speed=FROZEN, backfill=timedelta(minutes=40), port=0,
                       local_tz=UTC, now=now)
    async with feed:
        sent = await everything_sent(feed.url, feed.last_seq)
        since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        expected = expected_floor(sent, since)
        assert expected["offered"] > 20 and expected["agents_logged_in"] > 10  # a real, busy floor

        async with running_ingest(database_url, feed.url), \
                running_dashboard(database_url, settings_for_test()) as base_url:
            await asyncio.to_thread(browser.get, base_url + "/wall")

            def all_queues_text() -> str:
                return browser.find_element(By.CSS_SELECTOR, '.tile[data-queue="all"] .tile-counts').text

            want = f"{expected['offered']} offered · {expected['answered']} answered · " \
                   f"{expected['abandoned']} abandoned"

            async def shows_expected_counts() -> bool:
                try:
                    return await asyncio.to_thread(all_queues_text) == want
                except Exception:
                    return False

            await wait_for(shows_expected_counts, 30, f"the wall to show {want!r}")
            waiting = browser.find_element(
                By.CSS_SELECTOR, '.tile[data-queue="all"] [data-figure="waiting"] .value').text
            assert waiting == str(expected["waiting"])
            agents = browser.find_elements(By.CSS_SELECTOR, ".agent-grid .agent")
            assert len(agents) == expected["agents_logged_in"]
            assert "STALE" not in browser.find_element(By.CSS_SELECTOR, ".status-line").text
            errors = browser_errors(browser)
            assert errors == [], "\n".join(errors)
