"""The Alerts page in headless Chromium, the acknowledge link over real HTTP, the alerts in the JSON
API, and an alert's state beside its callback on the wall and the floor; all on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from selenium.webdriver.common.by import By

from alerts import links, outbox
from alerts.messages import CHANGES
from alerts.rota import Recipient
from callboard.metrics import Thresholds
from dashboard.alert_data import AlertData, HistoryFilter, PeopleNames
from dashboard.alert_widgets import action_message
from dashboard.data import LiveData
from dashboard.hub import SnapshotHub
from dashboard.labels import text

from .conftest import browser_errors, timeout, wait_for
from .live_stack import running_dashboard, session_cookie, settings_for_test
from .test_api import get
from .test_wall import write

CUSTOMER = "+86 138 0013 8000"
LI_HOOK = Recipient("li-wei", "hook", None, "zh-Hans")
SAM_MAIL = Recipient("sam", "mail", "sam@example.com", None)
SECRET = "link-secret"
FORM = "application/x-www-form-urlencoded"
CHANNELS = """
[alerts.channels.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "hook-secret"
"""
ROTA = """
[people.li-wei]
name = "Li Wei"
language = "zh-Hans"
contacts = [{ channel = "hook" }]

[[shifts]]
person = "li-wei"
level = "lead"
start = "00:00"
end = "24:00"
"""


def with_rota(tmp_path, rota: str = ROTA, **overrides: str):
    """Settings with a webhook channel "hook" and a rota naming li-wei "Li Wei"."""
    (tmp_path / "callboard.toml").write_text(CHANNELS)
    (tmp_path / "rota.toml").write_text(rota)
    return settings_for_test(CALLBOARD_CONFIG=str(tmp_path / "callboard.toml"),
                             CALLBOARD_ROTA=str(tmp_path / "rota.toml"), **overrides)


async def raise_alert(pool, complaint_id: str = "k1", *, kind: str = "callback_overdue", queue: str = "billing",
                      at: datetime | None = None, recipients=(LI_HOOK,)) -> int:
    async with pool.acquire() as conn:
        change = await outbox.raise_alert(conn, kind=kind, subject=f"wall/{complaint_id}", at=at or datetime.now(UTC),
                                          details={"queue": queue, "agent": "a1", "customer": CUSTOMER,
                                                   "due_at": datetime.now(UTC)}, recipients=recipients)
    return change.alert_id


async def open_complaint(pool, complaint_id: str = "k1") -> None:
    now = datetime.now(UTC)
    await write(pool, [
        {"type": "agent.state", "agent": "a1", "state": "on_call", "name": "Wang Fang", "team": "Blue", "ago": 900},
        {"type": "complaint.opened", "complaint_id": complaint_id, "agent": "a1", "customer": "李娜", "ago": 600,
         "due": (now - timedelta(minutes=5)).isoformat()},
    ], now)


async def stored(pool, alert_id: int) -> dict:
    return dict(await pool.fetchrow("SELECT state, acknowledged_by, resolved_by FROM alerts WHERE id = $1", alert_id))


def post(url: str, body: bytes, content_type: str, role: str | None = "admin") -> tuple[int, str]:
    """POST as the test user of ``role``'s browser would from our own pages (None: no one signed in)."""
    headers = {"Content-Type": content_type, **(session_cookie(role) if role else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _text(driver, selector: str) -> str:
    try:
        return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, selector))
    except Exception:  # the part was being replaced by a push
        return ""


async def _contains(driver, selector: str, words: str) -> bool:
    return words in await asyncio.to_thread(_text, driver, selector)


async def _click(driver, selector: str) -> None:
    # In the page itself: a push may replace the element between finding and clicking it.
    await asyncio.to_thread(driver.execute_script, "document.querySelector(arguments[0]).click()", selector)


# --- Acknowledging and resolving, whoever clicks first ---------------------------------------------

async def test_acknowledging_twice_changes_the_alert_once_and_tells_everyone_notified(pool):
    alert_id = await raise_alert(pool, recipients=(LI_HOOK, SAM_MAIL))
    data = AlertData(pool, UTC)
    first, second = await asyncio.gather(data.act(alert_id, "acknowledge", "Mo"),
                                         data.act(alert_id, "acknowledge", "Ann"))
    assert sorted([first.changed, second.changed]) == [False, True]
    winner = "Mo" if first.changed else "Ann"
    assert await stored(pool, alert_id) == {"state": "acknowledged", "acknowledged_by": winner, "resolved_by": None}
    changes = await pool.fetch("SELECT e.change, n.recipient, n.channel FROM alert_events e "
                               "LEFT JOIN notifications n ON n.alert_event_id = e.id ORDER BY e.id, n.recipient")
    assert [tuple(r) for r in changes] == [("raised", "li-wei", "hook"), ("raised", "sam", "mail"),
                                           ("acknowledged", "li-wei", "hook"), ("acknowledged", "sam", "mail")]
    resolved = await data.act(alert_id, "resolve", "Mo")
    again = await data.act(alert_id, "resolve", "Ann")
    assert (resolved.changed, again.changed) == (True, False)
    assert again.alert["resolved_by"] == "Mo" and again.alert["state"] == "resolved"
    assert not (await data.act(alert_id + 1000, "acknowledge", "Mo")).alert


async def test_a_click_without_a_name_is_refused_and_changes_nothing(pool):
    alert_id = await raise_alert(pool)
    data = AlertData(pool, UTC)
    message, kind, done = await action_message(data, "acknowledge", alert_id, "   ", "en", 0)
    assert "Type your name" in message and "refused" in kind and done == 0
    assert (await stored(pool, alert_id))["state"] == "open"
    message, _, done = await action_message(data, "acknowledge", alert_id, " Mo ", "zh-Hans", 0)
    assert message == f"告警 {alert_id} 已由Mo确认。" and done == 1
    message, _, _ = await action_message(data, "acknowledge", alert_id, "Ann", "en", 1)
    assert message == f"Alert {alert_id} was already acknowledged; nothing changed."


async def test_the_history_filters_by_state_kind_queue_and_dates_newest_first_and_counts_the_rest(pool):
    now = datetime.now(UTC)
    ids = [await raise_alert(pool, f"k{n}", kind=("callback_overdue", "callback_due_soon")[n % 2],
                             queue=("billing", "sales")[n % 3 == 0], at=now - timedelta(hours=n)) for n in range(7)]
    data = AlertData(pool, UTC)
    await data.act(ids[1], "resolve", "Mo")
    day = HistoryFilter(start=now - timedelta(days=1), end=now + timedelta(seconds=1))
    everything = await data.history(day)
    assert [a["id"] for a in everything["alerts"]] == ids and everything["matching"] == 7  # newest first
    page = await data.history(HistoryFilter(day.start, day.end, limit=3, offset=3))
    assert [a["id"] for a in page["alerts"]] == ids[3:6] and page["matching"] == 7
    # k0, k3, k6 are about sales (n % 3 == 0); of them the due-soon kind: k3
    sales = await data.history(HistoryFilter(day.start, day.end, queue="sales", kind="callback_due_soon"))
    assert [a["id"] for a in sales["alerts"]] == [ids[3]]
    resolved = await data.history(HistoryFilter(day.start, day.end, state="resolved"))
    assert [a["id"] for a in resolved["alerts"]] == [ids[1]] and resolved["alerts"][0]["resolved_by"] == "Mo"
    earlier = await data.history(HistoryFilter(now - timedelta(hours=4, minutes=30),
                                               now - timedelta(hours=1, minutes=30)))
    assert [a["id"] for a in earlier["alerts"]] == ids[2:5]  # raised 2, 3 and 4 hours ago
    # the customer is only ever shown masked
    assert everything["alerts"][0]["customer"] == "•••• 8000" and CUSTOMER not in json.dumps(everything)


# --- The page in the browser -------------------------------------------------------------------------

async def test_a_supervisor_acknowledges_and_resolves_from_the_alerts_page_and_sees_who_and_when(
        database_url, pool, browser):
    await open_complaint(pool)
    other = await raise_alert(pool, "k2", kind="callback_due_soon")
    alert_id = await raise_alert(pool)
    row = f'.alerts-open tr[data-alert="{alert_id}"]'
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, f"{base_url}/alerts?alert={alert_id}")
        await asyncio.to_thread(browser.execute_script, "window.localStorage.clear()")  # no name kept from before
        await asyncio.to_thread(browser.get, f"{base_url}/alerts?alert={alert_id}")
        await wait_for(lambda: _contains(browser, row, "Callback overdue"), 15, "the open alert")
        assert "selected" in browser.find_element(By.CSS_SELECTOR, row).get_attribute("class")
        assert "selected" not in browser.find_element(
            By.CSS_SELECTOR, f'.alerts-open tr[data-alert="{other}"]').get_attribute("class")
        shown = await asyncio.to_thread(_text, browser, row)
        # the admin sees the complaint's customer whole (tests/test_personal_data_by_role.py: each role)
        assert "billing · a1 · customer 李娜" in shown and "open" in shown
        assert "li-wei · hook (raised) not sent yet: attempt 0" in shown  # nobody sends in this test
        ages: set[str] = set()

        async def ticks() -> bool:  # since it was raised, minutes ago at most, and moving on
            age = await asyncio.to_thread(_text, browser, f"{row} .timer")
            if re.fullmatch(r"[0-4]:\d\d", age):
                ages.add(age)
            return len(ages) > 1

        await wait_for(ticks, 10, "the alert's age ticking")
        await wait_for(lambda: _contains(browser, f'.alerts-history tr[data-alert="{alert_id}"]', "open"), 10,
                       "the history")
        assert "showing 2 of 2" in _text(browser, ".alerts-history")

        # no name yet: refused, with a clear message; nothing changes
        await _click(browser, f"{row} button.acknowledge")
        await wait_for(lambda: _contains(browser, ".alerts-message.refused", "Type your name"), 10, "the refusal")
        assert (await stored(pool, alert_id))["state"] == "open"

        await asyncio.to_thread(browser.find_element(By.ID, "alerts-name").send_keys, "Mo")
        await _click(browser, f"{row} button.acknowledge")
        await wait_for(lambda: _contains(browser, ".alerts-message.done", f"Alert {alert_id} acknowledged by Mo."), 10,
                       "the acknowledgement")
        await wait_for(lambda: _contains(browser, f"{row} .handled", "acknowledged: Mo"), 10, "who acknowledged")
        now = datetime.now(UTC)
        assert f"acknowledged: Mo {now:%H:%M}" in _text(browser, f"{row} .handled") or \
            f"acknowledged: Mo {now - timedelta(minutes=1):%H:%M}" in _text(browser, f"{row} .handled")
        assert "li-wei · hook (acknowledged)" in _text(browser, row)  # those alerted hear of it
        assert await stored(pool, alert_id) == {"state": "acknowledged", "acknowledged_by": "Mo", "resolved_by": None}

        await _click(browser, f"{row} button.resolve")
        await wait_for(lambda: _contains(browser, ".alerts-message.done", f"Alert {alert_id} resolved by Mo."), 10,
                       "the resolution")
        await wait_for(lambda: _has(browser, row, present=False), 10, "the alert to leave the open ones")
        # the alert named in the address is still shown at the top, resolved, with who and when
        await wait_for(lambda: _contains(browser, f'.floor-detail tr[data-alert="{alert_id}"]', "resolved: Mo"), 20,
                       "the chosen alert, resolved")
        assert await stored(pool, alert_id) == {"state": "resolved", "acknowledged_by": "Mo", "resolved_by": "Mo"}

        # the name is kept in this browser; the page in Chinese
        await asyncio.to_thread(browser.get, f"{base_url}/alerts?lang=zh-Hans")
        await wait_for(lambda: _contains(browser, f'.alerts-open tr[data-alert="{other}"]', "回电即将到期"), 15,
                       "the page in Chinese")
        assert browser.find_element(By.ID, "alerts-name").get_attribute("value") == "Mo"
        page = await asyncio.to_thread(lambda: browser.page_source)
        assert CUSTOMER not in page and "0013 8000" not in page
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def test_the_history_on_the_page_filters_by_queue_and_says_how_many_match(database_url, pool, browser):
    for n, queue in enumerate(("billing", "sales", "billing")):
        await raise_alert(pool, f"k{n}", queue=queue, at=datetime.now(UTC) - timedelta(minutes=n))
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        await asyncio.to_thread(browser.get, f"{base_url}/alerts")
        await wait_for(lambda: _contains(browser, ".alerts-history", "showing 3 of 3"), 15, "the whole history")
        queue = browser.find_element(By.CSS_SELECTOR, ".alerts-filters input[placeholder='Any queue']")
        await asyncio.to_thread(queue.send_keys, "sales\n")
        await wait_for(lambda: _contains(browser, ".alerts-history", "showing 1 of 1"), 10, "the sales alert alone")
        assert "sales" in _text(browser, ".alerts-history tbody") and "billing" not in _text(
            browser, ".alerts-history tbody")
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def _has(driver, selector: str, present: bool = True) -> bool:
    return bool(await asyncio.to_thread(driver.find_elements, By.CSS_SELECTOR, selector)) == present


async def test_the_wall_and_the_floor_show_an_alerts_state_beside_its_callback(database_url, pool, browser, tmp_path):
    await open_complaint(pool)
    alert_id = await raise_alert(pool)
    raised = datetime.now(UTC)
    beside = '.row.callback[data-complaint="k1"] .alert-state'
    async with running_dashboard(database_url, with_rota(tmp_path)) as base_url:
        await asyncio.to_thread(browser.get, f"{base_url}/wall")
        await wait_for(lambda: _contains(browser, beside, "alerted "), 15, "the alert beside the callback")
        # by the name the rota gives li-wei
        assert _text(browser, beside) in (f"alerted {raised:%H:%M} to Li Wei",
                                          f"alerted {raised - timedelta(minutes=1):%H:%M} to Li Wei")
        # acknowledged elsewhere: the open wall shows it without being reloaded
        await AlertData(pool, UTC).act(alert_id, "acknowledge", "Mo")
        await wait_for(lambda: _contains(browser, beside, "acknowledged by Mo "), 10, "the acknowledgement on the wall")

        await asyncio.to_thread(browser.get, f"{base_url}/?lang=zh-Hans")
        await wait_for(lambda: _contains(browser, f".floor-lists {beside}", "Mo "), 15, "the floor")
        assert _text(browser, f".floor-lists {beside}").endswith("已确认")
        await AlertData(pool, UTC).act(alert_id, "resolve", "Mo")
        await wait_for(lambda: _has(browser, f".floor-lists {beside}", present=False), 10, "the resolved alert to go")
        assert _text(browser, '.floor-lists .row.callback[data-complaint="k1"]')  # the callback itself stays
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


# --- The acknowledge link, over HTTP ----------------------------------------------------------------

async def test_the_acknowledge_link_asks_first_acknowledges_as_the_person_alerted_and_refuses_bad_links(
        database_url, pool, tmp_path):
    alert_id = await raise_alert(pool)
    notification = await pool.fetchval("SELECT id FROM notifications ORDER BY id LIMIT 1")
    valid = links.ack_token(SECRET, notification, datetime.now(UTC) + timedelta(hours=1))
    expired = links.ack_token(SECRET, notification, datetime.now(UTC) - timedelta(seconds=1))
    forged = links.ack_token("another secret", notification, datetime.now(UTC) + timedelta(hours=1))
    settings = with_rota(tmp_path, CALLBOARD_ALERT_LINK_SECRET=SECRET)
    async with running_dashboard(database_url, settings) as base_url:
        def ack_url(token: str) -> str:
            return f"{base_url}/alerts/ack?{urlencode({'token': token})}"

        # opening the link (as a mail scanner would) changes nothing; the page asks, in the recipient's language
        status, page = await asyncio.to_thread(fetch, ack_url(valid))
        assert status == 200 and 'method="post"' in page and "以 Li Wei 的身份确认此告警" in page
        assert "回电已逾期 · billing · a1 · 客户 •••• 8000" in page and CUSTOMER not in page
        assert f"/alerts?alert={alert_id}" in page
        assert (await stored(pool, alert_id))["state"] == "open"

        form = urlencode({"token": valid}).encode()
        status, page = await asyncio.to_thread(post, f"{base_url}/alerts/ack", form, FORM, None)
        assert status == 200 and "已以 Li Wei 的身份于" in page
        assert await stored(pool, alert_id) == {"state": "acknowledged", "acknowledged_by": "Li Wei",
                                                "resolved_by": None}
        # the link again, or its button twice: says who acknowledged and when
        for answer in (await asyncio.to_thread(fetch, ack_url(valid)),
                       await asyncio.to_thread(post, f"{base_url}/alerts/ack", form,
                                               FORM, None)):
            assert answer[0] == 200 and "已由Li Wei于" in answer[1] and 'method="post"' not in answer[1]
        await AlertData(pool, UTC).act(alert_id, "resolve", "Mo")
        status, page = await asyncio.to_thread(fetch, ack_url(valid))
        assert "已由Mo于" in page and "解决" in page

        for token, reason in ((expired, "has expired"), (forged, "is not one Callboard signed"),
                              ("12.34", "is incomplete")):
            status, page = await asyncio.to_thread(fetch, ack_url(token))
            assert status == 400 and reason in page and 'href="/alerts?lang=en"' in page, page
            status, page = await asyncio.to_thread(post, f"{base_url}/alerts/ack", urlencode({"token": token}).encode(),
                                                   FORM, None)
            assert status == 400 and reason in page
    assert await pool.fetchval("SELECT count(*) FROM alert_events WHERE change = 'acknowledged'") == 1


async def test_without_a_link_secret_acknowledge_links_are_refused(database_url, pool):
    await raise_alert(pool)
    token = links.ack_token(SECRET, 1, datetime.now(UTC) + timedelta(hours=1))
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, page = await asyncio.to_thread(fetch, f"{base_url}/alerts/ack?{urlencode({'token': token})}")
    assert status == 404 and "not enabled" in page


# --- The JSON API -----------------------------------------------------------------------------------

async def test_the_api_lists_open_alerts_and_the_history_and_acknowledges_and_resolves(database_url, pool):
    first = await raise_alert(pool, "k1", at=datetime.now(UTC) - timedelta(minutes=10))
    second = await raise_alert(pool, "k2", kind="hold_too_long", queue="sales")
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, listed = await asyncio.to_thread(get, f"{base_url}/api/v1/alerts")
        assert status == 200 and [a["id"] for a in listed["alerts"]] == [first, second] and listed["matching"] == 2
        notification = listed["alerts"][0]["notifications"][0]
        assert (notification["recipient"], notification["channel"], notification["status"]) == ("li-wei", "hook",
                                                                                                  "waiting")
        body = json.dumps({"by": "Mo"}).encode()
        url = f"{base_url}/api/v1/alerts/{first}/acknowledge"
        status, answer = await asyncio.to_thread(post, url, body, "application/json")
        assert status == 200 and json.loads(answer)["changed"] is True
        assert json.loads(answer)["alert"]["acknowledged_by"] == "Mo"
        status, answer = await asyncio.to_thread(post, url, body, "application/json")
        assert status == 200 and json.loads(answer)["changed"] is False
        status, answer = await asyncio.to_thread(post, f"{base_url}/api/v1/alerts/{second}/resolve", body,
                                                 "application/json")
        assert status == 200 and json.loads(answer)["alert"]["state"] == "resolved"
        status, listed = await asyncio.to_thread(get, f"{base_url}/api/v1/alerts")
        assert [(a["id"], a["state"]) for a in listed["alerts"]] == [(first, "acknowledged")]
        status, history = await asyncio.to_thread(get, f"{base_url}/api/v1/alerts?state=all&queue=sales")
        assert [(a["id"], a["state"], a["resolved_by"]) for a in history["alerts"]] == [(second, "resolved", "Mo")]
        status, history = await asyncio.to_thread(get, f"{base_url}/api/v1/alerts?state=all&limit=1")
        assert [a["id"] for a in history["alerts"]] == [second] and history["matching"] == 2

        for path, body, parameter in ((f"{first + 99}/acknowledge", {"by": "Mo"}, "alert_id"),
                                      (f"{first}/resolve", {"by": "  "}, "by"),
                                      (f"{first}/resolve", {}, "by")):
            status, answer = await asyncio.to_thread(post, f"{base_url}/api/v1/alerts/{path}",
                                                     json.dumps(body).encode(), "application/json")
            assert status in (400, 404) and json.loads(answer)["parameter"] == parameter, answer
        for query, parameter in (("state=closed", "state"), ("queue=sales", "queue"), ("state=all&limit=0", "limit")):
            status, answer = await asyncio.to_thread(get, f"{base_url}/api/v1/alerts?{query}")
            assert status == 400 and answer["parameter"] == parameter

        async def live_shows_only_the_first() -> bool:  # once the hub has taken the resolution in
            _, live = await asyncio.to_thread(get, f"{base_url}/api/v1/live")
            return [a["id"] for a in live["alerts_open"]] == [first]

        await wait_for(live_shows_only_the_first, 10, "/api/v1/live without the resolved alert")


async def test_the_hub_shows_an_alerts_change_at_once_without_waiting_for_its_heartbeat(database_url, pool):
    live = LiveData(pool, Thresholds(), UTC, stale_after_s=30)
    hub = SnapshotHub(live, database_url, min_interval_s=0.01, heartbeat_s=timeout(60))
    running = asyncio.create_task(hub.run())
    try:
        await wait_for(lambda: _snapshot_taken(hub), 10, "the first snapshot")
        version = hub.version
        alert_id = await raise_alert(pool)
        # far sooner than the heartbeat: the NOTIFY on callboard_alerts woke the hub
        _, snapshot = await asyncio.wait_for(hub.wait_newer(version), timeout(10))
        assert [(a["id"], a["state"]) for a in snapshot["alerts_open"]] == [(alert_id, "open")]
        await AlertData(pool, UTC).act(alert_id, "acknowledge", "Mo")
        _, snapshot = await asyncio.wait_for(hub.wait_newer(hub.version), timeout(10))
        assert snapshot["alerts_open"][0]["acknowledged_by"] == "Mo"
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def _snapshot_taken(hub: SnapshotHub) -> bool:
    return hub.snapshot is not None


def test_people_are_named_as_the_rota_names_them_and_by_their_key_when_it_cannot_say(tmp_path):
    people = PeopleNames(with_rota(tmp_path))
    assert people.names() == {"li-wei": "Li Wei"}
    (tmp_path / "rota.toml").write_text(ROTA.replace('name = "Li Wei"', 'name = "Wei Li"') + "\n")
    assert people.names() == {"li-wei": "Wei Li"}  # the file changed: read again
    (tmp_path / "rota.toml").write_text("people = [")
    assert people.names() == {}  # unreadable: keys are shown (and a warning logged)
    assert PeopleNames(settings_for_test()).names() == {}  # no rota


def test_every_change_an_alert_can_make_has_its_words_on_the_page():
    assert all(text(f"notification_change_{change}", language) for change in CHANGES for language in ("en", "zh-Hans"))
