"""The OpenAPI description served at /openapi.json matches what every route really answers."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from datetime import UTC, datetime, timedelta

import jsonschema_rs

from .live_stack import running_dashboard, settings_for_test, signed_in
from .scenario import T0, Floor, store
from .test_alerts_page import post, raise_alert
from .test_api import THE_HOUR, agents_floor, get, trends_floor

# Every route with data behind it, and its bad-parameter answers: (path, query).
REQUESTS = [
    ("/api/v1/live", ""),
    ("/api/v1/live", "since=" + urllib.request.quote((datetime.now(UTC) - timedelta(hours=30)).isoformat())),
    ("/api/v1/live", "since=yesterday"),
    ("/api/v1/agents", THE_HOUR),
    ("/api/v1/agents", "from=soon"),
    ("/api/v1/agents/days", THE_HOUR),
    ("/api/v1/agents/days", "to=later"),
    ("/api/v1/trends", THE_HOUR + "&bucket=15m"),
    ("/api/v1/trends", THE_HOUR + "&bucket=shift&queue=sales"),
    ("/api/v1/trends", "bucket=2h"),
    ("/api/v1/trends/weekday-hours", THE_HOUR + "&team=Blue"),
    ("/api/v1/complaints", ""),
    ("/api/v1/complaints", "status=overdue"),
    ("/api/v1/complaints", "status=all&" + THE_HOUR),
    ("/api/v1/complaints", "status=closed"),
    ("/healthz", ""),
    ("/readyz", ""),
    ("/api/v1/alerts", ""),
    ("/api/v1/alerts", "state=all&" + THE_HOUR),
    ("/api/v1/alerts", "state=all&queue=billing&limit=1"),
    ("/api/v1/alerts", "state=closed"),
]
# Routes that change something: (path as described, path asked, JSON body).
POSTS = [
    ("/api/v1/alerts/{alert_id}/acknowledge", "/api/v1/alerts/1/acknowledge", {"by": "Mo"}),
    ("/api/v1/alerts/{alert_id}/acknowledge", "/api/v1/alerts/1/acknowledge", {"by": ""}),
    ("/api/v1/alerts/{alert_id}/resolve", "/api/v1/alerts/1/resolve", {"by": "Mo"}),
    ("/api/v1/alerts/{alert_id}/resolve", "/api/v1/alerts/999/resolve", {"by": "Mo"}),
]
# The downloads, in the media types their description declares: (path, query).
DOWNLOADS = [
    ("/export/trends/{table}.{fmt}", "/export/trends/buckets.csv?range=yesterday"),
    ("/export/trends/{table}.{fmt}", "/export/trends/weekday_hours.xlsx?range=last_week&queue=sales"),
    ("/export/agents/{table}.{fmt}", "/export/agents/days.csv?range=last_30_days"),
]


def complaints_floor() -> Floor:
    floor = Floor()
    now = datetime.now(UTC)
    floor.add("complaint.opened", 100, complaint_id="k1", agent="a1", customer="李娜",
              due=(now + timedelta(hours=1)).isoformat(), severity="high")
    floor.add("complaint.opened", 200, complaint_id="k2", agent="a2", customer="张伟",
              due=(now - timedelta(hours=1)).isoformat())
    floor.add("complaint.opened", 300, complaint_id="k3", agent="a1", customer="王强", due=now.isoformat())
    floor.add("complaint.callback_made", 400, complaint_id="k3", agent="a1")
    floor.add("complaint.closed", 500, complaint_id="k3", resolved=False)
    # technical's members announced (its tile counts them by state), sales' never
    floor.add("queue.members", 5, queue="technical", agents=["a1", "a2"])
    # a call on hold right now, and one waiting
    floor.add("call.queued", 10, call_id="h1", queue="technical", caller="+86 138 0000 0001")
    floor.add("call.answered", 20, call_id="h1", agent="a1")
    floor.add("call.hold_started", 30, call_id="h1", agent="a1")
    floor.add("call.queued", 40, call_id="w1", queue="technical", caller="+86 138 0000 0002")
    # and a caller who gave up just now
    just_now = (now - T0).total_seconds() - 1
    floor.add("call.queued", just_now - 20, call_id="x1", queue="technical", caller="+86 138 0000 0003")
    floor.add("call.abandoned", just_now, call_id="x1")
    return floor


def post_json(url: str, body: dict) -> tuple[int, dict]:
    status, text = post(url, json.dumps(body).encode(), "application/json")
    return status, json.loads(text)


def download(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(signed_in(url), timeout=10) as response:
        return response.status, response.headers["Content-Type"]


def validator(openapi: dict, path: str, status: int, method: str = "get"):
    response = openapi["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": openapi["components"]})


async def test_every_route_answers_as_its_openapi_description_says(database_url, pool):
    for floor in (agents_floor(), trends_floor(), complaints_floor()):
        await store(pool, floor)
    await raise_alert(pool)  # alert 1, with a notification waiting
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        _, openapi = await asyncio.to_thread(get, f"{base_url}/openapi.json")
        answers = [(path, *await asyncio.to_thread(get, f"{base_url}{path}?{query}")) for path, query in REQUESTS]
        changes = [(described, *await asyncio.to_thread(post_json, f"{base_url}{path}", body))
                   for described, path, body in POSTS]
        downloads = [(path, await asyncio.to_thread(download, base_url + url)) for path, url in DOWNLOADS]
    # no route goes unchecked
    assert {path for path, _ in REQUESTS + DOWNLOADS} | {path for path, _, _ in POSTS} == set(openapi["paths"])
    for path, (status, media_type) in downloads:
        declared = openapi["paths"][path]["get"]["responses"]["200"]["content"]
        assert status == 200 and media_type in declared, (path, media_type)
    seen_statuses = set()
    for method, checked in (("get", answers), ("post", changes)):
        for path, status, body in checked:
            errors = [error.message for error in validator(openapi, path, status, method).iter_errors(body)]
            assert errors == [], f"{path} answered {status} {json.dumps(body)[:300]}"
            seen_statuses.add(status)
    assert seen_statuses == {200, 400, 404, 503}
    # the answers had something in them to check
    answered = {}
    for path, status, body in answers:
        if status == 200:
            answered.setdefault(path, body)
    assert answered["/api/v1/agents"]["agents"] and answered["/api/v1/complaints"]["complaints"]
    assert answered["/api/v1/agents/days"]["agents"][0]["days"]
    assert any(bucket["offered"] for bucket in answered["/api/v1/trends"]["buckets"])
    live = answered["/api/v1/live"]
    assert live["holds_open"] and live["complaints_open"] and live["agents"] and live["queues"]
    assert live["abandoned_calls"] and live["alerts_open"] and answered["/api/v1/alerts"]["alerts"]
    assert answered["/api/v1/alerts"]["alerts"][0]["notifications"]


async def test_an_answer_with_an_undeclared_field_fails_the_check(database_url):
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        _, openapi = await asyncio.to_thread(get, f"{base_url}/openapi.json")
        _, body = await asyncio.to_thread(get, f"{base_url}/healthz")
    assert validator(openapi, "/healthz", 200).is_valid(body)
    assert not validator(openapi, "/healthz", 200).is_valid({**body, "customer": "李娜"})
