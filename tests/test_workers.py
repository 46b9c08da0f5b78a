"""Several dashboard processes on one port: each listens for changes itself, so every page gets every
change whichever process serves it."""

from __future__ import annotations

import asyncio
import contextlib

from .conftest import browser_errors, wait_for
from .deployed import another_browser, call_waiting_in, dashboard_processes, wall_shows, wall_text

MOST_BROWSERS = 12  # which process accepts a connection is the kernel's choice: open pages until both have some


async def test_a_change_reaches_pages_served_by_two_different_worker_processes(database_url, pool, browser):
    with dashboard_processes(database_url, workers=2) as dashboard, contextlib.ExitStack() as more:
        await dashboard.started(workers=2)
        drivers = [browser]
        await asyncio.to_thread(browser.get, dashboard.url + "/wall")
        await wall_shows(browser, "All queues")

        async def each_page_has_its_websocket_alone() -> bool:
            # Idle keep-alive connections close after 5 s; then each browser holds its websocket only.
            return sum((await asyncio.to_thread(dashboard.pages_served)).values()) == len(drivers)

        while True:
            await wait_for(each_page_has_its_websocket_alone, 20, "one connection per open browser")
            served = dashboard.pages_served()
            if all(served.values()) or len(drivers) == MOST_BROWSERS:
                break
            driver = more.enter_context(another_browser())
            drivers.append(driver)
            await asyncio.to_thread(driver.get, dashboard.url + "/wall")
            await wall_shows(driver, "All queues")
        assert len(served) == 2 and all(served.values()), f"pages per worker process: {served}"

        await call_waiting_in(pool, "Returns")
        for driver in drivers:
            await wall_shows(driver, "Returns")
        for driver in drivers:
            errors = browser_errors(driver)
            assert errors == [], "\n".join(errors)


async def test_an_open_wall_picks_up_changes_again_after_the_dashboard_restarts(database_url, pool, browser):
    with dashboard_processes(database_url, workers=2) as dashboard:
        await dashboard.started(workers=2)
        port = dashboard.port
        await asyncio.to_thread(browser.get, dashboard.url + "/wall")
        await wall_shows(browser, "All queues")
        await call_waiting_in(pool, "Returns")
        await wall_shows(browser, "Returns")
    # Stopped (SIGTERM, exit 0, as systemctl restart does), then started again on the same port.
    with dashboard_processes(database_url, workers=2, port=port) as restarted:
        await restarted.started(workers=2)
        await call_waiting_in(pool, "Refunds")
        await wall_shows(browser, "Refunds", seconds=30)  # the page's first retry waits about 1-2 s
        assert "Returns" in wall_text(browser)
    errors = browser_errors(browser)
    assert errors == [], "\n".join(errors)
