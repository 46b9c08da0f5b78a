"""The supervisor's floor view: its drill-down reads through the real database, and the page in
headless Chromium (filters, sorting that survives pushes, drill-down to an agent's calls and a
call's timeline, Chinese)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By

from callboard.metrics import Thresholds
from dashboard.data import LiveData
from dashboard.widgets import sorted_agents

from .conftest import browser_errors, wait_for
from .live_stack import running_dashboard, settings_for_test, zone_where_it_is_late_morning
from .test_wall import write

CALLER = "+86 138 0013 8000"


def floor_events() -> list[dict]:
    """Two teams: a1 (Blue) with a call answered, held, transferred and surveyed; a2 (Red) with
    one call answered and ended unresolved; a3 (Red) on a break with nothing counted."""
    return [
        {"type": "agent.state", "agent": "a1", "state": "on_call", "name": "Wang Fang", "team": "Blue", "ago": 900},
        {"type": "agent.state", "agent": "a2", "state": "available", "name": "李娜", "team": "Red", "ago": 900},
        {"type": "agent.state", "agent": "a3", "state": "break", "name": "Zoe Ng", "team": "Red", "reason": "lunch",
         "ago": 900},
        {"type": "call.queued", "call_id": "c1", "queue": "billing", "caller": CALLER, "ago": 600},
        {"type": "call.answered", "call_id": "c1", "agent": "a1", "ago": 590},
        {"type": "call.hold_started", "call_id": "c1", "agent": "a1", "ago": 500},
        {"type": "call.hold_ended", "call_id": "c1", "agent": "a1", "ago": 470},
        {"type": "call.transferred", "call_id": "c1", "from_agent": "a1", "to_queue": "sales", "ago": 400},
        {"type": "call.answered", "call_id": "c1", "agent": "a1", "ago": 390},
        {"type": "call.ended", "call_id": "c1", "agent": "a1", "released_by": "customer", "resolved": True, "ago": 300},
        {"type": "survey.completed", "call_id": "c1", "agent": "a1", "score": 5, "ago": 250},
        {"type": "call.queued", "call_id": "c2", "queue": "sales", "caller": "+86 10 5555 0199", "ago": 200},
        {"type": "call.answered", "call_id": "c2", "agent": "a2", "ago": 170},
        {"type": "call.ended", "call_id": "c2", "agent": "a2", "released_by": "agent", "resolved": False, "ago": 100},
    ]


def test_agents_sort_by_any_figure_with_the_ones_without_data_last_either_way():
    agents = [{"agent": "a1", "name": "b", "csat": 0.5}, {"agent": "a2", "name": "a", "csat": None},
              {"agent": "a3", "name": "c", "csat": 1.0}, {"agent": "a4", "name": "A", "csat": 0.5}]
    assert [a["agent"] for a in sorted_agents(agents, "csat", descending=False)] == ["a4", "a1", "a3", "a2"]
    assert [a["agent"] for a in sorted_agents(agents, "csat", descending=True)] == ["a3", "a4", "a1", "a2"]
    assert [a["agent"] for a in sorted_agents(agents, "name", descending=False)] == ["a2", "a4", "a1", "a3"]


async def test_an_agents_calls_today_and_a_calls_timeline_say_what_happened_without_the_callers_number(pool):
    now = datetime.now(UTC)
    await write(pool, floor_events(), now)
    live = LiveData(pool, Thresholds(), ZoneInfo(zone_where_it_is_late_morning()), stale_after_s=30)

    day = await live.agent_calls("a1", now=now)
    # c1: queued 600 s ago, first answered 10 s later; one hold of 30 s; ended by the customer, resolved, scored 5
    assert day["name"] == "Wang Fang"
    assert [(c["call_id"], c["queue"], c["waited_s"], c["holds"], c["longest_hold_s"], c["released_by"],
             c["resolved"], c["survey_score"]) for c in day["calls"]] == [
        ("c1", "billing", 10.0, 1, 30.0, "customer", True, 5)]
    assert (await live.agent_calls("a3", now=now))["calls"] == []

    timeline = await live.call_timeline("wall", "c1")
    assert [(e["type"], e["agent"]) for e in timeline] == [
        ("call.queued", None), ("call.answered", "a1"), ("call.hold_started", "a1"), ("call.hold_ended", "a1"),
        ("call.transferred", "a1"), ("call.answered", "a1"), ("call.ended", "a1"), ("survey.completed", "a1")]
    assert (timeline[4]["to_queue"], timeline[6]["released_by"], timeline[6]["resolved"], timeline[7]["score"]) == (
        "sales", "customer", True, 5)
    assert CALLER not in repr(timeline) and "0013" not in repr(timeline)


def _text(driver, selector: str) -> str:
    try:
        return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, selector))
    except Exception:  # the part was being replaced
        return ""


async def _agent_order(driver) -> list[str]:
    def order() -> list[str]:
        try:
            return [row.get_attribute("data-agent") for row in
                    driver.find_elements(By.CSS_SELECTOR, ".agent-table tbody tr[data-agent]")]
        except Exception:
            return []
    return await asyncio.to_thread(order)


async def _click(driver, selector: str) -> None:
    def click() -> None:
        driver.find_element(By.CSS_SELECTOR, selector).click()
    await asyncio.to_thread(click)


# Focus an agent's name in the live table, keeping the element focused to tell a redrawn table.
FOCUS_AGENT = """
window.focusedBefore = document.querySelector(`.agent-table [data-drill="${arguments[0]}"]`);
window.focusedBefore.focus();
"""
STILL_FOCUSED = """
return {redrawn: !window.focusedBefore.isConnected,
        agent: document.activeElement && document.activeElement.getAttribute("data-drill")};
"""
# Select an agent's name in the live table, keeping its row to tell a redrawn one.
SELECT_AGENT = """
window.selectedRow = document.querySelector(`.agent-table tr[data-agent="${arguments[0]}"]`);
const name = document.createRange();
name.selectNodeContents(window.selectedRow.querySelector("td.name"));
getSelection().removeAllRanges();
getSelection().addRange(name);
"""
# What a floor filter offers (the values of its options, in Dash's state of the page).
OFFERED = """
const filter = window.dash_component_api.getLayout({type: "floor-filter", filter: arguments[0]});
return filter.props.options.map(option => option.value);
"""
STILL_SELECTED = "return {redrawn: !window.selectedRow.isConnected, selected: getSelection().toString()};"


async def test_the_floor_filters_sorts_and_keeps_its_order_when_a_new_event_arrives(database_url, pool, browser):
    now = datetime.now(UTC)
    await write(pool, floor_events(), now)
    async with running_dashboard(database_url, settings_for_test(
            CALLBOARD_TIMEZONE=zone_where_it_is_late_morning())) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/")

        async def agents_are(expected: list[str]) -> bool:
            return await _agent_order(browser) == expected

        # Everyone, by name (Wang Fang, Zoe Ng, 李娜); the All queues row counts c1 and c2: 2 offered, 2 answered
        await wait_for(lambda: agents_are(["a1", "a3", "a2"]), 15, "every agent, by name")
        assert await _shows(browser, '.queue-table tr[data-queue="all"] td:nth-child(8)', "2")

        # Sort by resolution rate, highest first: a1 (1.0), a2 (0.0), then a3 with no calls
        await _click(browser, 'button.sort[id*="resolution_rate"]')
        await wait_for(lambda: agents_are(["a1", "a2", "a3"]), 10, "agents by resolution rate")
        await wait_for(lambda: _in_url(browser, "sort=resolution_rate"), 5, "the order in the address")

        # New events are pushed: a2 resolves a call (1 of 2); the table stays in its order (by name it
        # would be a1, a3, a2), and the keyboard stays on the agent it was on (a2's name, focused); a1's
        # row, which the change leaves as it was, is not redrawn and keeps the name selected in it
        await asyncio.to_thread(browser.execute_script, FOCUS_AGENT, "a2")
        await asyncio.to_thread(browser.execute_script, SELECT_AGENT, "a1")
        await write(pool, [
            {"id": "n1", "type": "call.queued", "call_id": "c3", "queue": "sales", "caller": "+86 10 5555 0200",
             "ago": 60},
            {"id": "n2", "type": "call.answered", "call_id": "c3", "agent": "a2", "ago": 50},
            {"id": "n3", "type": "call.ended", "call_id": "c3", "agent": "a2", "released_by": "customer",
             "resolved": True, "ago": 10}], datetime.now(UTC))
        await wait_for(lambda: _shows(browser, '.queue-table tr[data-queue="all"] td:nth-child(8)', "3"), 10,
                       "the new call pushed")
        assert await _agent_order(browser) == ["a1", "a2", "a3"]
        focused = await asyncio.to_thread(browser.execute_script, STILL_FOCUSED)
        assert focused == {"redrawn": True, "agent": "a2"}
        selected = await asyncio.to_thread(browser.execute_script, STILL_SELECTED)
        assert selected == {"redrawn": False, "selected": "Wang Fang"}

        # Filter to team Red through the address: only its agents; the filters still offer the whole floor
        await asyncio.to_thread(browser.get, base_url + "/?team=Red")
        await wait_for(lambda: agents_are(["a3", "a2"]), 15, "team Red only")

        async def offered(name: str) -> list[str]:
            return await asyncio.to_thread(browser.execute_script, OFFERED, name)

        await wait_for(lambda: _equal(offered("team"), ["Blue", "Red"]), 10, "both teams offered")
        assert sorted(await offered("agent")) == ["a1", "a2", "a3"]
        assert await offered("queues") == ["billing", "sales"]
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def test_an_agent_joining_above_a_selected_row_leaves_it_selected(database_url, pool, browser):
    await write(pool, floor_events(), datetime.now(UTC))
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/")
        await wait_for(lambda: _equal(_agent_order(browser), ["a1", "a3", "a2"]), 15, "every agent, by name")
        await asyncio.to_thread(browser.execute_script, SELECT_AGENT, "a3")

        # Anna comes first by name: every row below hers is where it was one place lower, and a3's
        # row, which the change leaves as it was, is the same element with the name still selected
        await write(pool, [{"id": "j1", "type": "agent.state", "agent": "a9", "state": "available",
                            "name": "Anna", "team": "Red"}], datetime.now(UTC))
        await wait_for(lambda: _equal(_agent_order(browser), ["a9", "a1", "a3", "a2"]), 10, "Anna at the top")
        selected = await asyncio.to_thread(browser.execute_script, STILL_SELECTED)
        assert selected == {"redrawn": False, "selected": "Zoe Ng"}
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def _equal(value, expected) -> bool:
    return await value == expected


async def _in_url(driver, fragment: str) -> bool:
    return fragment in await asyncio.to_thread(lambda: driver.current_url)


async def _shows(driver, selector: str, expected: str) -> bool:
    return (await asyncio.to_thread(_text, driver, selector)).strip() == expected


async def test_drilling_into_an_agent_then_a_call_shows_its_timeline_in_chinese(
        database_url, pool, browser):
    now = datetime.now(UTC)
    await write(pool, floor_events(), now - timedelta(seconds=1))
    async with running_dashboard(database_url, settings_for_test(
            CALLBOARD_TIMEZONE=zone_where_it_is_late_morning())) as base_url:
        await asyncio.to_thread(browser.get, base_url + "/?lang=zh-Hans")
        await wait_for(lambda: _has(browser, '.agent-table tr[data-agent="a1"] button.link'), 15, "the agent table")
        assert "综合评分" in _text(browser, ".agent-table thead") and "李娜" in _text(browser, ".agent-table tbody")

        await _click(browser, '.agent-table tr[data-agent="a1"] button.link')
        await wait_for(lambda: _has(browser, '.floor-detail tr[data-call="c1"] button.link'), 10, "a1's calls today")
        assert "今日通话 · Wang Fang" in _text(browser, ".floor-detail h2")
        await wait_for(lambda: _in_url(browser, "drill=a1"), 5, "the drill-down in the address")

        await _click(browser, '.floor-detail tr[data-call="c1"] button.link')
        await wait_for(lambda: _has(browser, ".timeline tbody tr"), 10, "c1's timeline")
        await wait_for(lambda: _in_url(browser, "feed=wall&call=c1"), 5, "the call, named by its feed, in the address")
        events = await asyncio.to_thread(lambda: [
            row.get_attribute("data-event") for row in browser.find_elements(By.CSS_SELECTOR, ".timeline tbody tr")])
        assert events == ["call.queued", "call.answered", "call.hold_started", "call.hold_ended", "call.transferred",
                          "call.answered", "call.ended", "survey.completed"]
        assert "转接" in _text(browser, ".timeline") and "满意度: 5" in _text(browser, ".timeline")
        # the admin sees the caller's number (tests/test_personal_data_by_role.py: each role)
        assert CALLER in _text(browser, ".floor-detail h2 .caller")

        await _click(browser, ".floor-detail button.close")
        await wait_for(lambda: _has(browser, ".floor-detail tr", present=False), 10, "the drill-down to close")
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def _has(driver, selector: str, present: bool = True) -> bool:
    return bool(await asyncio.to_thread(driver.find_elements, By.CSS_SELECTOR, selector)) == present
