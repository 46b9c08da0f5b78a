"""The `callboard` command as a user runs it: real processes, real signals."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import asyncpg
import psutil
import pytest

from callboard.demo import free_port
from db.pool import recreate_database

from .conftest import timeout
from .live_stack import zone_where_it_is_late_morning


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, queue.Queue]:
    process = subprocess.Popen([sys.executable, "-m", "callboard", *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return process, lines


def wait_for_line(lines: queue.Queue, text: str, seconds: float) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout(seconds)
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not printed within {seconds} s; output:\n" + "".join(seen))


def live(browser: urllib.request.OpenerDirector, base_url: str) -> dict:
    with browser.open(base_url + "/api/v1/live", timeout=5) as response:
        return json.load(response)


def processes_using(path: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(path in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def test_demo_shows_moving_numbers_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CALLBOARD_DATA_DIR"] = str(tmp_path)
    env["CALLBOARD_TIMEZONE"] = zone_where_it_is_late_morning()
    demo, lines = start(["demo", "--port", str(port)], env)
    try:
        printed = "".join(wait_for_line(lines, "The wall, on a display screen:", 60))
        sign_in = re.search(rf"http://127\.0\.0\.1:{port}/signin/link\?key=[\w-]+", printed)[0]
        display = re.search(rf"http://127\.0\.0\.1:{port}/display\?key=[\w-]+", printed)[0]
        # nobody signed in sees nothing; the one-time link signs a browser in as the admin, once
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/live", timeout=5)
        admin = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        assert admin.open(sign_in, timeout=5).url == f"http://127.0.0.1:{port}/"
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.build_opener(urllib.request.HTTPCookieProcessor()).open(sign_in, timeout=5)
        wall = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        assert wall.open(display, timeout=5).url == f"http://127.0.0.1:{port}/wall"
        seen = []
        deadline = time.monotonic() + timeout(20)
        while time.monotonic() < deadline:
            snapshot = live(admin, f"http://127.0.0.1:{port}")
            totals = snapshot["totals"]
            seen.append((totals["offered"], totals["answered"], totals["waiting"],
                         tuple((a["agent"], a["state"]) for a in snapshot["agents"])))
            if len(set(seen)) >= 2 and totals["answered"] > 0:
                break
            time.sleep(0.5)
        assert len(set(seen)) >= 2 and totals["answered"] > 0, \
            f"the wall did not show moving figures within 20 s of its address: {[s[:3] for s in seen]}"
        # the simulated floor says who takes each queue's calls: every tile counts its agents
        assert snapshot["queues"] and all(q["members"] is not None for q in snapshot["queues"])
    finally:
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert demo.wait(timeout(30)) == 0
    assert processes_using(str(tmp_path)) == []  # no postgres, simulator, ingest or dashboard left


async def test_database_url_is_used_instead_of_the_embedded_server(postgres_server, tmp_path):
    admin_url, _ = postgres_server
    url = await recreate_database(admin_url, "callboard_command_test")
    env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_DATA_DIR": str(tmp_path / "unused")}
    result = subprocess.run([sys.executable, "-m", "callboard", "db", "migrate"], env=env,
                            capture_output=True, text=True, timeout=timeout(60))
    assert result.returncode == 0, result.stderr
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 1
    finally:
        await conn.close()
    assert not (tmp_path / "unused").exists()  # no embedded server was started


def test_every_command_explains_itself():
    for command in ([], ["demo"], ["db"], ["db", "migrate"], ["db", "grant"], ["ingest"], ["import"], ["dashboard"],
                    ["simulate"], ["config"], ["users"], ["displays"], ["tokens"]):
        result = subprocess.run([sys.executable, "-m", "callboard", *command, "--help"],
                                capture_output=True, text=True, timeout=timeout(30))
        assert result.returncode == 0 and "usage: callboard" in result.stdout, command


def test_bad_configuration_is_named_and_refused():
    env = {**os.environ, "CALLBOARD_ANSWER_TARGET_S": "soon"}
    result = subprocess.run([sys.executable, "-m", "callboard", "config"], env=env,
                            capture_output=True, text=True, timeout=timeout(30))
    assert result.returncode == 2
    assert "CALLBOARD_ANSWER_TARGET_S='soon' is not valid" in result.stderr


def test_ingest_refuses_an_unknown_source_or_a_feed_its_source_cannot_read():
    for arguments, message in ((["--source", "nope", "--feed", "ws://127.0.0.1:9/"], "unknown source 'nope'"),
                               (["--feed", "tcp://127.0.0.1:5038"], "must start with ws:// or wss://")):
        result = subprocess.run([sys.executable, "-m", "callboard", "ingest", *arguments],
                                capture_output=True, text=True, timeout=timeout(30))
        assert result.returncode == 2, arguments
        assert message in result.stderr, result.stderr
