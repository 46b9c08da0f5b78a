"""The wall never receives customers' personal data: not in its layout, a callback's answer or a
websocket push. Calls and complaints with numbers and names come through a real feed and the
real ingest; headless Chromium records every HTTP answer the wall page receives (its performance
log) and every message of the push (Dash keeps its websocket in a shared worker, whose network
the page's log does not see, and relays each frame's message to the page through the worker's
port: the page records what comes through it)."""

from __future__ import annotations

import asyncio
import collections
import itertools
from datetime import UTC, datetime

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from websockets.asyncio.server import serve

from alerts import outbox
from alerts.rules import complaint_subject

from .conftest import browser_errors, network_events, wait_for
from .live_stack import running_dashboard, running_ingest, settings_for_test, zone_where_it_is_late_morning
from .personal_data import CALLERS, CUSTOMERS, Feed, floor_events, numbers_in_sight, personal_data_in

FEED = "pbx"
# Files shipped with the dashboard (its scripts, styles, fonts) are the same for everyone: they hold
# numbers of their own, and no data.
STATIC_TYPES = {"Script", "Stylesheet", "Font", "Image"}
RECORD_PUSHES = """
window.pushed = [];
const NativeSharedWorker = window.SharedWorker;
window.SharedWorker = function (...args) {
  const worker = new NativeSharedWorker(...args);
  worker.port.addEventListener("message", (message) => { window.pushed.push(JSON.stringify(message.data)); });
  return worker;
};
"""


def received(driver) -> tuple[list[str], dict[str, list[str]]]:
    """The messages of the push, and the bodies of the HTTP answers (other than static files) the
    page received so far by their media type."""
    frames, answers, media = driver.execute_script("return window.pushed"), collections.defaultdict(list), {}
    for event in network_events(driver):
        params = event["params"]
        if event["method"] == "Network.webSocketFrameReceived":  # a websocket of the page's own
            frames.append(params["response"]["payloadData"])
        elif event["method"] == "Network.responseReceived" and params["type"] not in STATIC_TYPES:
            media[params["requestId"]] = params["response"]["mimeType"]
        elif event["method"] == "Network.loadingFinished" and params["requestId"] in media:
            try:
                body = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": params["requestId"]})
            except WebDriverException:  # an answer with no body (a redirect, a 204)
                continue
            answers[media[params["requestId"]]].append(body["body"])
    return frames, answers


async def test_the_wall_never_receives_a_customers_number_or_name(database_url, pool, recording_browser):
    browser = recording_browser
    now = datetime.now(UTC)
    feed = Feed()
    feed.send(floor_events(now, first=1))
    settings = settings_for_test(CALLBOARD_TIMEZONE=zone_where_it_is_late_morning())
    async with (serve(feed.serve, "127.0.0.1", 0) as server,
                running_ingest(database_url, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", FEED,
                               settings),
                running_dashboard(database_url, settings) as base_url):
        async with pool.acquire() as conn:  # an alert about a complaint, raised with its customer's name
            await wait_for(lambda: _stored(pool, "complaints", len(CUSTOMERS)), 30, "the first complaints")
            await outbox.raise_alert(conn, kind="callback_overdue", subject=complaint_subject(FEED, "k1"), at=now,
                                     details={"queue": "billing", "agent": "王芳", "customer": CUSTOMERS[0],
                                              "due_at": now}, recipients=[])
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_PUSHES})
        await asyncio.to_thread(browser.get, base_url + "/wall")
        await wait_for(lambda: _rows(browser, ".row.abandon", 4), 20, "the first abandoned calls")
        # Then the floor changes while the wall is open: pushed to it.
        feed.send(floor_events(datetime.now(UTC), first=len(CALLERS) + 1))
        await wait_for(lambda: _rows(browser, ".row.abandon", 8), 20, "the abandoned calls pushed")
        await wait_for(lambda: _rows(browser, ".row.callback", 2 * len(CUSTOMERS)), 20, "the callbacks")
        page = browser.execute_script("return document.querySelector('.wall').outerHTML")
        frames, answers = await asyncio.to_thread(received, browser)
        errors = browser_errors(browser)

    # What is looked for, it would find.
    assert all(numbers_in_sight(caller) and personal_data_in(caller) for caller in CALLERS)
    assert all(personal_data_in(customer) for customer in CUSTOMERS)
    assert frames and answers["application/json"], "the page received nothing to look at"
    # The pushes carry the abandoned calls, without even the end of their callers' numbers.
    assert any("row abandon" in frame for frame in frames) and "row abandon" in page
    assert not any("••••" in text or "7946 0004" in text for text in [page, *frames])
    # The wall's data (what it shows, callbacks' answers, pushes) holds no run of 5 digits at all.
    wall_data = (("the wall", [page]), ("a push", frames), ("a callback's answer", answers["application/json"]))
    for where, texts in wall_data:
        for text in texts:
            assert numbers_in_sight(text) == [], f"{where} shows a number: {numbers_in_sight(text)} {text[:3000]}"
    # Nothing the page received (its HTML, whose asset addresses carry numbers, too) holds a customer's.
    for text in [page, *frames, *itertools.chain(*answers.values())]:
        assert personal_data_in(text) == [], f"the wall received personal data: {text[:3000]}"
    assert errors == [], "\n".join(errors)


async def _stored(pool, table: str, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table}") >= count


async def _rows(driver, selector: str, count: int) -> bool:
    def look() -> bool:
        return len(driver.find_elements(By.CSS_SELECTOR, selector)) >= count
    return await asyncio.to_thread(look)
