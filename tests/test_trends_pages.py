"""The managers' pages in headless Chromium: the trends page's date picker, presets and filters kept
in its address, its charts plotting exactly the JSON API's figures, its downloads; the agents page's
ranking, scorecard and print view. The downloads over HTTP read back the same figures as the API."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import math
import re
import time
import urllib.request
from datetime import UTC, datetime
from urllib.parse import quote

from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dashboard import periods
from dashboard.export import TREND_FIGURES

from .conftest import browser_errors, timeout, wait_for
from .live_stack import running_dashboard, settings_for_test, signed_in
from .scenario import store
from .test_agent_scorecards import WINDOW as AGENTS_WINDOW
from .test_agent_scorecards import two_days
from .test_api import get
from .test_trends import SHIFTS, the_hour

SETTINGS = {"CALLBOARD_SHIFTS": ";".join(shift.text() for shift in SHIFTS)}


def fetch(url: str) -> tuple[str, str, bytes]:
    with urllib.request.urlopen(signed_in(url), timeout=10) as response:
        return response.headers["Content-Type"], response.headers["Content-Disposition"], response.read()


def api_query(page_query: dict) -> str:
    """The JSON API's query for what a page's address asks for."""
    choice = periods.from_query(page_query, [s.name for s in SHIFTS])
    start, end = periods.window(choice, datetime.now(UTC), UTC)
    params = f"from={quote(start.isoformat())}&to={quote(end.isoformat())}"
    for key, value in (("queue", ",".join(choice.queues)), ("team", choice.team), ("shift", choice.shift)):
        if value:
            params += f"&{key}={quote(value)}"
    return params + f"&bucket={choice.bucket}"


def sheet_rows(book: bytes) -> list[list]:
    """The rows of a workbook's sheet, each as long as the header (a reader leaves off empty cells at the end)."""
    header, *rows = [list(row) for row in load_workbook(io.BytesIO(book), read_only=True).active.iter_rows(
        values_only=True)]
    return [header] + [row + [None] * (len(header) - len(row)) for row in rows]


def same_figures(rows: list[list], expected: list[list]) -> bool:
    """Equal, numbers to the 15 significant digits a spreadsheet keeps."""
    def same(a, b) -> bool:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            return math.isclose(a, b, rel_tol=1e-14)
        return a == b
    return len(rows) == len(expected) and all(
        len(r) == len(e) and all(same(a, b) for a, b in zip(r, e, strict=True))
        for r, e in zip(rows, expected, strict=True))


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def as_csv_text(value) -> str:
    return "" if value is None else str(value)


async def test_the_downloads_are_the_apis_figures_in_csv_and_xlsx(database_url, pool):
    await store(pool, the_hour())
    page_query = "range=custom&from=2026-11-23&to=2026-11-23&bucket=15m&queue=billing"
    async with running_dashboard(database_url, settings_for_test(**SETTINGS)) as base:
        query = api_query({"range": "custom", "from": "2026-11-23", "to": "2026-11-23", "bucket": "15m",
                           "queue": "billing"})
        _, trends = await asyncio.to_thread(get, f"{base}/api/v1/trends?{query}")
        _, cells = await asyncio.to_thread(get, f"{base}/api/v1/trends/weekday-hours?{query}")
        kind, disposition, body = await asyncio.to_thread(fetch, f"{base}/export/trends/buckets.csv?{page_query}")
        _, _, book = await asyncio.to_thread(fetch, f"{base}/export/trends/weekday_hours.xlsx?{page_query}")
        _, _, periods_csv = await asyncio.to_thread(fetch, f"{base}/export/trends/periods.csv?{page_query}")
        agents_query = "range=custom&from=2026-11-22&to=2026-11-23"
        _, scorecards = await asyncio.to_thread(get, f"{base}/api/v1/agents/days?{AGENTS_WINDOW}")
        _, agents_disposition, agents_book = await asyncio.to_thread(
            fetch, f"{base}/export/agents/scorecards.xlsx?{agents_query}")
    assert kind.startswith("text/csv")
    assert 'filename="callboard-trends-buckets-2026-11-23_2026-11-23.csv"' in disposition
    rows = csv_rows(body)
    assert len(rows) == 96 and sum(int(row["offered"]) for row in rows) == 4  # c0, c1, c2, c5: billing
    for row, bucket in zip(rows, trends["buckets"], strict=True):
        assert row == {key: as_csv_text(bucket[key]) for key in row}
    this, previous = csv_rows(periods_csv)
    assert this == {key: as_csv_text(value) for key, value in {"period": "this", **trends["totals"],
                                                                  "from": trends["from"], "to": trends["to"]}.items()}
    assert previous["from"] == trends["previous"]["from"] and previous["offered"] == "0"

    header, *cell_rows = sheet_rows(book)
    assert header == ["weekday", "hour", *TREND_FIGURES]
    assert same_figures(cell_rows, [[cell[key] for key in header] for cell in cells["cells"]]) and len(cell_rows) == 24

    assert 'filename="callboard-agents-scorecards-2026-11-22_2026-11-23.xlsx"' in agents_disposition
    header, *agent_rows = sheet_rows(agents_book)
    assert same_figures(agent_rows, [[agent[key] for key in header] for agent in scorecards["agents"]])
    assert [row[0] for row in agent_rows] == ["a1", "a2"]


# --- In the browser ---------------------------------------------------------------------------

def _script(driver, script: str, *args):
    return driver.execute_script(script, *args)


PLOTTED = "var g = document.querySelector('[data-chart=' + arguments[0] + '] .js-plotly-plot'); " \
          "return g && g.data ? JSON.parse(JSON.stringify(g.data)) : null;"


async def plotted(driver, chart: str) -> list[dict] | None:
    return await asyncio.to_thread(_script, driver, PLOTTED, chart)


async def url_has(driver, *fragments: str) -> bool:
    url = await asyncio.to_thread(lambda: driver.current_url)
    return all(fragment in url for fragment in fragments)


async def choose(driver, dropdown_id: str, option: str) -> None:
    """Open a dropdown and click one of its options by its text, then close it."""
    def click() -> None:
        driver.find_element(By.ID, dropdown_id).click()
        deadline = time.monotonic() + timeout(5)
        while time.monotonic() < deadline:
            for element in driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"):
                if element.text.strip() == option:
                    element.click()
                    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
                    return
            time.sleep(0.05)
        raise AssertionError(f"no option {option!r} in {dropdown_id}")
    await asyncio.to_thread(click)


async def type_day(driver, input_id: str, day: str) -> None:
    def type_() -> None:
        field = driver.find_element(By.ID, input_id)
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(day, Keys.TAB)  # Tab takes the day typed (and moves into the calendar)
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # which closes
    await asyncio.to_thread(type_)


async def charts_match_the_api(driver, base: str, query: str) -> bool:
    """Every bucket chart and the heat map plot exactly the API's answer for the same query."""
    _, trends = await asyncio.to_thread(get, f"{base}/api/v1/trends?{query}")
    _, cells = await asyncio.to_thread(get, f"{base}/api/v1/trends/weekday-hours?{query}")
    volume, rates = await plotted(driver, "volume"), await plotted(driver, "rates")
    heat, shifts = await plotted(driver, "heatmap"), await plotted(driver, "shifts")
    repeats = await plotted(driver, "repeats")
    if not (volume and rates and heat and shifts and repeats):
        return False
    buckets = trends["buckets"]
    grid = [[None] * 24 for _ in range(7)]
    for cell in cells["cells"]:
        grid[cell["weekday"]][cell["hour"]] = cell["service_level"]
    return ([trace["y"] for trace in volume] == [[b[k] for b in buckets] for k in ("offered", "answered", "abandoned")]
            and [trace["y"] for trace in rates] == [[b[k] for b in buckets] for k in ("on_time_rate", "service_level")]
            and repeats[0]["y"] == [b["repeat_calls"] for b in buckets]
            and heat[0]["z"] == grid
            and shifts[0]["y"] == [s["on_time_rate"] for s in trends["shifts"]])


async def test_a_manager_picks_days_presets_and_filters_and_the_charts_are_the_apis_figures(
        database_url, pool, browser, tmp_path):
    await store(pool, the_hour())
    async with running_dashboard(database_url, settings_for_test(**SETTINGS)) as base:
        await asyncio.to_thread(browser.get, base + "/trends?range=custom&from=2026-11-23&to=2026-11-23&bucket=15m")
        the_day = api_query({"range": "custom", "from": "2026-11-23", "to": "2026-11-23", "bucket": "15m"})
        await wait_for(lambda: charts_match_the_api(browser, base, the_day), 20, "the day's charts")
        volume = await plotted(browser, "volume")
        assert len(volume[0]["x"]) == 96 and sum(volume[0]["y"]) == 6  # c0-c5 on the day, by quarter hour
        tooltip = await asyncio.to_thread(_script, browser, "return document.querySelector("
                                          "'[data-chart=rates] h2').getAttribute('title')")
        assert tooltip == "answered within 15 s / (answered + abandoned − abandoned after less than 5 s)"

        # A preset: yesterday, by hour (the preset's own grouping)
        await choose(browser, "trends-range", "Yesterday")
        await wait_for(lambda: url_has(browser, "range=yesterday"), 10, "the preset in the address")
        assert not await url_has(browser, "bucket=")
        yesterday = api_query({"range": "yesterday"})
        await wait_for(lambda: charts_match_the_api(browser, base, yesterday), 15, "yesterday's charts")
        assert len((await plotted(browser, "volume"))[0]["x"]) == 24

        # Chosen days with the date picker: the 22nd to the 23rd, still by hour
        await type_day(browser, "trends-days", "2026-11-22")
        await type_day(browser, "trends-days-end-date", "2026-11-23")
        await wait_for(lambda: url_has(browser, "range=custom", "from=2026-11-22", "to=2026-11-23", "bucket=1h"), 15,
                       "the chosen days in the address")
        two_days_query = api_query({"range": "custom", "from": "2026-11-22", "to": "2026-11-23", "bucket": "1h"})
        await wait_for(lambda: charts_match_the_api(browser, base, two_days_query), 15, "the two days' charts")

        # Queue, team and shift filters
        await choose(browser, "trends-queues", "billing")
        await choose(browser, "trends-team", "Blue")
        await choose(browser, "trends-shift", "Lunch")
        await wait_for(lambda: url_has(browser, "queue=billing", "team=Blue", "shift=Lunch"), 10,
                       "the filters in the address")
        filtered = api_query({"range": "custom", "from": "2026-11-22", "to": "2026-11-23", "bucket": "1h",
                              "queue": "billing", "team": "Blue", "shift": "Lunch"})
        await wait_for(lambda: charts_match_the_api(browser, base, filtered), 15, "the filtered charts")
        holds = await plotted(browser, "holds")
        assert sum(holds[0]["y"]) == 0 and sum(holds[1]["y"]) == 0  # Blue's only hold began at 09:01, before Lunch

        # The address opens the same view
        address = await asyncio.to_thread(lambda: browser.current_url)
        await asyncio.to_thread(browser.get, address)
        await wait_for(lambda: charts_match_the_api(browser, base, filtered), 15, "the bookmarked view")

        # Download the volume chart's data as CSV: the API's buckets
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        await asyncio.to_thread(browser.execute_cdp_cmd, "Browser.setDownloadBehavior",
                                {"behavior": "allow", "downloadPath": str(downloads)})
        await asyncio.to_thread(lambda: browser.find_element(
            By.CSS_SELECTOR, '[data-chart=volume] a.export[href*=".csv"]').click())

        async def downloaded() -> bool:
            return any(p.suffix == ".csv" for p in downloads.iterdir())
        await wait_for(downloaded, 10, "the CSV download")
        file = next(p for p in downloads.iterdir() if p.suffix == ".csv")
        assert file.name == "callboard-trends-buckets-2026-11-22_2026-11-23.csv"
        _, trends = await asyncio.to_thread(get, f"{base}/api/v1/trends?{filtered}")
        assert csv_rows(file.read_bytes()) == [{key: as_csv_text(b[key]) for key in ("start", "end", *TREND_FIGURES)}
                                               for b in trends["buckets"]]
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


async def _text(driver, selector: str) -> str:
    def read() -> str:
        try:
            return " ".join(e.get_attribute("textContent") for e in driver.find_elements(By.CSS_SELECTOR, selector))
        except Exception:  # the part was being replaced
            return ""
    return await asyncio.to_thread(read)


async def test_the_agents_page_ranks_with_the_change_and_prints_one_agents_scorecard(database_url, pool, browser):
    await store(pool, two_days())
    async with running_dashboard(database_url, settings_for_test()) as base:
        await asyncio.to_thread(browser.get, base + "/agents?range=custom&from=2026-11-22&to=2026-11-23")

        async def ranked() -> list[str]:
            return await asyncio.to_thread(lambda: [
                row.get_attribute("data-agent") for row in browser.find_elements(By.CSS_SELECTOR, ".ranking tbody tr")])

        async def ranking_shown() -> bool:
            return await ranked() == ["a3", "a1", "a2"]
        await wait_for(ranking_shown, 20, "the ranking")
        # a3 is new (nothing the period before), a1 kept 2nd place, a2 fell from 1st to 3rd
        assert (await _text(browser, '.ranking tr[data-agent="a3"] .change')) == "new"
        assert (await _text(browser, '.ranking tr[data-agent="a1"] .change')) == "="
        assert (await _text(browser, '.ranking tr[data-agent="a2"] .change')) == "▼ 2"
        bars = await asyncio.to_thread(lambda: [
            (bar.get_attribute("data-day"), bar.get_attribute("data-score")) for bar in
            browser.find_elements(By.CSS_SELECTOR, '.ranking tr[data-agent="a1"] .sparkline .bar')])
        assert bars == [("2026-11-22", "100"), ("2026-11-23", "50")]

        # One agent's scorecard, through its link; the address names the agent
        await asyncio.to_thread(lambda: browser.find_element(
            By.CSS_SELECTOR, '.ranking tr[data-agent="a1"] td.name a').click())

        async def scorecard_shown() -> bool:
            return "Ann" in await _text(browser, ".scorecard h2")
        await wait_for(scorecard_shown, 15, "a1's scorecard")
        assert await url_has(browser, "agent=a1", "range=custom")
        assert (await _text(browser, ".scorecard .figure.score .value")) == "75"
        assert (await _text(browser, ".scorecard .figure.on_time_rate .value")) == "100%"

        # Printed: one page with the scorecard and without the controls
        await asyncio.to_thread(browser.execute_cdp_cmd, "Emulation.setEmulatedMedia", {"media": "print"})
        try:
            shown = await asyncio.to_thread(_script, browser, """
                var visible = function (s) {
                    var e = document.querySelector(s); return !!e && e.offsetParent !== null; };
                return [visible('.managers-filters'), visible('.managers-head nav'),
                        visible('.scorecard .figures')];""")
            assert shown == [False, False, True]
            pdf = await asyncio.to_thread(browser.execute_cdp_cmd, "Page.printToPDF",
                                          {"preferCSSPageSize": True, "printBackground": True})
        finally:
            await asyncio.to_thread(browser.execute_cdp_cmd, "Emulation.setEmulatedMedia", {"media": ""})
        assert pages(pdf["data"]) == 1
        errors = browser_errors(browser)
        assert errors == [], "\n".join(errors)


def pages(pdf_base64: str) -> int:
    """The pages of a PDF (its page objects)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", base64.b64decode(pdf_base64)))
