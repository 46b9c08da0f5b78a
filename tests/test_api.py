"""The JSON API over real HTTP: good answers, and 400s that name the bad parameter."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from .live_stack import running_dashboard, settings_for_test


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize("since, reason", [
    ("yesterday", "is not an RFC 3339 timestamp"),
    ("2026-11-23T09:00:00", "needs a UTC offset"),
    ((datetime.now(UTC) - timedelta(days=40)).isoformat(), "at most 31 days ago"),
    ((datetime.now(UTC) + timedelta(hours=1)).isoformat(), "must be in the past"),
])
async def test_bad_since_gets_400_naming_the_parameter(database_url, since, reason):
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/live?since={quote(since)}")
    assert status == 400 and body["parameter"] == "since" and reason in body["error"]


async def test_live_for_a_window_and_the_health_checks(database_url):
    since = quote((datetime.now(UTC) - timedelta(hours=2)).isoformat())
    async with running_dashboard(database_url, settings_for_test()) as base_url:
        status, body = await asyncio.to_thread(get, f"{base_url}/api/v1/live?since={since}")
        health = await asyncio.to_thread(get, f"{base_url}/healthz")
        ready = await asyncio.to_thread(get, f"{base_url}/readyz")
    assert status == 200 and body["queues"] == [] and body["totals"]["offered"] == 0
    assert health == (200, {"status": "ok"})
    assert ready[0] == 503 and ready[1]["status"] == "stale"  # nothing has been ingested yet
