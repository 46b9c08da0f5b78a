"""The Grafana dashboard and the Prometheus alert rules shipped in deploy/ ask for metrics the running
services really expose."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from callboard.demo import free_port

from .conftest import timeout, wait_for
from .deployed import get

DEPLOY = Path(__file__).parents[1] / "deploy"
METRIC = re.compile(r"\bcallboard_[a-z0-9_]+")
# What a metric family of each type is scraped as (the exposition's sample names).
SAMPLES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def exposed(text: str) -> set[str]:
    """Every sample name the exposition declares, including families no label has been seen for yet."""
    names = set()
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
        names.update(family + suffix for suffix in SAMPLES.get(kind, ("",)))
    return names


def rules() -> list[dict]:
    groups = YAML(typ="safe").load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "callboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


async def test_every_metric_the_dashboard_and_the_alert_rules_use_is_served(database_url):
    ingest_port, alerts_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CALLBOARD_TIMEZONE": "UTC"}
    nowhere = f"ws://127.0.0.1:{free_port()}/events"  # no feed: the ingest keeps trying, and says so
    started = [subprocess.Popen([sys.executable, "-m", "callboard", "ingest", "--feed", nowhere, "--host", "127.0.0.1",
                                 "--port", str(ingest_port)], env=env),
               subprocess.Popen([sys.executable, "-m", "callboard", "alerts", "serve", "--host", "127.0.0.1",
                                 "--port", str(alerts_port)], env=env)]
    try:
        served: dict[int, str] = {}

        async def both_answer() -> bool:
            for port in (ingest_port, alerts_port):
                status, text = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/metrics")
                if status == 200:
                    served[port] = text
            return len(served) == 2

        await wait_for(both_answer, 30, "the ingest's and the alert service's /metrics")
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        assert [process.wait(timeout(30)) for process in started] == [0, 0]
    available = exposed(served[ingest_port]) | exposed(served[alerts_port])
    assert {"callboard_ingest_feed_connected", "callboard_ingest_lag_seconds_bucket",
            "callboard_alerts_listening"} <= available
    queries = [*dashboard_queries(), *(rule["expr"] for rule in rules())]
    used = {name for text in queries for name in METRIC.findall(text)}
    assert used and used <= available, f"not served: {sorted(used - available)}"
    # Every Callboard metric family is on the dashboard.
    families = set(re.findall(r"^# TYPE (\S+) ", served[ingest_port] + served[alerts_port], re.MULTILINE))
    on_dashboard = " ".join(dashboard_queries())
    assert {f for f in families if not f.endswith("_created") and f not in on_dashboard} == set()


def test_alert_rules_cover_the_feed_the_lag_the_journal_and_dead_letters():
    by_name = {rule["alert"]: rule for rule in rules()}
    for name, metric in (("CallboardFeedDown", "callboard_ingest_feed_connected"),
                         ("CallboardIngestLagging", "callboard_ingest_lag_seconds_bucket"),
                         ("CallboardJournalGrowing", "callboard_ingest_journal_bytes"),
                         ("CallboardDeadLettersRising", "callboard_ingest_dead_lettered_total")):
        assert metric in by_name[name]["expr"], name
    for rule in rules():
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]


def test_dashboard_panels_are_distinct_and_each_asks_for_something():
    panels = json.loads((DEPLOY / "grafana" / "callboard.json").read_text())["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert all(panel["targets"] and all(target["expr"] for target in panel["targets"]) for panel in panels)
