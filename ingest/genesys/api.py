"""The Genesys Cloud Platform API calls the source makes, over HTTPS with httpx.

Sign-in is OAuth client credentials (POST {login}/oauth/token); the token is kept and fetched
again before it expires, or at once when the API answers 401. Listings are read page by page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .exceptions import GenesysError

PAGE_SIZE = 100
# A request answered 429 (rate limited) is asked again this many times, after Retry-After seconds
# (at most THROTTLED_WAIT_MAX_S).
THROTTLED_RETRIES = 5
THROTTLED_WAIT_MAX_S = 60.0
# Active conversations are looked for among those that began within this window before now.
ACTIVE_WITHIN = timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Channel:
    id: str
    connect_uri: str
    expires: datetime


def login_url_for(api_url: str) -> str:
    """The region's login address: https://api.mypurecloud.com signs in at https://login.mypurecloud.com.
    An address not starting with api. signs in at itself."""
    parts = httpx.URL(api_url)
    host = parts.host
    if host.startswith("api."):
        return str(parts.copy_with(host="login." + host.removeprefix("api."), path="/")).rstrip("/")
    return api_url.rstrip("/")


class GenesysApi:
    def __init__(self, http: httpx.AsyncClient, api_url: str, login_url: str, client_id: str,
                 client_secret: str) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._login_url = login_url.rstrip("/")
        self._credentials = (client_id, client_secret)
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic() when the token stops working
        self.token_lifetime_s = 0.0

    @property
    def token_seconds_left(self) -> float:
        return self._token_expires - time.monotonic()

    async def sign_in(self) -> None:
        """Fetch a new access token (the old one, if any, is dropped)."""
        try:
            response = await self._http.post(f"{self._login_url}/oauth/token", auth=self._credentials,
                                             data={"grant_type": "client_credentials"})
        except httpx.HTTPError as exc:
            raise GenesysError(f"Genesys Cloud sign-in at {self._login_url} failed: {exc!r}") from exc
        if response.status_code != 200:
            raise GenesysError(f"Genesys Cloud refused the sign-in with HTTP {response.status_code}; check "
                               "CALLBOARD_GENESYS_CLIENT_ID and CALLBOARD_GENESYS_CLIENT_SECRET")
        body = _json(response, "the sign-in")
        try:
            self._token = body["access_token"]
            self.token_lifetime_s = float(body["expires_in"])
            self._token_expires = time.monotonic() + self.token_lifetime_s
        except (KeyError, TypeError, ValueError) as exc:
            raise GenesysError(f"Genesys Cloud's sign-in answer has no usable token: {exc!r}") from exc

    async def create_channel(self) -> Channel:
        body = await self._request("POST", "/api/v2/notifications/channels")
        try:
            expires = datetime.fromisoformat(body["expires"])
            expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            channel = Channel(body["id"], body["connectUri"], expires)
        except (KeyError, TypeError, ValueError) as exc:
            raise GenesysError(f"Genesys Cloud's new notification channel is not usable: {exc!r}") from exc
        if channel.expires <= datetime.now(UTC):
            raise GenesysError(f"Genesys Cloud's new notification channel expired already, at {body['expires']}")
        return channel

    async def subscribe(self, channel_id: str, topics: list[str]) -> None:
        await self._request("PUT", f"/api/v2/notifications/channels/{channel_id}/subscriptions",
                            json=[{"id": topic} for topic in topics])

    async def queue_members(self, queue_id: str) -> list[dict[str, Any]]:
        """Every member of the queue, with routing status and presence."""
        members: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self._request("GET", f"/api/v2/routing/queues/{queue_id}/members",
                                       params={"pageSize": PAGE_SIZE, "pageNumber": page,
                                               "expand": "routingStatus,presence"})
            members.extend(body.get("entities") or [])
            if page >= int(body.get("pageCount") or 1):
                return members
            page += 1

    async def active_conversation_ids(self, queue_ids: tuple[str, ...]) -> list[str]:
        """Conversations of the queues that have not ended (the analytics conversation details query)."""
        now = datetime.now(UTC)
        interval = f"{_iso(now - ACTIVE_WITHIN)}/{_iso(now + timedelta(minutes=1))}"
        ids: list[str] = []
        page = 1
        while True:
            body = await self._request("POST", "/api/v2/analytics/conversations/details/query", json={
                "interval": interval,
                "order": "asc",
                "orderBy": "conversationStart",
                "paging": {"pageSize": PAGE_SIZE, "pageNumber": page},
                "conversationFilters": [{"type": "and", "predicates": [
                    {"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}]}],
                "segmentFilters": [{"type": "or", "predicates": [
                    {"type": "dimension", "dimension": "queueId", "value": queue} for queue in queue_ids]}],
            })
            found = body.get("conversations") or []
            ids.extend(conversation["conversationId"] for conversation in found)
            if len(found) < PAGE_SIZE:
                return ids
            page += 1

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        return await self._request("GET", f"/api/v2/conversations/{conversation_id}")

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        if response.status_code == 401:  # the token expired or was revoked: sign in again, once
            self._token = None
            response = await self._send(method, path, **kwargs)
        for _ in range(THROTTLED_RETRIES):
            if response.status_code != 429:
                break
            # Over the organisation's rate limit: wait as long as Genesys says, then ask again.
            await asyncio.sleep(_retry_after(response))
            response = await self._send(method, path, **kwargs)
        if response.status_code >= 300:
            raise GenesysError(f"Genesys Cloud answered {method} {path} with HTTP {response.status_code}")
        return _json(response, f"{method} {path}") if response.content else None

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            await self.sign_in()
        try:
            return await self._http.request(method, self._api_url + path,
                                            headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        except httpx.HTTPError as exc:
            raise GenesysError(f"Genesys Cloud {method} {path} failed: {exc!r}") from exc


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise GenesysError(f"Genesys Cloud's answer to {what} is not JSON") from exc


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "1")), 0.0), THROTTLED_WAIT_MAX_S)
    except ValueError:
        return 1.0


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
