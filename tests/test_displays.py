"""Wall screens signed in by their display URL: the wall and nothing else, until revoked; then no
more pushes, and a notice saying to sign in again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from selenium.webdriver.common.by import By

from access.accounts import Accounts
from dashboard.auth import SESSION_COOKIE

from .conftest import browser_errors, sign_in_browser, wait_for
from .http import http
from .live_stack import running_dashboard, settings_for_test
from .test_wall import shown, text_of, write


def waiting(driver) -> str:
    return text_of(driver, '.tile[data-queue="all"] [data-figure="waiting"] .value')


async def test_a_display_url_signs_a_screen_in_to_the_wall_only_until_revoked(database_url, pool, browser):
    sign_in_browser(browser, None)
    token = await Accounts(pool).add_display("lobby")
    now = datetime.now(UTC)
    await write(pool, [{"type": "call.queued", "call_id": "c1", "queue": "billing", "caller": "+86 138 0000 0001",
                        "ago": 30}], now)
    async with running_dashboard(database_url, settings_for_test()) as base:
        await asyncio.to_thread(browser.get, f"{base}/display?key={token}")
        assert browser.current_url == f"{base}/wall"  # the key is gone from the address bar
        await wait_for(lambda: asyncio.to_thread(lambda: waiting(browser) == "1"), 15, "one caller waiting")
        await asyncio.to_thread(browser.get, f"{base}/")
        assert "Not for your role" in browser.page_source and "lobby (wall)" in browser.page_source
        cookie = {c["name"]: c["value"] for c in browser.get_cookies()}[SESSION_COOKIE]
        assert (await asyncio.to_thread(http, f"{base}/api/v1/live", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
                ).status == 403

        await asyncio.to_thread(browser.get, f"{base}/wall")
        await wait_for(lambda: asyncio.to_thread(lambda: waiting(browser) == "1"), 15, "the wall again")
        await Accounts(pool).revoke_display("lobby")
        await write(pool, [{"type": "call.queued", "call_id": "c2", "queue": "billing",
                            "caller": "+86 138 0000 0002", "ago": 1}], datetime.now(UTC))
        await wait_for(lambda: shown(browser, "#signed-out p"), 15, "the sign-in notice")
        assert "no longer signed in" in text_of(browser, "#signed-out")
        assert waiting(browser) == "1"  # the second caller was never pushed to the revoked screen
        assert (await asyncio.to_thread(http, f"{base}/wall", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
                ).status == 303
        unusable = await asyncio.to_thread(http, f"{base}/display?key={token}")
        assert unusable.status == 403 and "not valid" in unusable.body
    errors = [e for e in browser_errors(browser) if "403" not in e]  # the refused page itself is logged
    assert errors == [], "\n".join(errors)
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["display_added", "display_signed_in", "display_revoked"]


async def test_the_sign_out_button_is_for_people_not_display_screens(database_url, pool, browser):
    sign_in_browser(browser, None)
    token = await Accounts(pool).add_display("lobby")
    async with running_dashboard(database_url, settings_for_test()) as base:
        await asyncio.to_thread(browser.get, f"{base}/display?key={token}")
        await wait_for(lambda: shown(browser, ".wall"), 15, "the wall")
        assert browser.find_elements(By.CSS_SELECTOR, "#sign-out") == []


async def test_a_display_url_may_open_a_chosen_wall_view_but_no_other_page(database_url, pool):
    token = await Accounts(pool).add_display("lobby")
    async with running_dashboard(database_url, settings_for_test()) as base:
        chosen = await asyncio.to_thread(http, f"{base}/display?key={token}&next=%2Fwall%3Fqueue%3Dbilling")
        assert chosen.status == 303 and chosen.headers["Location"] == "/wall?queue=billing"
        for elsewhere in ("%2Ftrends", "https%3A%2F%2Fevil.example%2Fwall", "%2F%2Fevil.example"):
            answer = await asyncio.to_thread(http, f"{base}/display?key={token}&next={elsewhere}")
            assert answer.status == 303 and answer.headers["Location"] == "/wall", elsewhere
