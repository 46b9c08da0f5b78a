"""Customers' numbers and names are shown whole to supervisors and admins (who call customers back)
and masked to everyone else, where they look at calls and complaints: the floor view's abandoned
calls and callbacks, an agent's calls and a call's timeline (headless Chromium), the Alerts page's
callback alerts, and the JSON API (bearer tokens). The wall sees none (tests/test_wall_privacy.py)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By

from access.roles import ROLES, personal_data_table, sees_personal_data
from alerts import outbox
from alerts.rules import complaint_subject
from dashboard.personal_data import Found, PersonalData, with_personal_data

from .conftest import browser_errors, sign_in_browser, wait_for
from .live_stack import API_TOKENS, running_dashboard, settings_for_test, zone_where_it_is_late_morning
from .test_docs import ROOT
from .test_wall import write

ANSWERED_CALLER = "+86 138 0013 8001"  # c1, answered by a1
ABANDONED_CALLER = "+44 20 7946 0004"  # c2, abandoned
NAMED_CUSTOMER = "Margaret O'Brien"  # k1
NUMBER_CUSTOMER = "+86 150 0015 0011"  # k2
WHOLE = {"callers": [ABANDONED_CALLER], "calls": [ANSWERED_CALLER], "customers": [NAMED_CUSTOMER, NUMBER_CUSTOMER]}
# Masked: a number's last 4 digits, a name nothing.
MASKED = {"callers": ["•••• 0004"], "calls": ["•••• 8001"], "customers": ["••••", "•••• 0011"]}


def floor_events(now: datetime) -> list[dict]:
    return [
        {"type": "agent.state", "agent": "a1", "state": "available", "name": "Wang Fang", "team": "Blue", "ago": 900},
        {"type": "call.queued", "call_id": "c1", "queue": "billing", "caller": ANSWERED_CALLER, "ago": 600},
        {"type": "call.answered", "call_id": "c1", "agent": "a1", "ago": 590},
        {"type": "call.ended", "call_id": "c1", "agent": "a1", "released_by": "customer", "ago": 300},
        {"type": "call.queued", "call_id": "c2", "queue": "billing", "caller": ABANDONED_CALLER, "ago": 200},
        {"type": "call.abandoned", "call_id": "c2", "ago": 150},
        {"type": "complaint.opened", "complaint_id": "k1", "agent": "a1", "call_id": "c1", "customer": NAMED_CUSTOMER,
         "due": (now + timedelta(minutes=20)).isoformat(), "ago": 290},
        {"type": "complaint.opened", "complaint_id": "k2", "agent": "a1", "customer": NUMBER_CUSTOMER,
         "due": (now + timedelta(minutes=30)).isoformat(), "ago": 280},
    ]


def test_supervisors_and_admins_see_customers_whole_everyone_else_masked_as_the_security_doc_says():
    assert {role for role in ROLES if sees_personal_data(role)} == {"supervisor", "admin"}
    assert not sees_personal_data(None) and not sees_personal_data("nobody")
    assert personal_data_table() in (ROOT / "docs" / "security.md").read_text()


def test_a_snapshot_shows_what_was_found_whole_or_masked_and_what_was_not_as_it_was():
    snapshot = {
        "abandoned_calls": [{"feed": "f", "call_id": "c1", "caller": "•••• 0004"},
                            {"feed": "f", "call_id": "c9", "caller": "•••• 9999"}],
        "complaints_open": [{"feed": "f", "complaint_id": "k1"}, {"feed": "f", "complaint_id": "k2"}],
        "alerts_open": [{"subject": "f/k2", "customer": "•••• 0011"}, {"subject": "queue:billing", "customer": None}],
    }
    found = Found(callers={("f", "c1"): ABANDONED_CALLER},
                  customers={("f", "k1"): NAMED_CUSTOMER, ("f", "k2"): NUMBER_CUSTOMER})
    whole = with_personal_data(snapshot, found, full=True)
    masked = with_personal_data(snapshot, found, full=False)
    # c9 was not found (the database did not answer): it keeps the snapshot's masked number
    assert [a["caller"] for a in whole["abandoned_calls"]] == [ABANDONED_CALLER, "•••• 9999"]
    assert [a["caller"] for a in masked["abandoned_calls"]] == ["•••• 0004", "•••• 9999"]
    assert [c["customer"] for c in whole["complaints_open"]] == [NAMED_CUSTOMER, NUMBER_CUSTOMER]
    assert [c["customer"] for c in masked["complaints_open"]] == ["••••", "•••• 0011"]
    assert [a["customer"] for a in whole["alerts_open"]] == [NUMBER_CUSTOMER, None]
    assert [a["customer"] for a in masked["alerts_open"]] == ["•••• 0011", None]
    assert with_personal_data(snapshot, Found(), full=True)["complaints_open"][0]["customer"] is None
    assert snapshot["abandoned_calls"][0]["caller"] == "•••• 0004"  # the shared snapshot is left as it was


async def test_personal_data_is_read_for_the_calls_and_complaints_asked_for_and_none_once_erased(pool):
    now = datetime.now(UTC)
    await write(pool, floor_events(now), now)
    await pool.execute("UPDATE calls SET caller = NULL WHERE call_id = 'c1'")
    personal = PersonalData(pool)
    assert await personal.callers([("wall", "c1"), ("wall", "c2"), ("wall", "c404"), ("other", "c2")]) == {
        ("wall", "c1"): None, ("wall", "c2"): ABANDONED_CALLER}
    assert await personal.customers([("wall", "k2")]) == {("wall", "k2"): NUMBER_CUSTOMER}
    assert await personal.callers([]) == {}


def api(url: str, role: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {API_TOKENS[role]}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


async def test_the_api_gives_supervisors_and_admins_whole_numbers_and_customers_and_managers_masked(
        database_url, pool):
    now = datetime.now(UTC)
    await write(pool, floor_events(now), now)
    async with pool.acquire() as conn:
        await outbox.raise_alert(conn, kind="callback_overdue", subject=complaint_subject("wall", "k2"), at=now,
                                 details={"queue": "billing", "agent": "a1", "customer": NUMBER_CUSTOMER,
                                          "due_at": now}, recipients=[])
    async with running_dashboard(database_url, settings_for_test(
            CALLBOARD_TIMEZONE=zone_where_it_is_late_morning())) as base:
        async def live_ready() -> bool:
            live = await asyncio.to_thread(api, base + "/api/v1/live", "admin")
            return bool(live["abandoned_calls"] and live["alerts_open"])

        await wait_for(live_ready, 15, "the live snapshot")
        answers = {role: (await asyncio.to_thread(api, base + "/api/v1/live", role),
                          await asyncio.to_thread(api, base + "/api/v1/complaints", role))
                   for role in ("supervisor", "manager", "admin")}
        wall = await asyncio.to_thread(_status, base + "/api/v1/complaints", "wall")
    for role, (live, complaints) in answers.items():
        expected = WHOLE if role in ("supervisor", "admin") else MASKED
        assert [a["caller"] for a in live["abandoned_calls"]] == expected["callers"], role
        assert [c["customer"] for c in live["complaints_open"]] == expected["customers"], role
        assert [c["customer"] for c in complaints["complaints"]] == expected["customers"], role
        assert [a["customer"] for a in live["alerts_open"]] == expected["customers"][1:], role
    assert wall == 403


def _status(url: str, role: str) -> int:
    try:
        api(url, role)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


async def test_the_floor_view_shows_supervisors_whole_numbers_and_customers_and_managers_masked(
        database_url, pool, chromium):
    browser = chromium
    now = datetime.now(UTC)
    await write(pool, floor_events(now), now)
    shown = {}
    async with running_dashboard(database_url, settings_for_test(
            CALLBOARD_TIMEZONE=zone_where_it_is_late_morning())) as base:
        for role in ("supervisor", "manager"):
            sign_in_browser(browser, role)
            await asyncio.to_thread(browser.get, base + "/?drill=a1&feed=wall&call=c1")
            await wait_for(lambda: _has(browser, ".row.abandon .caller"), 15, "the abandoned call")
            await wait_for(lambda: _has(browser, ".row.callback .customer"), 15, "the callbacks")
            await wait_for(lambda: _has(browser, ".timeline tbody tr"), 15, "c1's timeline")
            shown[role] = {"callers": _texts(browser, ".row.abandon .caller"),
                           "customers": _texts(browser, ".row.callback .customer"),
                           "calls": _texts(browser, ".floor-detail .calls td.caller"),
                           "timeline": _texts(browser, ".floor-detail h2 .caller"),
                           "page": await asyncio.to_thread(lambda: browser.page_source)}
            errors = browser_errors(browser)
            assert errors == [], "\n".join(errors)
    for role, expected in (("supervisor", WHOLE), ("manager", MASKED)):
        assert shown[role]["callers"] == expected["callers"], role
        assert shown[role]["customers"] == expected["customers"], role
        assert shown[role]["calls"] == expected["calls"], role
        assert shown[role]["timeline"] == [f" · Caller {expected['calls'][0]}"], role
    page = shown["manager"]["page"]
    assert not any(value in page for value in [ABANDONED_CALLER, ANSWERED_CALLER, NAMED_CUSTOMER, NUMBER_CUSTOMER])


async def _has(driver, selector: str) -> bool:
    return bool(await asyncio.to_thread(driver.find_elements, By.CSS_SELECTOR, selector))


def _texts(driver, selector: str) -> list[str]:
    return [element.get_attribute("textContent") for element in driver.find_elements(By.CSS_SELECTOR, selector)]


async def test_the_alerts_page_shows_supervisors_a_callbacks_customer_whole_and_managers_masked(
        database_url, pool, chromium):
    browser = chromium
    now = datetime.now(UTC)
    await write(pool, floor_events(now), now)
    async with pool.acquire() as conn:  # raised with the customer masked, as the alert engine stores it
        change = await outbox.raise_alert(conn, kind="callback_overdue", subject=complaint_subject("wall", "k2"),
                                          at=now, details={"queue": "billing", "agent": "a1",
                                                           "customer": "•••• 0011", "due_at": now}, recipients=[])
    shown = {}
    async with running_dashboard(database_url, settings_for_test()) as base:
        for role in ("supervisor", "manager"):
            sign_in_browser(browser, role)
            await asyncio.to_thread(browser.get, f"{base}/alerts?alert={change.alert_id}")
            row = f'tr[data-alert="{change.alert_id}"]'
            places = {"open": f".alerts-open {row}", "chosen": f".floor-detail {row}",
                      "history": f".alerts-history {row}"}
            for selector in places.values():
                await wait_for(lambda selector=selector: _has(browser, selector), 15, selector)
            shown[role] = {place: " ".join(_texts(browser, selector)) for place, selector in places.items()}
            errors = browser_errors(browser)
            assert errors == [], "\n".join(errors)
    for place in ("open", "chosen", "history"):
        assert f"customer {NUMBER_CUSTOMER}" in shown["supervisor"][place], place
        assert "customer •••• 0011" in shown["manager"][place] and NUMBER_CUSTOMER not in shown["manager"][place]
