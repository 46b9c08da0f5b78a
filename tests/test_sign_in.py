"""Sign-in over real HTTP and in Chromium: who may reach which page and API route, the session
cookie, rotation, sign-out, rate limiting, CSRF and same-origin refusals, the security headers, the
trusted proxy header, and the audit of it all."""

from __future__ import annotations

import asyncio
import json
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By

from access import keys
from dashboard.auth import PAGE_ROUTER_OUTPUT, SESSION_COOKIE, callback_area

from .conftest import browser_errors, sign_in_browser, timeout, wait_for
from .http import Answer, http
from .live_stack import API_TOKENS, TEST_PASSWORD, running_dashboard, session_cookie, settings_for_test

# What each role gets, written out (not read from access/roles.py, so that a change there shows here).
PAGES = ["/wall", "/", "/alerts", "/trends", "/agents"]
API = ["/api/v1/live", "/api/v1/complaints", "/api/v1/alerts", "/api/v1/agents", "/api/v1/trends",
       "/api/v1/agents/days", "/api/v1/trends/weekday-hours", "/export/trends/buckets.csv", "/openapi.json"]
ALLOWED = {
    "wall": {"/wall"},
    "supervisor": {"/wall", "/", "/alerts", "/api/v1/live", "/api/v1/complaints", "/api/v1/alerts", "/openapi.json"},
    "manager": set(PAGES) | set(API),
    "admin": set(PAGES) | set(API),
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def get(url: str, **headers: str) -> Answer:
    return await asyncio.to_thread(http, url, headers=headers)


async def test_each_role_reaches_exactly_its_pages_and_api_routes(database_url):
    async with running_dashboard(database_url, settings_for_test()) as base:
        for role, allowed in ALLOWED.items():
            for path in PAGES + API:
                answer = await get(base + path, **session_cookie(role))
                assert (answer.status == 200) == (path in allowed), (role, path, answer.status)
                if path not in allowed:
                    assert answer.status == 403, (role, path)
                if path in PAGES and path not in allowed:  # a readable notice, naming who is signed in
                    assert f"test-{role} ({role})" in answer.body and "Not for your role" in answer.body
            for path in API:
                if path.startswith("/api/"):
                    bearer = await get(base + path, Authorization=f"Bearer {API_TOKENS[role]}")
                    assert (bearer.status == 200) == (path in allowed), (role, path, "bearer", bearer.status)


async def test_nobody_signed_in_is_sent_to_sign_in_and_only_the_open_doors_answer(database_url):
    async with running_dashboard(database_url, settings_for_test()) as base:
        page = await get(base + "/trends?range=today")
        assert page.status == 303 and page.headers["Location"] == "/signin?next=%2Ftrends%3Frange%3Dtoday"
        api = await get(base + "/api/v1/live")
        assert api.status == 401 and api.headers["WWW-Authenticate"] == "Bearer"
        assert (await get(base + "/api/v1/live", Authorization="Bearer not-a-token")).status == 401
        for path in ("/_dash-layout", "/_dash-dependencies", "/export/agents/ranking.csv"):
            assert (await get(base + path)).status == 401, path
        for path, status in (("/healthz", 200), ("/readyz", 503), ("/signin", 200), ("/assets/callboard.css", 200),
                             ("/alerts/ack?token=x", 404)):  # the ack link answers for itself (here: disabled)
            assert (await get(base + path)).status == status, path
        signed_out_socket = await asyncio.to_thread(_websocket_status, base, {})
        assert signed_out_socket == 4001 or signed_out_socket == 403
        other_site = await asyncio.to_thread(_websocket_status, base, {**session_cookie(), "Origin": "http://evil.example"})
        assert other_site in (403, 4003)


def _websocket_status(base: str, headers: dict[str, str]) -> int | None:
    """How the dashboard answers a websocket opened with ``headers``: the HTTP status or close code."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(base.replace("http", "ws") + "/_dash-ws-callback", additional_headers=headers,
                     open_timeout=5) as socket:
            socket.recv(timeout=5)
    except InvalidStatus as refused:
        return refused.response.status_code
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    return None


def form_token(answer: Answer) -> tuple[str, str]:
    """The sign-in form's CSRF field and the cookie it must match."""
    field = re.search(r'name="csrf" value="([^"]+)"', answer.body)[1]
    cookie = SimpleCookie(answer.headers["Set-Cookie"])["callboard_signin"].value
    return field, cookie


async def sign_in(base: str, name: str, password: str, cookie: str = "", **headers: str) -> Answer:
    form = await get(base + "/signin?next=/alerts")
    field, form_cookie = form_token(form)
    body = urlencode({"csrf": field, "next": "/alerts", "name": name, "password": password}).encode()
    cookies = f"callboard_signin={form_cookie}" + (f"; {SESSION_COOKIE}={cookie}" if cookie else "")
    return await asyncio.to_thread(http, base + "/signin", "POST", body, {**FORM, "Cookie": cookies, **headers})


def session_key(answer: Answer) -> str:
    return SimpleCookie(answer.headers["Set-Cookie"])[SESSION_COOKIE].value


async def test_signing_in_gives_a_safe_cookie_stored_hashed_and_a_new_one_each_time(database_url, pool):
    async with running_dashboard(database_url, settings_for_test()) as base:
        refused = await sign_in(base, "test-manager", "not the password")
        assert refused.status == 401 and "Wrong user name or password." in refused.body
        unknown = await sign_in(base, "nobody", TEST_PASSWORD)
        assert unknown.status == 401 and "Wrong user name or password." in unknown.body  # the same words

        first = await sign_in(base, "test-manager", TEST_PASSWORD)
        assert first.status == 303 and first.headers["Location"] == "/alerts"
        set_cookie = first.headers["Set-Cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Secure" not in set_cookie
        key = session_key(first)
        assert await pool.fetchval("SELECT count(*) FROM sessions WHERE id_hash = $1", keys.digest(key)) == 1
        assert await pool.fetchval("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                                   "WHERE u.name = 'test-manager' AND s.id_hash <> $1", keys.digest(key)) == 1
        assert (await get(base + "/trends", Cookie=f"{SESSION_COOKIE}={key}")).status == 200

        # signing in again from the same browser replaces its session: the old key is worthless
        second = await sign_in(base, "test-manager", TEST_PASSWORD, cookie=key)
        new_key = session_key(second)
        assert new_key != key
        assert (await get(base + "/trends", Cookie=f"{SESSION_COOKIE}={key}")).status == 303
        assert (await get(base + "/trends", Cookie=f"{SESSION_COOKIE}={new_key}")).status == 200

        # the form's own CSRF token is required
        no_token = await asyncio.to_thread(http, base + "/signin", "POST", urlencode(
            {"name": "test-manager", "password": TEST_PASSWORD}).encode(), FORM)
        assert no_token.status == 403 and SESSION_COOKIE not in no_token.headers.get("Set-Cookie", "")

        # signing out needs the session's CSRF token, then ends it
        csrf = await pool.fetchval("SELECT csrf_token FROM sessions WHERE id_hash = $1", keys.digest(new_key))
        cookie = {**FORM, "Cookie": f"{SESSION_COOKIE}={new_key}"}
        forged = await asyncio.to_thread(http, base + "/signout", "POST", b"csrf=guess", cookie)
        assert forged.status == 403
        out = await asyncio.to_thread(http, base + "/signout", "POST", urlencode({"csrf": csrf}).encode(), cookie)
        assert out.status == 303 and out.headers["Location"] == "/signin"
        assert (await get(base + "/trends", Cookie=f"{SESSION_COOKIE}={new_key}")).status == 303

    audit = [(r["actor"], r["action"]) for r in await pool.fetch("SELECT actor, action FROM audit_log ORDER BY id")]
    assert audit == [("test-manager", "sign_in_failed"), ("nobody", "sign_in_failed"), ("test-manager", "sign_in"),
                     ("test-manager", "sign_in"), ("test-manager", "sign_out")]


async def test_a_tls_request_or_the_setting_makes_the_cookie_secure(database_url):
    settings = settings_for_test(CALLBOARD_SECURE_COOKIES="true")
    async with running_dashboard(database_url, settings) as base:
        answer = await sign_in(base, "test-admin", TEST_PASSWORD)
    assert answer.status == 303 and "Secure" in answer.headers["Set-Cookie"]


async def test_the_sixth_failure_is_refused_without_trying_the_password_per_name_and_per_address(database_url):
    async with running_dashboard(database_url, settings_for_test()) as base:
        for _ in range(5):
            assert (await sign_in(base, "test-admin", "wrong password")).status == 401
        throttled = await sign_in(base, "test-admin", TEST_PASSWORD)  # even the right password now
        assert throttled.status == 429 and "Try again in 15 minutes" in throttled.body
        assert throttled.headers["Retry-After"] == "900"
        # the address has failed five times too: another name from it is refused as well
        assert (await sign_in(base, "test-wall", TEST_PASSWORD)).status == 429


async def test_a_second_dashboard_process_counts_the_same_failures(database_url):
    async with running_dashboard(database_url, settings_for_test()) as first, \
            running_dashboard(database_url, settings_for_test()) as second:
        for base in (first, second, first, second, first):
            assert (await sign_in(base, "test-admin", "wrong password")).status == 401
        assert (await sign_in(second, "test-admin", TEST_PASSWORD)).status == 429


async def test_state_changing_requests_from_another_site_are_refused(database_url, pool):
    await pool.execute("INSERT INTO alerts (kind, subject, raised_at, details) VALUES "
                       "('long_hold', 'x/1', now(), '{}')")
    alert_id = await pool.fetchval("SELECT id FROM alerts")
    async with running_dashboard(database_url, settings_for_test()) as base:
        body = b'{"by": "Li Wei"}'
        acknowledge = f"{base}/api/v1/alerts/{alert_id}/acknowledge"
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            refused = await asyncio.to_thread(http, acknowledge, "POST", body,
                                              {"Content-Type": "application/json", **session_cookie(), **headers})
            assert refused.status == 403, headers
        callback = await asyncio.to_thread(http, f"{base}/_dash-update-component", "POST", b"{}",
                                           {"Content-Type": "application/json", "Sec-Fetch-Site": "same-site",
                                            **session_cookie()})
        assert callback.status == 403
        assert (await pool.fetchrow("SELECT state FROM alerts"))["state"] == "open"
        ours = await asyncio.to_thread(http, acknowledge, "POST", body,
                                       {"Content-Type": "application/json", "Origin": base, **session_cookie()})
        assert ours.status == 200 and (await pool.fetchrow("SELECT state FROM alerts"))["state"] == "acknowledged"


async def test_every_answer_carries_the_security_headers(database_url):
    async with running_dashboard(database_url, settings_for_test()) as base:
        for path in ("/wall", "/healthz", "/signin", "/api/v1/live"):
            headers = (await get(base + path, **session_cookie())).headers
            policy = headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy and "script-src 'self' 'sha256-" in policy, path
            assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
            assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"], path
            assert headers["X-Frame-Options"] == "DENY"
    kiosk = settings_for_test(CALLBOARD_FRAME_ANCESTORS="https://kiosk.example.com")
    async with running_dashboard(database_url, kiosk) as base:
        headers = (await get(base + "/healthz")).headers
        assert "frame-ancestors https://kiosk.example.com" in headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in headers


async def test_the_proxy_user_header_is_ignored_unless_configured_and_from_a_trusted_proxy(database_url):
    header = {"X-Forwarded-User": "test-manager"}
    async with running_dashboard(database_url, settings_for_test()) as base:
        assert (await get(base + "/api/v1/trends", **header)).status == 401
    elsewhere = settings_for_test(CALLBOARD_TRUSTED_USER_HEADER="X-Forwarded-User",
                                  CALLBOARD_TRUSTED_PROXIES="10.9.8.7")
    async with running_dashboard(database_url, elsewhere) as base:
        assert (await get(base + "/api/v1/trends", **header)).status == 401
    trusted = settings_for_test(CALLBOARD_TRUSTED_USER_HEADER="X-Forwarded-User",
                                CALLBOARD_TRUSTED_PROXIES="127.0.0.0/8")
    async with running_dashboard(database_url, trusted) as base:
        assert (await get(base + "/api/v1/trends", **header)).status == 200
        assert (await get(base + "/api/v1/trends", **{"X-Forwarded-User": "nobody"})).status == 401
        assert (await get(base + "/trends", **{"X-Forwarded-User": "test-supervisor"})).status == 403


def test_the_proxy_header_without_the_proxies_is_refused_at_start():
    from callboard.exceptions import ConfigError

    with pytest.raises(ConfigError, match="needs CALLBOARD_TRUSTED_PROXIES"):
        settings_for_test(CALLBOARD_TRUSTED_USER_HEADER="X-Forwarded-User")


async def test_signing_in_and_out_in_chromium_with_no_console_errors(database_url, browser):
    sign_in_browser(browser, None)
    async with running_dashboard(database_url, settings_for_test()) as base:
        await asyncio.to_thread(browser.get, base + "/alerts")
        assert "/signin?next=%2Falerts" in browser.current_url

        def fill_in() -> None:
            browser.find_element(By.ID, "name").send_keys("test-supervisor")
            browser.find_element(By.ID, "password").send_keys(TEST_PASSWORD)
            browser.find_element(By.CSS_SELECTOR, "form.signin button").click()

        await asyncio.to_thread(fill_in)

        async def on(path: str) -> bool:
            # off the event loop, which serves the dashboard: the driver waits for the page to load
            return await asyncio.to_thread(lambda: browser.current_url) == base + path

        await wait_for(lambda: on("/alerts"), 30, "the alerts page after signing in")
        await wait_for(lambda: _has(browser, "#sign-out button"), 10, "the sign-out button")
        await asyncio.to_thread(browser.get, base + "/trends")
        assert "Not for your role" in browser.page_source
        await asyncio.to_thread(browser.get, base + "/")
        await wait_for(lambda: _has(browser, "#sign-out button"), 10, "the sign-out button")
        await asyncio.to_thread(lambda: browser.find_element(By.CSS_SELECTOR, "#sign-out button").click())
        await wait_for(lambda: on("/signin"), 10, "the sign-in page after signing out")
        await asyncio.to_thread(browser.get, base + "/")
        assert "/signin" in browser.current_url
    errors = [e for e in browser_errors(browser) if "403" not in e]  # the refused page itself is logged
    assert errors == [], "\n".join(errors)


async def _has(driver, selector: str) -> bool:
    return bool(await asyncio.to_thread(driver.find_elements, By.CSS_SELECTOR, selector))


async def test_a_wall_session_cannot_run_another_page_s_callbacks(database_url):
    import dash

    async with running_dashboard(database_url, settings_for_test()) as base:
        floor_output = next(output for output, spec in dash.get_app().callback_map.items()
                            if getattr(spec.get("callback"), "__module__", "") == "pages.floor")
        body = json.dumps({"output": floor_output, "outputs": [], "inputs": [], "changedPropIds": []}).encode()
        headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
        wall = await asyncio.to_thread(http, f"{base}/_dash-update-component", "POST", body,
                                       {**headers, **session_cookie("wall")})
        assert wall.status == 403
        assert callback_area(dash.get_app(), {"output": floor_output}) == "floor"  # which a supervisor may reach


def router_request(path: str | None) -> dict:
    """What the browser sends Dash's page router when its location is ``path``."""
    inputs = [{"id": "_pages_location", "property": "search", "value": ""}]
    if path is not None:
        inputs.insert(0, {"id": "_pages_location", "property": "pathname", "value": path})
    return {"output": PAGE_ROUTER_OUTPUT, "inputs": inputs, "changedPropIds": ["_pages_location.pathname"],
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}]}


async def test_the_page_router_lays_out_only_the_pages_a_role_may_see(database_url):
    import dash

    async with running_dashboard(database_url, settings_for_test()) as base:
        assert PAGE_ROUTER_OUTPUT in dash.get_app().callback_map  # the router Dash registered

        async def lay_out(path: str | None, role: str) -> Answer:
            body = json.dumps(router_request(path)).encode()
            return await asyncio.to_thread(http, f"{base}/_dash-update-component", "POST", body,
                                           {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin",
                                            **session_cookie(role)})

        answers = {(path, role): await lay_out(path, role) for role in ALLOWED for path in PAGES}
        nowhere = await lay_out(None, "manager")
    for (path, role), answer in answers.items():
        if path in ALLOWED[role]:
            assert answer.status == 200 and "_pages_content" in answer.body, (path, role)
        else:
            assert answer.status == 403 and "_pages_content" not in answer.body, (path, role)
    assert "trends-" in answers["/trends", "manager"].body  # the page's own layout
    assert nowhere.status == 403  # a request that names no path is laid out for nobody


async def test_the_page_router_over_the_websocket_lays_out_only_the_pages_a_role_may_see(database_url, caplog):
    # Dash answers a websocket's callbacks as each finishes, not in the order they were asked
    async with running_dashboard(database_url, settings_for_test()) as base:
        manager = await asyncio.to_thread(_laid_out_over_websocket, base, "manager", ["/trends", "/wall"],
                                          {"/trends", "/wall"})
        wall = await asyncio.to_thread(_laid_out_over_websocket, base, "wall", ["/trends", "/wall"], {"/wall"})
    assert manager.keys() == {"/trends", "/wall"} and "trends-" in manager["/trends"]
    # the wall's request for /trends is dropped before Dash sees it; its own page's, asked after it, is answered
    assert [r.action for r in caplog.records if getattr(r, "action", None) == "callback_refused"] == [
        "callback_refused"]
    assert wall.keys() == {"/wall"} and "trends-" not in wall["/wall"]


def _laid_out_over_websocket(base: str, role: str, paths: list[str], awaited: set[str]) -> dict[str, str]:
    """Ask the page router for each of ``paths`` over one websocket, as ``role``; the answers
    received (by path) until those for every path in ``awaited`` have arrived."""
    from websockets.sync.client import connect

    host = base.removeprefix("http://")
    answers: dict[str, str] = {}
    with connect(f"ws://{host}/_dash-ws-callback", additional_headers={**session_cookie(role),
                                                                        "Origin": base}, open_timeout=5) as socket:
        for path in paths:
            socket.send(json.dumps({"type": "callback_request", "requestId": path, "rendererId": "test",
                                    "payload": router_request(path)}))
        while not awaited <= answers.keys():
            message = json.loads(socket.recv(timeout=timeout(10)))
            if message.get("type") == "callback_response":
                answers[message["requestId"]] = json.dumps(message["payload"])
    return answers


async def test_openapi_declares_the_bearer_token_and_the_session_cookie(database_url):
    async with running_dashboard(database_url, settings_for_test()) as base:
        openapi = json.loads((await get(base + "/openapi.json", **session_cookie())).body)
    assert openapi["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API token from `callboard tokens add NAME --role ROLE`."}
    assert openapi["paths"]["/api/v1/live"]["get"]["security"] == [{"bearer": []}, {"session": []}]
    assert openapi["paths"]["/api/v1/alerts/{alert_id}/acknowledge"]["post"]["security"]
    assert "security" not in openapi["paths"]["/healthz"]["get"]


async def test_an_acknowledgement_is_audited_as_whoever_was_signed_in(database_url, pool):
    await pool.execute("INSERT INTO alerts (kind, subject, raised_at, details) "
                       "VALUES ('long_hold', 'x/1', now(), '{}')")
    alert_id = await pool.fetchval("SELECT id FROM alerts")
    async with running_dashboard(database_url, settings_for_test()) as base:
        answer = await asyncio.to_thread(http, f"{base}/api/v1/alerts/{alert_id}/acknowledge", "POST",
                                         b'{"by": "Li Wei"}', {"Content-Type": "application/json",
                                                              "Authorization": f"Bearer {API_TOKENS['supervisor']}"})
        assert answer.status == 200
    assert [tuple(r) for r in await pool.fetch("SELECT actor, action, subject FROM audit_log")] == [
        ("test-supervisor", "alert_acknowledged", f"alert {alert_id} as Li Wei")]
