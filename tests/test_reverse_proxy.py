"""deploy/nginx/callboard.conf as shipped, in front of two dashboard workers: TLS, the websocket the
live views need, and the headers the dashboard is told the visitor's address and scheme by."""

from __future__ import annotations

import asyncio
import http.client
import ssl

import trustme

from callboard.demo import free_port

from .conftest import browser_errors, wait_for
from .deployed import (
    another_browser,
    call_waiting_in,
    dashboard_processes,
    get,
    nginx_binary,
    running_nginx,
    site_config,
    spki_fingerprint,
    wall_shows,
)


async def test_the_wall_through_nginx_over_tls_gets_pushed_changes(database_url, pool, tmp_path):
    nginx_binary()  # skips, or fails under CALLBOARD_REQUIRE_NGINX=1, where nginx is not installed
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_pem.write_to_path(tmp_path / "privkey.pem")
    certificate.cert_chain_pems[0].write_to_path(tmp_path / "fullchain.pem")
    https_port, http_port = free_port(), free_port()
    with dashboard_processes(database_url, workers=2) as dashboard:
        await dashboard.started(workers=2)
        site = site_config(dashboard.port, https_port, http_port, tmp_path / "fullchain.pem", tmp_path / "privkey.pem")
        with running_nginx(tmp_path, site, https_port):
            client = ssl.create_default_context()
            authority.configure_trust(client)
            base = f"https://127.0.0.1:{https_port}"
            status, body = await asyncio.to_thread(get, base + "/healthz", context=client)
            assert (status, body) == (200, '{"status":"ok"}')
            plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
            plain.request("GET", "/wall?lang=zh-Hans")
            redirect = plain.getresponse()
            assert (redirect.status, redirect.getheader("Location")) == (301, "https://127.0.0.1/wall?lang=zh-Hans")

            # Chromium trusts this certificate alone, as a browser trusts the centre's own.
            fingerprint = spki_fingerprint(certificate.cert_chain_pems[0].bytes())
            trusted = f"--ignore-certificate-errors-spki-list={fingerprint}"
            with another_browser(flags=[trusted]) as wall:
                await asyncio.to_thread(wall.get, base + "/wall")
                await wall_shows(wall, "All queues")
                await call_waiting_in(pool, "Returns")
                await wall_shows(wall, "Returns")
                errors = browser_errors(wall)
                assert errors == [], "\n".join(errors)

            async def websocket_logged() -> bool:  # nginx logs a websocket when it closes
                return "/_dash-ws-callback" in (tmp_path / "access.log").read_text()

            await wait_for(websocket_logged, 10, "nginx to log the closed websocket")
            upgraded = [line for line in (tmp_path / "access.log").read_text().splitlines()
                        if "/_dash-ws-callback" in line]
            assert all('" 101 ' in line for line in upgraded), upgraded
