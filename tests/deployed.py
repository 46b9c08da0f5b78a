"""Callboard as a centre deploys it, for tests: the production command lines as real processes, more
Chromium browsers than the session's one, and a change on the floor for the pages to show."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from selenium.webdriver.common.by import By

from callboard.demo import free_port
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import CHROMIUM_FLAGS, _find, sign_in_browser, timeout, wait_for
from .live_stack import add_test_users


def get(url: str, **kwargs) -> tuple[int, str]:
    """Status and body of a GET; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5, **kwargs) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


class Dashboard:
    """``callboard dashboard --workers N`` on a free loopback port, as a systemd unit would start it."""

    def __init__(self, database_url: str, workers: int, port: int | None = None, **environ: str) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "CALLBOARD_TIMEZONE": "UTC", **environ}
        self.process = subprocess.Popen([sys.executable, "-m", "callboard", "dashboard", "--workers", str(workers),
                                         "--host", "127.0.0.1", "--port", str(self.port)], env=env)

    async def started(self, workers: int) -> None:
        """Wait until every worker answers; the test users (tests/live_stack.py) can sign in then."""
        await add_test_users(self.database_url)

        async def up() -> bool:
            assert self.process.poll() is None, f"the dashboard exited with {self.process.returncode}"
            status, _ = await asyncio.to_thread(get, self.url + "/healthz")
            return status == 200 and len(self.workers()) == workers

        await wait_for(up, 60, f"{workers} dashboard workers to answer /healthz")

    def workers(self) -> list[psutil.Process]:
        """The worker processes (uvicorn spawns them, and multiprocessing a helper that holds no socket)."""
        children = psutil.Process(self.process.pid).children()
        return [child for child in children if "resource_tracker" not in " ".join(child.cmdline())]

    def pages_served(self) -> dict[int, int]:
        """Worker pid → connections open to it from browsers; once idle keep-alive connections have
        timed out (uvicorn closes them after 5 s), these are the pages' websockets."""
        return {worker.pid: sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                                for c in worker.net_connections("tcp"))
                for worker in self.workers()}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout(30))


@contextlib.contextmanager
def dashboard_processes(database_url: str, workers: int, port: int | None = None,
                        **environ: str) -> Iterator[Dashboard]:
    dashboard = Dashboard(database_url, workers, port, **environ)
    try:
        yield dashboard
    finally:
        if dashboard.stop() != 0:
            raise AssertionError(f"the dashboard did not stop cleanly on SIGTERM: {dashboard.process.returncode}")


@contextlib.contextmanager
def another_browser(**options) -> Iterator:
    """One more headless Chromium with a profile of its own, signed in as the admin test user: pages in
    one browser share one websocket (Dash keeps it in a shared worker), so pages of different browsers
    are different connections."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome_options = webdriver.ChromeOptions()
    chrome_options.binary_location = os.environ.get("CALLBOARD_CHROMIUM") or _find(
        "chromium", "chromium-browser", "google-chrome")
    for flag in CHROMIUM_FLAGS:
        chrome_options.add_argument(flag)
    for flag in options.get("flags", ()):
        chrome_options.add_argument(flag)
    chrome_options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = os.environ.get("CALLBOARD_CHROMEDRIVER") or _find("chromedriver")
    driver = webdriver.Chrome(service=Service(driver_path), options=chrome_options)
    try:
        sign_in_browser(driver, "admin")
        yield driver
    finally:
        driver.quit()


async def call_waiting_in(pool, queue: str, feed: str = "deployed") -> None:
    """A call starts waiting in ``queue``: the ingest's writer stores it and announces the change."""
    now = datetime.now(UTC)
    frame = json.dumps([{"id": f"{queue}-call", "ts": now.isoformat(), "type": "call.queued",
                         "call_id": f"{queue}-call", "queue": queue, "caller": "+44 20 7946 0999"}])
    await EventWriter(pool, feed).write([Received(now, *parse_message(frame))])


def wall_text(driver) -> str:
    try:
        return driver.find_element(By.CSS_SELECTOR, ".wall").text
    except Exception:
        return ""


async def wall_shows(driver, text: str, seconds: float = 20) -> None:
    async def shows() -> bool:
        return text in await asyncio.to_thread(wall_text, driver)

    await wait_for(shows, seconds, f"the wall to show {text!r}")


# --- nginx in front ----------------------------------------------------------------------------
# Tests with nginx skip where it is not installed, unless CALLBOARD_REQUIRE_NGINX=1 (CI sets it),
# which turns that skip into a failure.
NGINX_CONF = Path(__file__).parents[1] / "deploy" / "nginx" / "callboard.conf"


def nginx_binary() -> str:
    found = _find("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.path.exists(path)), None)
    if found:
        return found
    message = "nginx is not installed (apt-get install nginx)"
    if os.environ.get("CALLBOARD_REQUIRE_NGINX") == "1":
        pytest.fail(message + "; CALLBOARD_REQUIRE_NGINX=1 forbids skipping")
    pytest.skip(message)


def site_config(upstream_port: int, https_port: int, http_port: int, certificate: Path, key: Path) -> str:
    """deploy/nginx/callboard.conf as shipped, but on loopback ports and with the test's certificate."""
    text = NGINX_CONF.read_text()
    replacements = [
        (r"server 127\.0\.0\.1:8050;", f"server 127.0.0.1:{upstream_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen \[::\]:\d+( ssl)?;\n", ""),
        (r"ssl_certificate +/\S+;", f"ssl_certificate {certificate};"),
        (r"ssl_certificate_key +/\S+;", f"ssl_certificate_key {key};"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count, f"deploy/nginx/callboard.conf no longer has {pattern!r}"
    return text


@contextlib.contextmanager
def running_nginx(directory: Path, site: str, https_port: int) -> Iterator[None]:
    """nginx in the foreground, one process, everything it writes in ``directory``."""
    (directory / "callboard.conf").write_text(site)
    (directory / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/callboard.conf;
}}
""")
    nginx = nginx_binary()
    checked = subprocess.run([nginx, "-t", "-p", str(directory), "-c", str(directory / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([nginx, "-p", str(directory), "-c", str(directory / "nginx.conf")])
    try:
        deadline = time.monotonic() + timeout(10)
        while not _listening(https_port):
            assert process.poll() is None, (directory / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)
        yield
    finally:
        process.terminate()  # nginx's fast shutdown
        process.wait(timeout(10))


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def spki_fingerprint(certificate_pem: bytes) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: the base64 SHA-256 of the public key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()
