"""The Genesys Cloud source: notifications over a websocket, made into protocol events.

One session: sign in, create a notification channel, subscribe it to the queues' conversations
and their members' activity, open its websocket, then rebuild the live state from status queries
(Genesys cannot replay what was sent while no socket was open) and hand over every notification.
Before the channel or the token expires, and when Genesys warns that it will close the socket
(``v2.system.socket_closing``), a new channel is made, subscribed and opened while the old one
still delivers; the old one is closed once the new one is reading, so nothing falls between the
two (what both deliver is one event, by its id). A lost socket, a failed request or a heartbeat
that stops coming ends the session; the next one starts after the native feed's back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from callboard import logs
from callboard.exceptions import ConfigError
from callboard.settings import Settings

from ..feed import MAX_MESSAGE_BYTES, reconnect_delays
from ..protocol import Rejected, parse_message
from ..writer import Received
from .api import Channel, GenesysApi, login_url_for
from .exceptions import GenesysError, Untranslatable
from .translate import Translator, agent_state, queue_members, time_of

if TYPE_CHECKING:  # ingest.sources lists this source
    from ..sources import Deliver, OnConnection
    from ..stored_floor import StoredFloorReader

logger = logging.getLogger(__name__)

SYSTEM = "genesys-cloud"
# Genesys sends a heartbeat every 30 s. Silent this long, the socket is asked for a pong ...
HEARTBEAT_LATE_S = 40.0
# ... and, silent CALLBOARD_FEED_PING_TIMEOUT_S longer, it is given up for dead.
# A channel lives 24 h; a token as long as Genesys says. Both are replaced this long before their end
# (or a fifth of their life, if that is shorter).
RENEW_BEFORE_S = 600.0
# During a switch of channel, both sockets deliver for this long before the old one is closed.
SWITCH_OVERLAP_S = 2.0
HTTP_TIMEOUT_S = 30.0
# The most topics one channel may be subscribed to (Genesys' limit).
MAX_TOPICS = 1000
# While a channel is up, how often the conversations in progress are asked for, to let go of those
# that ended unseen (a call transferred out of the queues is not notified on their topics any more).
SWEEP_EVERY_S = 600.0


@dataclasses.dataclass
class _Socket:
    channel: Channel
    ws: ClientConnection
    lifetime_s: float  # the channel's, from its opening
    last_heard: float  # time.monotonic()

    @property
    def seconds_left(self) -> float:
        return (self.channel.expires - datetime.now(UTC)).total_seconds()


class GenesysCloudSource:
    """A :class:`ingest.sources.Source` reading Genesys Cloud's notification service."""

    def __init__(self, url: str, *, deliver: Deliver, on_connection: OnConnection, settings: Settings,
                 http: httpx.AsyncClient | None = None) -> None:
        missing = [name for name, value in (("CALLBOARD_GENESYS_CLIENT_ID", settings.genesys_client_id),
                                            ("CALLBOARD_GENESYS_CLIENT_SECRET", settings.genesys_client_secret),
                                            ("CALLBOARD_GENESYS_QUEUES", settings.genesys_queues)) if not value]
        if missing:
            raise ConfigError(f"the genesys-cloud source needs {', '.join(missing)}")
        self.url = url.rstrip("/")
        self.last_seq = None  # Genesys numbers nothing that could be replayed
        self.note: str | None = None
        self._deliver = deliver
        self._on_connection = on_connection
        self._settings = settings
        self._queues: tuple[str, ...] = settings.genesys_queues
        self._login_url = settings.genesys_login_url or login_url_for(self.url)
        self._http = http
        self._translator = Translator()
        self._names: dict[str, str] = {}  # agent id -> name, from the queues' member lists
        self._members: dict[str, set[str]] = {}  # queue -> the agents who take its calls now
        self._handling = asyncio.Lock()  # two sockets deliver during a switch; one notification at a time
        self._switch_now = asyncio.Event()
        self._connected = False
        self._rebuilds = 0

    async def run(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            http = self._http or await stack.enter_async_context(httpx.AsyncClient(timeout=HTTP_TIMEOUT_S))
            api = GenesysApi(http, self.url, self._login_url, self._settings.genesys_client_id,
                             self._settings.genesys_client_secret)
            delays = reconnect_delays()
            while True:
                self._connected = False
                try:
                    await self._session(api)
                except (GenesysError, WebSocketException, OSError, TimeoutError) as exc:
                    reason = str(exc) or type(exc).__name__
                except (KeyError, TypeError, ValueError, AttributeError) as exc:  # never a stop of the ingest
                    reason = f"an answer of a shape Callboard does not know ({type(exc).__name__})"
                    logger.error("Genesys Cloud answered in a shape Callboard does not read; reconnecting",
                                 extra={"action": "genesys_answer_unreadable", **logs.fault(exc)})
                if self._connected:
                    delays = reconnect_delays()  # as the native feed: a fresh back-off after a connection
                    await self._on_connection(False)
                delay = next(delays)
                logger.warning("Genesys Cloud connection lost or refused; reconnecting, then rebuilding live state",
                               extra={"action": "genesys_disconnected", "reason": reason,
                                      "retry_in_s": round(delay, 2)})
                await asyncio.sleep(delay)

    async def _session(self, api: GenesysApi) -> None:
        """Connect, rebuild, then read, switching channels as they near their end, until something fails."""
        socket, members = await self._open(api)
        reading = asyncio.create_task(self._read(socket), name="genesys-read")
        try:
            self._connected = True
            await self._on_connection(True)
            await self._rebuild(api, members)
            while True:
                socket, reading = await self._serve(api, socket, reading)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            await socket.ws.close()

    async def _serve(self, api: GenesysApi, socket: _Socket,
                     reading: asyncio.Task[None]) -> tuple[_Socket, asyncio.Task[None]]:
        """Watch ``socket`` until it is time to switch to a new channel; return the new one, being read."""
        watching = asyncio.create_task(self._watch(socket), name="genesys-heartbeat")
        switching = asyncio.create_task(self._switch_due(api, socket), name="genesys-switch")
        sweeping = asyncio.create_task(self._sweep_forever(api), name="genesys-sweep")
        try:
            done, _ = await asyncio.wait({reading, watching, switching, sweeping}, return_when=asyncio.FIRST_COMPLETED)
            if switching not in done:
                for task in done:
                    task.result()  # raises what ended the socket, if anything did
                raise GenesysError(f"the socket closed (code {socket.ws.close_code} {socket.ws.close_reason!r})")
            self._switch_now.clear()
            new, members = await self._open(api)
            logger.info("switching to a new Genesys Cloud notification channel",
                        extra={"action": "genesys_channel_switch"})  # no channel id: it opens the stream
            new_reading = asyncio.create_task(self._read(new), name="genesys-read")
            try:
                await asyncio.sleep(SWITCH_OVERLAP_S)  # both sockets deliver; then the old one goes
                await socket.ws.close()
                await asyncio.gather(reading, return_exceptions=True)
                await self._hand_over_members(members)
            except BaseException:
                new_reading.cancel()
                await new.ws.close()
                raise
            return new, new_reading
        finally:
            for task in (watching, switching, sweeping):
                task.cancel()
            await asyncio.gather(watching, switching, sweeping, return_exceptions=True)

    async def _open(self, api: GenesysApi) -> tuple[_Socket, dict[str, list[Any]]]:
        """A new channel, subscribed to every topic, its websocket open; and the queues' members."""
        if api.token_seconds_left < _renew_before(api.token_lifetime_s):
            await api.sign_in()
        members = {queue: await api.queue_members(queue) for queue in self._queues}
        users = sorted({_member_id(member) for listing in members.values() for member in listing} - {None})
        topics = [f"v2.routing.queues.{queue}.conversations" for queue in self._queues]
        topics += [f"v2.users.{user}.activity" for user in users]
        if len(topics) > MAX_TOPICS:
            raise GenesysError(f"{len(self._queues)} queues and {len(users)} members make {len(topics)} topics, more "
                               f"than the {MAX_TOPICS} one Genesys Cloud channel takes: give fewer queues")
        channel = await api.create_channel()
        await api.subscribe(channel.id, topics)
        ws = await connect(channel.connect_uri, max_size=MAX_MESSAGE_BYTES, ping_interval=None,
                           close_timeout=min(10.0, self._settings.feed_ping_timeout_s), compression=None)
        logger.info("connected to Genesys Cloud", extra={"action": "genesys_connected", "topics": len(topics)})
        lifetime = (channel.expires - datetime.now(UTC)).total_seconds()
        return _Socket(channel, ws, lifetime, time.monotonic()), members

    async def _rebuild(self, api: GenesysApi, members: dict[str, list[Any]]) -> None:
        """Bring the floor up to date from status queries: members, their states, calls in progress."""
        began = datetime.now(UTC)
        await self._hand_over_members(members)
        in_progress = await api.active_conversation_ids(self._queues)
        for conversation_id in in_progress:
            conversation = await api.conversation(conversation_id)
            await self._hand_over(conversation, lambda c=conversation: self._translator.conversation(
                c, datetime.now(UTC)))
        await self._let_go_of_ended(in_progress)
        after = "after a reconnect" if self._rebuilds else "at start"
        self._rebuilds += 1
        self.note = (f"live state rebuilt from Genesys Cloud's status queries at {began:%H:%M:%S}Z {after}; "
                     "calls that began and ended while disconnected are missing")
        logger.warning(self.note, extra={"action": "genesys_state_rebuilt", "conversations": len(in_progress),
                                         "queues": len(members)})

    async def _sweep_forever(self, api: GenesysApi) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            await self._let_go_of_ended(await api.active_conversation_ids(self._queues))

    async def _let_go_of_ended(self, in_progress: list[str]) -> None:
        """Stop following the conversations that ended unseen, or went quiet for too long, and end their
        calls, released by the system."""
        now = datetime.now(UTC)
        ended = self._translator.forget_all_but(set(in_progress), now)
        given_up, ended_quiet = self._translator.give_up_quiet(now)
        if given_up:
            logger.warning("Genesys Cloud conversations not heard of for a long time given up as ended, "
                           "released by the system", extra={"action": "genesys_conversations_given_up",
                                                            "conversations": len(given_up)})
        events = ended + ended_quiet
        await self._hand_over({"ended_unseen": [event["call_id"] for event in events]}, lambda: events)

    @property
    def following(self) -> int:
        """How many conversations in progress the source keeps state of."""
        return self._translator.following

    async def _hand_over_members(self, members: dict[str, list[Any]]) -> None:
        """Each queue's member list, and each member's state now (routing status and presence)."""
        now = datetime.now(UTC)
        for queue, listing in members.items():
            agents = []
            for member in listing:
                user = _member_id(member)
                if user is None:
                    await self._reject("a queue member without an id", member)
                    continue
                if member.get("name"):
                    self._names[user] = member["name"]
                if member.get("joined", True):
                    agents.append(user)
                profile = member.get("user") if isinstance(member.get("user"), dict) else {}
                activity = {"routingStatus": member.get("routingStatus") or profile.get("routingStatus"),
                            "presence": member.get("presence") or profile.get("presence")}
                await self._hand_over(member, lambda a=activity, u=user: [agent_state(u, a, self._names.get(u))])
            self._members[queue] = set(agents)
            await self._hand_over({"queue": queue, "entities": listing},
                                  lambda q=queue, a=agents: [queue_members(q, a, now)])

    async def _read(self, socket: _Socket) -> None:
        async for message in socket.ws:
            socket.last_heard = time.monotonic()
            await self._handle(message)

    async def _handle(self, message: str | bytes) -> None:
        try:
            notification = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            await self._reject(f"a notification that is not JSON: {exc}", message)
            return
        topic = notification.get("topicName") if isinstance(notification, dict) else None
        body = notification.get("eventBody") if isinstance(notification, dict) else None
        if not isinstance(topic, str):
            await self._reject("a notification without a topicName", notification)
        elif topic == "channel.metadata":
            pass  # a heartbeat or the answer to our ping: the socket is alive
        elif topic == "v2.system.socket_closing":
            logger.info("Genesys Cloud will close the socket soon; switching to a new channel",
                        extra={"action": "genesys_socket_closing"})
            self._switch_now.set()
        elif topic.startswith("v2.routing.queues.") and topic.endswith(".conversations"):
            await self._hand_over(notification, lambda: self._translator.conversation(body, datetime.now(UTC)))
        elif topic.startswith("v2.users.") and topic.endswith(".activity"):
            user = topic.removeprefix("v2.users.").removesuffix(".activity")
            await self._hand_over(notification, lambda: self._activity(user, body))
        else:
            await self._reject(f"a notification of a topic Callboard did not subscribe to: {topic}", notification)

    def _activity(self, user: str, activity: Any) -> list[dict[str, Any]]:
        """The user's state, and the member list of each queue the user joined or left (activeQueueIds)."""
        events = [agent_state(user, activity, self._names.get(user))]
        active = activity.get("activeQueueIds")
        if isinstance(active, list):
            changed_at = activity.get("dateActiveQueuesChanged")
            at = time_of(changed_at) if isinstance(changed_at, str) else datetime.now(UTC)
            for queue in self._queues:
                members = self._members.setdefault(queue, set())
                if (queue in active) != (user in members):
                    members ^= {user}
                    events.append(queue_members(queue, sorted(members), at))
        return events

    async def _hand_over(self, raw: Any, translate: Callable[[], list[dict[str, Any]]]) -> None:
        """Deliver the events ``translate()`` makes of ``raw``, each carrying it as its source."""
        async with self._handling:
            try:
                events = translate()
            except Untranslatable as exc:
                await self._reject(str(exc), raw)
                return
            except (KeyError, TypeError, AttributeError, ValueError) as exc:  # a shape not foreseen
                await self._reject(f"could not be read: {exc!r}", raw)
                return
            if not events:
                return
            for event in events:
                event["source"] = {"system": SYSTEM, "event": raw}
            text = orjson.dumps(events).decode()
            await self._deliver(Received(datetime.now(UTC), *parse_message(text)), text)

    async def _reject(self, reason: str, raw: Any) -> None:
        """Dead-letter what Genesys sent that cannot be made into events, saying why."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = text if isinstance(text, str) else orjson.dumps(text).decode()
        reject = Rejected("source", f"{SYSTEM}: {reason}", text)
        await self._deliver(Received(datetime.now(UTC), [], [reject]), text)

    async def _watch(self, socket: _Socket) -> None:
        """Ask a socket whose heartbeat is late for a pong; close it when none comes either."""
        pinged = False
        while True:
            silent = time.monotonic() - socket.last_heard
            if silent > HEARTBEAT_LATE_S + self._settings.feed_ping_timeout_s:
                logger.warning("Genesys Cloud's heartbeat stopped; reconnecting",
                               extra={"action": "genesys_heartbeat_lost", "silent_s": round(silent, 1)})
                await socket.ws.close(1011, "heartbeat lost")
                return
            if silent > HEARTBEAT_LATE_S and not pinged:
                await socket.ws.send('{"message":"ping"}')
                pinged = True
            elif silent <= HEARTBEAT_LATE_S:
                pinged = False
            await asyncio.sleep(min(1.0, HEARTBEAT_LATE_S / 4))

    async def _switch_due(self, api: GenesysApi, socket: _Socket) -> None:
        """Return when the channel or the token nears its end, or Genesys said it will close the socket."""
        due_in = max(0.0, min(socket.seconds_left - _renew_before(socket.lifetime_s),
                              api.token_seconds_left - _renew_before(api.token_lifetime_s)))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(due_in):
                await self._switch_now.wait()


def _renew_before(lifetime_s: float) -> float:
    """How long before its end a channel or token is replaced: RENEW_BEFORE_S, or a fifth of a short life."""
    return min(RENEW_BEFORE_S, lifetime_s / 5)


def _member_id(member: Any) -> str | None:
    user_id = member.get("id") if isinstance(member, dict) else None
    return user_id if isinstance(user_id, str) and user_id else None


def genesys_cloud(url: str, *, deliver: Deliver, on_connection: OnConnection, last_seq: int | None,
                  settings: Settings, stored_floor: StoredFloorReader) -> GenesysCloudSource:
    """Genesys Cloud's notification service, at the region's API address (https://api.mypurecloud.com).
    Neither ``last_seq`` nor the stored floor is needed: every event is named by Genesys' own ids and
    times, so what the status queries give again after a restart is the same event."""
    return GenesysCloudSource(url, deliver=deliver, on_connection=on_connection, settings=settings)
