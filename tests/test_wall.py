"""The wall display in headless Chromium: what its URL selects, rotation, explanations, the
abandoned calls, and a busy floor fitting the screen at 1920×1080 and 3840×2160."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By

from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import browser_errors, wait_for
from .live_stack import running_dashboard, settings_for_test, signed_in, zone_where_it_is_late_morning

QUEUES = ["billing", "sales", "technical", "账单查询与退款服务", "international-roaming-support", "loyalty",
          "企业客户专线", "complaints-escalation"]
LONG_NAMES = ["欧阳娜娜·阿卜杜拉·买买提江", "Maximilian Alexander von Hohenberg-Schwarzenfeld", "王芳", "Chloe Jones",
              "司马相如", "Oluwaseun Adebayo-Richardson"]


async def write(pool, events: list[dict], now: datetime) -> None:
    """Store protocol events through the real ingest writer; each event's ``ago`` is seconds before now."""
    frame = [{"id": f"w{n}", "ts": (now - timedelta(seconds=e.pop("ago", 0))).isoformat(), **e}
             for n, e in enumerate(events)]
    await EventWriter(pool, "wall").write([Received(now, *parse_message(json.dumps(frame)))])


def busy_floor() -> list[dict]:
    """8 queues with their members, 150 agents with long CJK and Latin names, 20 holds over the limit,
    30 callbacks (some overdue), 50 abandoned calls and callers waiting."""
    events: list[dict] = []
    for n in range(150):
        state = ["on_call", "available", "after_call_work", "break", "not_ready"][n % 5]
        events.append({"type": "agent.state", "agent": f"a{n:03}", "state": state, "ago": 600 - n,
                       "name": f"{LONG_NAMES[n % len(LONG_NAMES)]} {n}", "team": ["Blue", "Red", "蓝队"][n % 3],
                       **({"reason": "training_and_coaching_session"} if state == "not_ready" else {})})
    for n in range(20):
        call = f"h{n}"
        events += [
            {"type": "call.queued", "call_id": call, "queue": QUEUES[n % 8], "caller": "+86 138 0000 0001", "ago": 900},
            {"type": "call.answered", "call_id": call, "agent": f"a{n * 5:03}", "ago": 890},
            {"type": "call.hold_started", "call_id": call, "agent": f"a{n * 5:03}", "ago": 61 + 10 * n},
        ]
    for n in range(30):
        events.append({"type": "complaint.opened", "complaint_id": f"k{n}", "agent": f"a{n:03}",
                       "customer": "李娜", "ago": 3000,
                       "due": (datetime.now(UTC) + timedelta(minutes=n * 7 - 60)).isoformat()})
    for n in range(50):
        events += [
            {"type": "call.queued", "call_id": f"x{n}", "queue": QUEUES[n % 8], "caller": f"+86 10 5555 {n:04}",
             "ago": 2000 - n},
            {"type": "call.abandoned", "call_id": f"x{n}", "ago": 2000 - n - (3 if n % 4 == 0 else 95)},
        ]
    for n in range(24):
        events.append({"type": "call.queued", "call_id": f"w{n}", "queue": QUEUES[n % 8],
                       "caller": "+86 138 0000 0002", "ago": 5 + 20 * n})
    for q, queue in enumerate(QUEUES):  # each queue's tile counts its agents by state too
        events.append({"type": "queue.members", "queue": queue, "ago": 700,
                       "agents": [f"a{n:03}" for n in range(150) if n % 8 in (q, (q + 1) % 8)]})
    return events


def read(url: str, role: str = "admin") -> str:
    with urllib.request.urlopen(signed_in(url, role), timeout=10) as response:
        return response.read().decode()


def page(driver, script: str):
    return driver.execute_script(script)


async def shown(driver, selector: str, present: bool = True) -> bool:
    def look() -> bool:
        return bool(driver.find_elements(By.CSS_SELECTOR, selector)) == present
    return await asyncio.to_thread(look)


def text_of(driver, selector: str) -> str:
    try:
        return driver.find_element(By.CSS_SELECTOR, selector).text
    except Exception:
        return ""


@contextlib.contextmanager
def screen(driver, width: int, height: int):
    """Show the page as on a screen of width × height CSS pixels."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


READY = """
return document.querySelectorAll('.agent-grid .agent').length === 150
    && document.querySelector('.row.hold:not(.cut) .timer.red') !== null
    && document.querySelector('[data-more-for="agents"]').textContent.startsWith('+');
"""
OVERFLOW = """
var out = [], d = document.documentElement;
document.querySelectorAll('.wall *').forEach(function (e) {
  if (e.offsetParent === null) return;
  var own = Array.prototype.some.call(e.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (!own) return;
  var r = e.getBoundingClientRect();
  if (r.right > innerWidth + 0.5 || r.left < -0.5 || r.bottom > innerHeight + 0.5)
    out.push(e.className + ' ' + e.textContent.slice(0, 40) + ' ' + JSON.stringify([r.left, r.right, r.bottom]));
});
return {scrollHeight: d.scrollHeight, innerHeight: innerHeight, scrollWidth: d.scrollWidth, innerWidth: innerWidth,
        out: out, cards: document.querySelectorAll('.agent:not(.cut)').length,
        more: document.querySelector('[data-more-for="agents"]').textContent};
"""


@pytest.mark.parametrize("width, height", [(1920, 1080), (3840, 2160)])
async def test_a_busy_floor_fits_full_hd_and_4k_screens_without_scrolling(database_url, pool, browser, width, height):
    now = datetime.now(UTC)
    await write(pool, busy_floor(), now)
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        with screen(browser, width, height):
            await asyncio.to_thread(browser.get, base_url + "/wall?lang=zh-Hans")

            async def drawn_and_fitted() -> bool:
                # one look per 0.2 s: the busy page needs its CPU for drawing
                ready = await asyncio.to_thread(page, browser, READY)
                return ready or await asyncio.sleep(0.2)

            await wait_for(drawn_and_fitted, 20, "150 agents, the holds over the limit and '+N more'")
            fit = await asyncio.to_thread(page, browser, OVERFLOW)
            assert (fit["innerWidth"], fit["innerHeight"]) == (width, height)
            assert fit["scrollHeight"] <= fit["innerHeight"] and fit["scrollWidth"] <= fit["innerWidth"], fit
            assert fit["out"] == [], "\n".join(fit["out"])
            # as many agents as fit are shown, and the rest are counted: "+N 未显示"
            assert fit["cards"] > 30 and fit["more"] == f"+{150 - fit['cards']} 未显示"
            tiles = browser.find_elements(By.CSS_SELECTOR, ".wall-queues .tile")
            assert len(tiles) == 9
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def test_the_url_selects_queues_and_a_team_and_the_all_tile_totals_just_them(database_url, pool, browser):
    now = datetime.now(UTC)
    events = [
        {"type": "agent.state", "agent": "b1", "state": "on_call", "name": "Blue One", "team": "Blue"},
        {"type": "agent.state", "agent": "b2", "state": "available", "name": "Blue Two", "team": "Blue"},
        {"type": "agent.state", "agent": "r1", "state": "on_call", "name": "Red One", "team": "Red"},
        {"type": "complaint.opened", "complaint_id": "kb", "agent": "b1", "customer": "李娜",
         "due": (now + timedelta(hours=1)).isoformat()},
        {"type": "complaint.opened", "complaint_id": "kr", "agent": "r1", "customer": "张伟",
         "due": (now + timedelta(hours=1)).isoformat()},
    ]
    for call, queue, agent in (("cb", "billing", "b1"), ("cr", "sales", "r1")):
        events += [{"type": "call.queued", "call_id": call, "queue": queue, "caller": "+86 138 0000 0001", "ago": 200},
                   {"type": "call.answered", "call_id": call, "agent": agent, "ago": 190},
                   {"type": "call.hold_started", "call_id": call, "agent": agent, "ago": 100}]
    for call, queue, ago in (("w1", "billing", 30), ("w2", "sales", 50), ("w3", "sales", 10), ("w4", "technical", 90)):
        events.append({"type": "call.queued", "call_id": call, "queue": queue, "caller": "+86 138 0000 0002",
                       "ago": ago})
    await write(pool, events, now)
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall?queue=billing,sales&team=Blue")
        await wait_for(lambda: shown(browser, '.tile[data-queue="all"] [data-figure="waiting"]'), 15, "the tiles")
        queues = [t.get_attribute("data-queue") for t in browser.find_elements(By.CSS_SELECTOR, ".wall-queues .tile")]
        assert queues == ["billing", "sales", "all"]  # technical is not shown
        # the All tile totals billing (1 waiting) and sales (2): 3, not 4; longest wait 0:50 (sales)
        assert text_of(browser, '.tile[data-queue="all"] [data-figure="waiting"] .value') == "3"
        assert text_of(browser, '.tile[data-queue="all"] .tile-title') == "All shown"
        assert text_of(browser, '.tile[data-queue="all"] [data-figure="longest_wait"] .value') >= "0:50"
        # Team Blue: its agents, counted by state on the All tile, its hold and its callback
        agents = [a.get_attribute("data-agent") for a in browser.find_elements(By.CSS_SELECTOR, ".agent")]
        assert agents == ["b1", "b2"]
        assert text_of(browser, '.tile[data-queue="all"] [data-count="available"] .value') == "1"
        assert [r.get_attribute("data-call") for r in browser.find_elements(By.CSS_SELECTOR, ".row.hold")] == ["cb"]
        callbacks = browser.find_elements(By.CSS_SELECTOR, ".row.callback")
        assert [r.get_attribute("data-complaint") for r in callbacks] == ["kb"]
        assert "billing · sales — Team Blue" in text_of(browser, ".status-line")
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def test_a_rotating_wall_cycles_through_its_views_and_shows_a_change_in_the_view_it_is_on(
        database_url, pool, browser):
    now = datetime.now(UTC)
    await write(pool, [{"type": "call.queued", "call_id": c, "queue": q, "caller": "+86 138 0000 0002"}
                       for c, q in (("w1", "billing"), ("w2", "sales"))], now)
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall?rotate=8&view=queue:billing&view=queue:sales")

        def shown() -> tuple[list[str], str]:
            tiles = browser.find_elements(By.CSS_SELECTOR, ".wall-queues .tile")
            waiting = browser.find_element(By.CSS_SELECTOR, '.tile[data-queue="all"] [data-figure="waiting"] .value')
            return [t.get_attribute("data-queue") for t in tiles], waiting.text

        async def shows(queues: list[str], waiting: str) -> bool:
            try:
                return await asyncio.to_thread(shown) == (queues, waiting)
            except Exception:
                return False

        await wait_for(lambda: shows(["billing", "all"], "1"), 15, "the first view")
        await wait_for(lambda: shows(["sales", "all"], "1"), 12, "the second view")
        # A caller joins sales while the wall shows sales: the push draws the view the wall is on
        # now, not the one it opened with, well before the wall turns again.
        await write(pool, [{"type": "call.queued", "call_id": "w3", "queue": "sales", "caller": "+86 138 0000 3"}],
                    datetime.now(UTC))
        await wait_for(lambda: shows(["sales", "all"], "2"), 5, "the new caller on the view shown")
        await wait_for(lambda: shows(["billing", "all"], "1"), 12, "the first view again")
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def test_every_tile_explains_its_figures_and_says_how_old_its_data_is(database_url, pool, browser):
    now = datetime.now(UTC)
    await write(pool, [{"type": "call.queued", "call_id": "w1", "queue": "billing", "caller": "+86 138 0000 02"}], now)
    settings = settings_for_test(CALLBOARD_RATE_AMBER_BELOW="0.9", CALLBOARD_RATE_RED_BELOW="0.7")
    async with running_dashboard(database_url, settings) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall?explain=1")
        await wait_for(lambda: shown(browser, ".tile-explain"), 15, "the explanations")
        for tile in ("billing", "all"):
            explained = text_of(browser, f'.tile[data-queue="{tile}"] .tile-explain')
            assert "answered within 15 s / answered" in explained
            assert "amber below 90%, red below 70%" in explained

        ages: set[str] = set()

        async def ticks() -> bool:  # from the write, minutes ago at most, and moving on
            age = await asyncio.to_thread(text_of, browser, '.tile[data-queue="billing"] .tile-age')
            if re.fullmatch(r"updated [0-4]:\d\d ago", age):
                ages.add(age)
            return len(ages) > 1

        await wait_for(ticks, 10, "the data age, ticking")
        await asyncio.to_thread(browser.get, base_url + "/wall?lang=zh-Hans")
        await wait_for(lambda: shown(browser, '.tile[data-queue="billing"] [data-figure="on_time"]'), 15, "the wall")
        assert not browser.find_elements(By.CSS_SELECTOR, ".tile-explain")  # not unless asked for
        on_time = browser.find_element(By.CSS_SELECTOR, '.tile[data-queue="billing"] [data-figure="on_time"]')
        assert on_time.get_attribute("title") == "15 s 内应答 / 已接; 低于 90% 显示黄色，低于 70% 显示红色"
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def test_abandoned_calls_are_listed_without_the_callers_number(database_url, pool, browser):
    now = datetime.now(UTC)
    events = []
    for call, caller, waited, ago in (("x1", "+86 10 5555 0101", 40, 300), ("x2", "+86 10 5555 0202", 2, 100)):
        events += [{"type": "call.queued", "call_id": call, "queue": "billing", "caller": caller, "ago": ago + waited},
                   {"type": "call.abandoned", "call_id": call, "ago": ago}]
    await write(pool, events, now)
    async with running_dashboard(database_url, settings_for_test(
            CALLBOARD_TIMEZONE=zone_where_it_is_late_morning())) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall")
        await wait_for(lambda: shown(browser, ".row.abandon"), 15, "the abandoned calls")
        rows = browser.find_elements(By.CSS_SELECTOR, ".row.abandon")
        # newest first; x2 hung up after 2 s: a short abandon, marked
        assert [r.get_attribute("data-call") for r in rows] == ["x2", "x1"]
        assert "short" in rows[0].get_attribute("class") and "short" not in rows[1].get_attribute("class")
        assert "billing" in rows[1].text and "0:40" in rows[1].text and "0101" not in rows[1].text
        assert "ABANDONED TODAY · 2 (1 SHORT)" in text_of(browser, ".abandoned h2")  # titles in capitals
        # a manager reads them masked (tests/test_personal_data_by_role.py: each role)
        api = await asyncio.to_thread(read, base_url + "/api/v1/live", "manager")
        shown_page = browser.page_source
        for whole in ("5555 0101", "55550101", "5555 0202", "55550202"):
            assert whole not in api and whole not in shown_page
        assert "•••• 0101" not in shown_page and "•••• 0202" not in shown_page
        assert "•••• 0101" in json.loads(api)["abandoned_calls"][1]["caller"]
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


UNDO_HISTORY = "return window.dash_stores.reduce((n, store) => n + store.getState().history.past.length, 0);"


async def test_a_wall_open_all_day_keeps_no_copy_of_the_views_pushed_to_it(database_url, pool, browser):
    # Dash keeps, for undo, each earlier value of a callback's input that no callback set: were the
    # pushed views one, a wall would hold every view it was sent until it is reloaded.
    await write(pool, [{"type": "call.queued", "call_id": "c0", "queue": "billing", "caller": "+86 138 0000 0002"}],
                datetime.now(UTC))
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/wall")
        waiting = '.tile[data-queue="billing"] [data-figure="waiting"] .value'
        await wait_for(lambda: asyncio.to_thread(lambda: text_of(browser, waiting) == "1"), 15, "one caller waiting")
        kept = await asyncio.to_thread(page, browser, UNDO_HISTORY)

        for n in range(1, 11):  # ten changes, each pushed and shown
            await write(pool, [{"id": f"q{n}", "type": "call.queued", "call_id": f"c{n}", "queue": "billing",
                                "caller": "+86 138 0000 0002"}], datetime.now(UTC))
            await wait_for(lambda n=n: asyncio.to_thread(lambda: text_of(browser, waiting) == str(n + 1)), 15,
                           f"{n + 1} callers waiting")

        assert await asyncio.to_thread(page, browser, UNDO_HISTORY) == kept
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)
