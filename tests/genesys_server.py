"""A Genesys Cloud stand-in on loopback: the Platform API calls and the notification websocket the
Genesys Cloud source uses, with the payload shapes of Genesys' documentation.

It signs clients in (OAuth client credentials), makes notification channels, keeps their
subscriptions, answers the status queries (queue members, the analytics conversation details
query, a conversation), and pushes notifications to the sockets subscribed to their topic, with a
heartbeat every ``heartbeat_s`` and a pong for every ``{"message":"ping"}``. A test drives the
floor through :class:`CallScript` and :meth:`GenesysServer.set_activity`, and the faults through
:meth:`send_socket_closing`, :meth:`drop_sockets`, :meth:`expire_tokens` and ``silent``. Like Genesys, what is
published while no socket listens is lost to the sockets; only the status queries still see it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CLIENT_ID = "callboard-test-client"
CLIENT_SECRET = "s3cret"


def stamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class GenesysServer:
    def __init__(self, *, token_lifetime_s: float = 86400, channel_lifetime_s: float = 86400,
                 heartbeat_s: float = 30.0) -> None:
        self.token_lifetime_s = token_lifetime_s
        self.channel_lifetime_s = channel_lifetime_s
        self.heartbeat_s = heartbeat_s
        self.url = ""
        self.tokens: dict[str, float] = {}  # token -> time.monotonic() it expires
        self.sign_ins = 0
        self.channels: dict[str, dict[str, Any]] = {}  # id -> {"token", "topics", "sockets"}
        self.members: dict[str, list[dict[str, Any]]] = {}  # queue -> QueueMember entities
        self.conversations: dict[str, dict[str, Any]] = {}
        self.pings = 0
        self.silent = False  # no heartbeats, no pongs: a socket dead without being closed
        self.throttle = 0  # the next this many API requests are answered 429
        self.throttled = 0
        self._numbers = itertools.count(1)
        self._last_tick = datetime.now(UTC)

    def tick(self) -> str:
        """The time of a change on the floor: now, and always later than the change before (a test makes
        its changes faster than a floor does, and each must have a time of its own)."""
        self._last_tick = max(datetime.now(UTC), self._last_tick + timedelta(milliseconds=1))
        return stamp(self._last_tick)

    # --- the floor, as a test drives it ---------------------------------------------------------
    def add_member(self, queue: str, user: str, name: str, *, status: str = "IDLE",
                   presence: str = "On Queue", joined: bool = True) -> None:
        at = self.tick()
        self.members.setdefault(queue, []).append({
            "id": user, "name": name, "joined": joined, "memberBy": "user",
            "routingStatus": {"userId": user, "status": status, "startTime": at},
            "user": {"id": user, "name": name,
                     "presence": {"presenceDefinition": {"id": str(uuid.uuid4()), "systemPresence": presence},
                                  "modifiedDate": at}},
        })

    async def set_activity(self, user: str, *, status: str, presence: str, queues: list[str] | None = None) -> dict:
        """Change a user's routing status and presence (and, given ``queues``, the queues the user takes
        calls from) and notify v2.users.{id}.activity."""
        at = self.tick()
        for queue, listing in self.members.items():
            for member in listing:
                if member["id"] == user and queues is not None:
                    member["joined"] = queue in queues
        active = [queue for queue, listing in self.members.items()
                  if any(member["id"] == user and member["joined"] for member in listing)]
        body = {"id": user, "routingStatus": {"status": status, "startTime": at},
                "presence": {"presenceDefinition": {"id": str(uuid.uuid4()), "systemPresence": presence},
                             "presenceMessage": "", "modifiedDate": at},
                "outOfOffice": {"active": False}, "activeQueueIds": active,
                "dateActiveQueuesChanged": at}
        for listing in self.members.values():
            for member in listing:
                if member["id"] == user:
                    member["routingStatus"] = {"userId": user, "status": status, "startTime": at}
                    member["user"]["presence"] = body["presence"]
        await self.publish(f"v2.users.{user}.activity", body)
        return body

    async def publish_conversation(self, conversation: dict[str, Any]) -> None:
        self.conversations[conversation["id"]] = copy.deepcopy(conversation)
        queues = {p["queueId"] for p in conversation["participants"] if p.get("queueId")}
        for queue in sorted(queues):
            await self.publish(f"v2.routing.queues.{queue}.conversations", conversation)

    async def publish(self, topic: str, body: Any) -> None:
        await self.send_to(topic, {"topicName": topic, "version": "2", "eventBody": body,
                                   "metadata": {"CorrelationId": str(uuid.uuid4())}})

    async def send_to(self, topic: str | None, message: Any) -> None:
        """Send ``message`` (JSON, or text as it is) to every socket subscribed to ``topic`` (None: all)."""
        text = message if isinstance(message, str) else json.dumps(message)
        for channel in list(self.channels.values()):
            if topic is None or topic in channel["topics"]:
                for socket in list(channel["sockets"]):
                    with contextlib.suppress(Exception):
                        await socket.send_text(text)

    # --- faults ---------------------------------------------------------------------------------
    async def send_socket_closing(self) -> None:
        await self.send_to(None, {"topicName": "v2.system.socket_closing",
                                  "eventBody": {"message": "The socket will close soon for maintenance"}})

    async def drop_sockets(self) -> None:
        for channel in self.channels.values():
            for socket in list(channel["sockets"]):
                with contextlib.suppress(Exception):
                    await socket.close(1011)

    async def expire_tokens(self) -> None:
        """Every token stops working now; the sockets of channels made with one close, as Genesys does."""
        for token in self.tokens:
            self.tokens[token] = 0.0
        await self._close_expired()

    @property
    def open_sockets(self) -> int:
        return sum(len(channel["sockets"]) for channel in self.channels.values())

    # --- the HTTP API ---------------------------------------------------------------------------
    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token, 0.0) > time.monotonic()

    def _throttled(self) -> Response | None:
        """429, as Genesys answers a client over its rate limit, while ``throttle`` counts down."""
        if self.throttle <= 0:
            return None
        self.throttle -= 1
        self.throttled += 1
        return JSONResponse({"status": 429, "code": "too.many.requests"}, 429, headers={"Retry-After": "0"})

    async def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        token = f"token-{next(self._numbers)}"
        self.tokens[token] = time.monotonic() + self.token_lifetime_s
        self.sign_ins += 1
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime_s})

    async def _create_channel(self, request: Request) -> Response:
        if throttled := self._throttled():
            return throttled
        if not self._authorized(request):
            return JSONResponse({"status": 401, "code": "bad.credentials"}, 401)
        channel_id = f"streaming-{next(self._numbers)}-{uuid.uuid4().hex[:12]}"
        token = request.headers["authorization"].removeprefix("Bearer ")
        self.channels[channel_id] = {"token": token, "topics": set(), "sockets": [],
                                     "expires": time.monotonic() + self.channel_lifetime_s}
        expires = datetime.now(UTC) + timedelta(seconds=self.channel_lifetime_s)
        host = self.url.removeprefix("http://")
        return JSONResponse({"id": channel_id, "connectUri": f"ws://{host}/channels/{channel_id}",
                             "expires": stamp(expires)})

    async def _subscribe(self, request: Request) -> Response:
        if throttled := self._throttled():
            return throttled
        if not self._authorized(request):
            return JSONResponse({"status": 401}, 401)
        channel = self.channels.get(request.path_params["channel"])
        if channel is None:
            return JSONResponse({"status": 404}, 404)
        channel["topics"] = {topic["id"] for topic in await request.json()}
        return JSONResponse({"entities": [{"id": topic} for topic in sorted(channel["topics"])]})

    async def _members(self, request: Request) -> Response:
        if throttled := self._throttled():
            return throttled
        if not self._authorized(request):
            return JSONResponse({"status": 401}, 401)
        listing = self.members.get(request.path_params["queue"], [])
        size = int(request.query_params.get("pageSize", 25))
        number = int(request.query_params.get("pageNumber", 1))
        page = listing[(number - 1) * size:number * size]
        return JSONResponse({"entities": page, "pageSize": size, "pageNumber": number, "total": len(listing),
                             "pageCount": max(1, -(-len(listing) // size))})

    async def _details_query(self, request: Request) -> Response:
        if throttled := self._throttled():
            return throttled
        if not self._authorized(request):
            return JSONResponse({"status": 401}, 401)
        query = await request.json()
        queues = {p["value"] for f in query["segmentFilters"] for p in f["predicates"]}
        active = [c for c in self.conversations.values()
                  if not _ended(c) and queues & {p.get("queueId") for p in c["participants"]}]
        size, number = query["paging"]["pageSize"], query["paging"]["pageNumber"]
        page = active[(number - 1) * size:number * size]
        return JSONResponse({"conversations": [{"conversationId": c["id"]} for c in page],
                             "totalHits": len(active)})

    async def _conversation(self, request: Request) -> Response:
        if throttled := self._throttled():
            return throttled
        if not self._authorized(request):
            return JSONResponse({"status": 401}, 401)
        conversation = self.conversations.get(request.path_params["conversation"])
        if conversation is None:
            return JSONResponse({"status": 404}, 404)
        return JSONResponse(conversation)

    async def _socket(self, websocket: WebSocket) -> None:
        channel = self.channels.get(websocket.path_params["channel"])
        if channel is None:
            await websocket.close(4004)
            return
        await websocket.accept()
        channel["sockets"].append(websocket)
        beating = asyncio.create_task(self._heartbeat(websocket))
        try:
            while True:
                text = await websocket.receive_text()
                if json.loads(text) == {"message": "ping"}:
                    self.pings += 1
                    if self.silent:
                        continue
                    await websocket.send_text(json.dumps({"topicName": "channel.metadata",
                                                          "eventBody": {"message": "pong"}}))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            beating.cancel()
            channel["sockets"].remove(websocket)

    async def _heartbeat(self, websocket: WebSocket) -> None:
        last_beat = time.monotonic()
        while True:
            await asyncio.sleep(0.1)
            await self._close_expired()
            if time.monotonic() - last_beat >= self.heartbeat_s and not self.silent:
                last_beat = time.monotonic()
                await websocket.send_text(json.dumps({"topicName": "channel.metadata",
                                                      "eventBody": {"message": "WebSocket Heartbeat"}}))

    async def _close_expired(self) -> None:
        now = time.monotonic()
        for channel in self.channels.values():
            if self.tokens.get(channel["token"], 0.0) <= now or channel["expires"] <= now:
                for socket in list(channel["sockets"]):
                    with contextlib.suppress(Exception):
                        await socket.close(1000)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/api/v2/notifications/channels", self._create_channel, methods=["POST"]),
            Route("/api/v2/notifications/channels/{channel}/subscriptions", self._subscribe, methods=["PUT"]),
            Route("/api/v2/routing/queues/{queue}/members", self._members, methods=["GET"]),
            Route("/api/v2/analytics/conversations/details/query", self._details_query, methods=["POST"]),
            Route("/api/v2/conversations/{conversation}", self._conversation, methods=["GET"]),
            WebSocketRoute("/channels/{channel}", self._socket),
        ])


def _ended(conversation: dict[str, Any]) -> bool:
    return any(p.get("purpose") == "customer" and p.get("endTime") for p in conversation["participants"])


@contextlib.asynccontextmanager
async def genesys_server(**options: Any) -> AsyncIterator[GenesysServer]:
    server = GenesysServer(**options)
    runner = uvicorn.Server(uvicorn.Config(server.app(), host="127.0.0.1", port=0, log_config=None,
                                           timeout_graceful_shutdown=1))
    serving = asyncio.create_task(runner.serve())
    while not runner.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    server.url = f"http://127.0.0.1:{runner.servers[0].sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        await server.drop_sockets()
        runner.should_exit = True
        await asyncio.wait_for(serving, 30)


class CallScript:
    """One inbound call's conversation, changed step by step and published after each step, as the
    queue's conversations topic shows it: the customer, the queue (acd) and the agents, each with
    their call."""

    def __init__(self, server: GenesysServer, queue: str, ani: str) -> None:
        self.server = server
        self.id = str(uuid.uuid4())
        at = server.tick()
        self.customer = self._participant("customer", at, address=f"tel:{ani}")
        self.acd = self._participant("acd", at, queueId=queue)
        self.agent: dict[str, Any] | None = None
        self.conversation = {"id": self.id, "maxParticipants": 3, "participants": [self.customer, self.acd]}

    @staticmethod
    def _participant(purpose: str, at: str, **fields: Any) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "purpose": purpose, "connectedTime": at, **fields,
                "calls": [{"id": str(uuid.uuid4()), "state": "connected", "held": False, "direction": "inbound",
                           "connectedTime": at}]}

    async def publish(self) -> None:
        await self.server.publish_conversation(self.conversation)

    async def queued(self) -> CallScript:
        await self.publish()
        return self

    async def answer(self, user: str) -> None:
        at = self.server.tick()
        self._end(self.acd, "transfer", at)
        self.agent = self._participant("agent", at, userId=user)
        self.conversation["participants"].append(self.agent)
        await self.publish()

    async def hold(self) -> str:
        at = self.server.tick()
        self.agent["calls"][0].update(held=True, startHoldTime=at)
        await self.publish()
        return at

    async def unhold(self) -> None:
        self.agent["calls"][0].update(held=False, startHoldTime=None)
        await self.publish()

    async def hang_up(self, by: str) -> None:
        at = self.server.tick()
        self._end(self.customer, "endpoint" if by == "customer" else "peer", at)
        if self.agent is not None:
            self._end(self.agent, "client" if by == "agent" else "peer", at)
            self.agent["startAcwTime"] = at
        else:
            self._end(self.acd, "peer", at)
        await self.publish()

    async def leave_queue(self) -> None:
        """The queue gives up (its timeout) and the flow ends the call: not the caller's doing."""
        at = self.server.tick()
        self._end(self.acd, "timeout", at)
        self._end(self.customer, "peer", at)
        await self.publish()

    def transfer_out_unnotified(self) -> None:
        """The agent sends the caller to an outside number, where the call ends: the conversation has
        left the queue, so its topic tells of neither; only the status queries see it over."""
        at = self.server.tick()
        self._end(self.agent, "transfer", at)
        self._end(self.customer, "peer", at)
        self.server.conversations[self.id] = copy.deepcopy(self.conversation)

    @staticmethod
    def _end(participant: dict[str, Any], how: str, at: str) -> None:
        participant["endTime"] = at
        participant["calls"][0].update(state="disconnected", disconnectType=how, disconnectedTime=at, held=False)
