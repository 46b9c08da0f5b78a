"""The benchmarks sign in as the product's users do (docs/security.md): programs with an API token,
wall pages with a display's URL, the managers' pages with a one-time sign-in link."""

from __future__ import annotations

import http.client
import secrets
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from access.accounts import Accounts
from access.keys import new_key
from access.sessions import Gate
from callboard import settings as settings_module
from dashboard.auth import SESSION_COOKIE
from db.pool import create_pool


@dataclass(frozen=True)
class Credentials:
    api_headers: dict[str, str]  # Authorization: Bearer, of an admin API token
    display_key: str  # opens /display?key= as a wall screen
    sign_in_key: str  # a one-time /signin/link?key= for a manager

    def display_url(self, base_url: str, path: str = "/wall") -> str:
        return f"{base_url}/display?key={self.display_key}&next={path.replace('?', '%3F').replace('&', '%26')}"

    def sign_in_url(self, base_url: str) -> str:
        return f"{base_url}/signin/link?key={self.sign_in_key}"


async def credentials(database_url: str) -> Credentials:
    """A fresh API token, display and manager, each named after this run."""
    run = f"benchmark-{secrets.token_hex(4)}"
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        accounts = Accounts(pool, actor="benchmark")
        token = await accounts.add_token(run, "admin")
        display = await accounts.add_display(run)
        await accounts.add_user(run, "manager", new_key())
        link = await Gate(pool, settings_module.load({})).add_sign_in_link(run, timedelta(hours=6))
    finally:
        await pool.close()
    return Credentials({"Authorization": f"Bearer {token}"}, display, link)


def display_session(base_url: str, display_key: str) -> dict[str, str]:
    """The Cookie header of a wall screen signed in with the display key (for raw websocket clients)."""
    parts = urlsplit(base_url)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        client.request("GET", f"/display?key={display_key}")
        response = client.getresponse()
        response.read()
        cookie = SimpleCookie(response.headers["Set-Cookie"])[SESSION_COOKIE].value
    finally:
        client.close()
    return {"Cookie": f"{SESSION_COOKIE}={cookie}"}
