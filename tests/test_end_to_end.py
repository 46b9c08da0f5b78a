"""Simulator → websocket → ingest → PostgreSQL → dashboard, checked in headless Chromium."""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from selenium.webdriver.common.by import By
from websockets.asyncio.client import connect

from dashboard import server
from dashboard.hub import SnapshotHub
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received
from simulator import demo_server

from .conftest import browser_errors, start_postgres, stop_postgres, timeout, wait_for
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
    last_answered, requeued = {}, {}
    for e in events:
        ts = datetime.fromisoformat(e["ts"])
        if e["type"] == "call.queued":
            queued[e["call_id"]] = ts
        elif e["type"] == "call.answered":
            answered.setdefault(e["call_id"], ts)  # the first answer decides the call
            last_answered[e["call_id"]] = ts
        elif e["type"] == "call.transferred" and "to_queue" in e:
            requeued[e["call_id"]] = ts
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
        "abandoned": sum(ts >= since for c, ts in abandoned.items() if c not in answered),  # decided once
        "waiting": sum((c not in answered or requeued.get(c, since) > last_answered[c])
                       and c not in abandoned and c not in ended for c in queued),
        "agents_logged_in": sum(state != "logged_out" for state in latest_state.values()),
    }


def late_morning_somewhere(now: datetime) -> timezone:
    """A time zone in which ``now`` falls in the late morning, when the simulated floor is busy."""
    return timezone(timedelta(hours=11 - now.hour))


async def test_simulated_floor_reaches_the_wall_display(database_url, browser):
    now = datetime.now(UTC)
    feed = demo_server(seed=11, agents=40, speed=FROZEN, backfill=timedelta(minutes=40), port=0,
                       local_tz=late_morning_somewhere(now), now=now)
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


async def test_wall_says_plainly_when_the_database_is_down_and_recovers_by_itself(
        database_url, browser, postgres_server):
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can stop and start")
    feed = demo_server(seed=12, agents=40, speed=1, backfill=timedelta(minutes=20), port=0, local_tz=UTC,
                       now=datetime.now(UTC))
    async with feed, running_ingest(database_url, feed.url), \
            running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall")

        def status() -> str:
            try:
                return browser.find_element(By.CSS_SELECTOR, ".status-line").text
            except Exception:
                return ""

        async def says(text: str, present: bool = True):
            return (text in await asyncio.to_thread(status)) == present

        await wait_for(lambda: says("Live"), 30, "the live status line")
        await asyncio.to_thread(stop_postgres, server)
        try:
            await wait_for(lambda: says("DATA IS STALE"), 15, "the stale banner")
            assert "database unreachable" in status() and "last update" in status()
        finally:
            await asyncio.to_thread(start_postgres, server)
        # "Live" again, not merely no banner: the line is redrawn, and may be read empty in between
        await wait_for(lambda: says("Live"), 30, "the stale banner to clear")
        assert "DATA IS STALE" not in status()
    # Lost connections are expected here; anything else in the console is not.
    errors = [e for e in browser_errors(browser) if "WebSocket" not in e]
    assert errors == [], "\n".join(errors)


# Counts the messages the page receives from the dashboard's push (Dash keeps its websocket in a
# shared worker and relays each message to the page through the worker's port).
COUNT_PUSHES = """
window.pushesReceived = 0;
const NativeSharedWorker = window.SharedWorker;
window.SharedWorker = function (...args) {
  const worker = new NativeSharedWorker(...args);
  worker.port.addEventListener("message", () => { window.pushesReceived += 1; });
  return worker;
};
"""


async def test_timers_turn_red_in_the_browser_when_a_hold_passes_the_limit_and_a_callback_falls_due(
        database_url, pool, browser, monkeypatch):
    limit_s = 10  # short, so the test need not wait a minute; the wall uses the configured limit
    events = [
        {"type": "agent.state", "agent": "a1", "state": "on_call", "name": "Agent One", "team": "Blue"},
        {"type": "call.queued", "call_id": "c1", "queue": "billing", "caller": "+44 20 7946 0001"},
        {"type": "call.answered", "call_id": "c1", "agent": "a1"},
        {"type": "call.hold_started", "call_id": "c1", "agent": "a1"},
        {"type": "complaint.opened", "complaint_id": "k1", "agent": "a1", "customer": "Customer One",
         "due": None},
    ]

    # Nothing is written after the page opens, and the dashboard's own refresh (which would also
    # push a figure that changes at the limit, such as the agent's hold discipline) is put off:
    # whatever changes on the page meanwhile, the page changes by itself.
    monkeypatch.setattr(server, "SnapshotHub", functools.partial(SnapshotHub, heartbeat_s=timeout(120)))
    counting = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_PUSHES})
    async with running_dashboard(database_url, settings_for_test(CALLBOARD_HOLD_LIMIT_S=str(limit_s))) as base_url:
        # written once the dashboard has started, so the page has the whole limit to show the hold under it
        now = datetime.now(UTC)
        events[-1]["due"] = (now + timedelta(seconds=limit_s)).isoformat()
        frame = json.dumps([{"id": f"t{n}", "ts": now.isoformat(), **e} for n, e in enumerate(events)])
        await EventWriter(pool, "timers").write([Received(now, *parse_message(frame))])
        await asyncio.to_thread(browser.get, base_url + "/wall")

        def classes(selector: str) -> str:
            try:
                return browser.find_element(By.CSS_SELECTOR, selector).get_attribute("class")
            except Exception:
                return ""

        hold, callback = '.row.hold[data-call="c1"] .timer', '.row.callback[data-complaint="k1"] .timer'

        async def has_class(selector: str, name: str, present: bool = True) -> bool:
            return (name in (await asyncio.to_thread(classes, selector)).split()) == present

        # Before the limit: the hold is ticking but not listed, the callback not yet overdue.
        await wait_for(lambda: has_class(hold, "under-limit"), 5, "the hold, under the limit")
        pushes = browser.execute_script("return window.pushesReceived")
        assert not browser.find_element(By.CSS_SELECTOR, '.row.hold[data-call="c1"]').is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, '[data-fit="holds"] .empty').is_displayed()
        assert await has_class(callback, "red", present=False)

        await wait_for(lambda: has_class(hold, "red"), limit_s + 5, "the hold to turn red")
        assert browser.find_element(By.CSS_SELECTOR, '.row.hold[data-call="c1"]').is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, '[data-fit="holds"] .empty').is_displayed(), \
            "'No holds over the limit' beside a hold over it"
        await wait_for(lambda: has_class(callback, "flash"), 10, "the callback to turn overdue")
        assert "red" in classes(callback).split()
        # The page did it on its own: nothing came from the server meanwhile.
        assert pushes > 0 and browser.execute_script("return window.pushesReceived") == pushes
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", counting)


async def test_a_wall_asked_for_chinese_shows_chinese_labels_and_names_as_they_arrive(database_url, pool, browser):
    now = datetime.now(UTC)
    events = [
        {"type": "agent.state", "agent": "a1", "state": "available", "name": "张伟", "team": "一组"},
        {"type": "call.queued", "call_id": "c1", "queue": "账单查询", "caller": "+86 10 5555 0101"},
    ]
    frame = json.dumps([{"id": f"zh{n}", "ts": now.isoformat(), **e} for n, e in enumerate(events)])
    await EventWriter(pool, "zh").write([Received(now, *parse_message(frame))])

    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall?lang=zh-Hans")

        def page_text() -> str:
            try:
                return browser.find_element(By.CSS_SELECTOR, ".wall").text
            except Exception:
                return ""

        async def shows(*texts: str) -> bool:
            shown = await asyncio.to_thread(page_text)
            return all(t in shown for t in texts)

        await wait_for(lambda: shows("账单查询", "张伟", "空闲", "全部队列", "排队中"), 15, "the Chinese wall")
        assert "Waiting" not in page_text() and "Available" not in page_text()

        await asyncio.to_thread(browser.get, base_url + "/wall")  # the site's language: English
        await wait_for(lambda: shows("账单查询", "张伟", "Available", "All queues"), 15, "the English wall")
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)
