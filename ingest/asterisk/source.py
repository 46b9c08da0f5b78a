"""The ``asterisk-ami`` source: log in to Asterisk's Manager Interface, rebuild the floor from
``QueueStatus``, then translate queue events as they come; reconnect forever.

AMI cannot replay what was sent while the connection was down, so every (re)connect rebuilds the
live state from ``QueueStatus`` and says so in ``note`` (shown on /readyz) and in the log.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg
import orjson
from websockets.exceptions import InvalidHandshake, InvalidURI

from callboard import logs
from callboard.exceptions import ConfigError
from callboard.settings import Settings
from db.pool import TRANSIENT_ERRORS

from ..feed import YIELD_EVERY, reconnect_delays, shown_url
from ..journal import Message
from ..protocol import Rejected, parse_message
from ..stored_floor import StoredFloorReader
from ..writer import Received
from .ami import AmiStream, Headers, Unreadable, open_stream
from .exceptions import AmiActionRefused, AmiConnectionLost, AmiEventUnusable, AmiLoginRefused, AmiProtocolError
from .translate import SYSTEM, Event, Translator

logger = logging.getLogger(__name__)

# Dead-letter kind of AMI input Callboard cannot use (docs/integrations.md).
REJECT_KIND = "source"


class AmiSource:
    def __init__(self, url: str, *, deliver: Callable[[Received, Message], Awaitable[None]],
                 on_connection: Callable[[bool], Awaitable[None]], stored_floor: StoredFloorReader,
                 username: str | None, secret: str | None, ping_interval: float = 10.0,
                 ping_timeout: float = 30.0) -> None:
        self.url = url
        self.last_seq = None  # AMI cannot replay: nothing to resume from
        self.note: str | None = None
        self._deliver = deliver
        self._on_connection = on_connection
        self._stored_floor = stored_floor
        self._username = username
        self._secret = secret
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._translator = Translator()
        self._told_channels_refused = False
        self._action_ids = itertools.count(1)
        self._shown_url = shown_url(self.url)

    async def run(self) -> None:
        await self._take_up()
        delays = reconnect_delays()
        while True:
            try:
                async with asyncio.timeout(self._ping_timeout):
                    stream = await open_stream(self.url, ping_interval=self._ping_interval,
                                               ping_timeout=self._ping_timeout)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, AmiConnectionLost, AmiProtocolError) as exc:
                logger.warning("cannot reach the Asterisk Manager Interface; retrying",
                               extra={"action": "ami_connect_failed", "url": self._shown_url, "error": str(exc)})
                await asyncio.sleep(next(delays))
                continue
            connected = False
            try:
                await self._log_in(stream)
                connected = True
                await self._on_connection(True)
                delays = reconnect_delays()  # a connection that worked starts the back-off afresh
                await self._follow(stream, await self._rebuild(stream))
            except AmiLoginRefused as exc:
                logger.error("Asterisk refused the login; check CALLBOARD_AMI_USERNAME, CALLBOARD_AMI_SECRET and "
                             "the user's read permissions; retrying",
                             extra={"action": "ami_login_refused", "url": self._shown_url, "error": str(exc)})
            except AmiEventUnusable as exc:  # a status reply Callboard cannot read: never a stop of the ingest
                logger.error("Asterisk's status reply could not be read; reconnecting to ask again (check the "
                             "dead letters for the entry)",
                             extra={"action": "ami_status_unreadable", "error": str(exc)})
                await self._dead_letter(str(exc), f"QueueStatus reply unreadable ({exc})", datetime.now(UTC))
            except (AmiConnectionLost, AmiProtocolError) as exc:
                logger.warning("Asterisk Manager Interface connection lost; reconnecting and rebuilding live state "
                               "from QueueStatus", extra={"action": "ami_disconnected", "url": self._shown_url,
                                                          "reason": str(exc) or type(exc).__name__})
            finally:
                await stream.close()
                if connected:
                    await self._on_connection(False)
            await asyncio.sleep(next(delays))

    async def _take_up(self) -> None:
        """Start from the calls in progress and agents' states the ingest stored before, so that a restart
        stores nothing twice (see Translator.take_up)."""
        try:
            floor = await self._stored_floor.read()
        except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:
            logger.warning("cannot read the calls in progress stored before; the rebuild may store calls already "
                           "stored again, with their times from Asterisk's whole seconds",
                           extra={"action": "ami_take_up_failed", "error": str(exc) or type(exc).__name__})
            return
        self._translator.take_up(floor)
        logger.info("taken up from the stored floor", extra={"action": "ami_taken_up", "calls": len(floor.calls)})

    async def _log_in(self, stream: AmiStream) -> None:
        if self._username is None:  # a bridge that logs in itself
            return
        reply, _ = await self._action(stream, {"Action": "Login", "Username": self._username,
                                               "Secret": self._secret or "", "Events": "on"})
        if reply.get("Response") != "Success":
            raise AmiLoginRefused(reply.get("Message") or "no reason given")
        logger.info("logged in to the Asterisk Manager Interface",
                    extra={"action": "ami_connected", "url": self._shown_url})

    async def _rebuild(self, stream: AmiStream) -> list[tuple[datetime, Headers | Unreadable]]:
        """Ask for QueueStatus and bring the floor up to date from it; the live events that came
        meanwhile, to translate after it."""
        status, live = await self._action(stream, {"Action": "QueueStatus"}, list_ends="QueueStatusComplete")
        if status is None:
            raise AmiActionRefused("QueueStatus refused: the manager user cannot read the queues")
        channels = await self._live_channels(stream, live)
        now = datetime.now(UTC)
        rebuilt = self._translator.rebuild(status, now, channels)
        await self._hand_over(rebuilt.events, now)
        self.note = (f"live state rebuilt from QueueStatus at {now:%H:%M:%S}Z after (re)connecting: "
                     f"{rebuilt.waiting} callers waiting, {rebuilt.ended_unseen} calls found over and ended as "
                     "released by the system; calls that began and ended while disconnected are missing")
        logger.warning(self.note, extra={"action": "ami_state_rebuilt", "waiting": rebuilt.waiting,
                                         "ended_unseen": rebuilt.ended_unseen})
        return live

    async def _live_channels(self, stream: AmiStream, live: list[tuple[datetime, Headers | Unreadable]],
                             ) -> set[str] | None:
        """The Uniqueids of every channel up now (CoreShowChannels), or None if Asterisk refuses to say."""
        channels, meanwhile = await self._action(stream, {"Action": "CoreShowChannels"},
                                                 list_ends="CoreShowChannelsComplete")
        live.extend(meanwhile)
        if channels is None:
            if not self._told_channels_refused:
                self._told_channels_refused = True
                logger.warning("Asterisk refuses CoreShowChannels (give the manager user write=reporting); calls "
                               "that ended while disconnected are found from their agents' queue status instead",
                               extra={"action": "ami_channels_refused"})
            return None
        return {headers["Uniqueid"] for headers in channels if headers.get("Uniqueid")}

    async def _action(self, stream: AmiStream, action: Headers, list_ends: str | None = None,
                      ) -> tuple[list[Headers] | Headers | None, list[tuple[datetime, Headers | Unreadable]]]:
        """Send ``action``; its reply and what else came meanwhile. With ``list_ends``, the reply is
        the events of the list it announces, up to the one of that name, or None if it was refused."""
        action_id = f"callboard-{next(self._action_ids)}"
        await stream.send({**action, "ActionID": action_id})
        others: list[tuple[datetime, Headers | Unreadable]] = []
        listed: list[Headers] = []
        while True:
            try:
                async with asyncio.timeout(self._ping_timeout):
                    message = await stream.receive()
            except TimeoutError:
                raise AmiConnectionLost(f"no answer to {action['Action']} within {self._ping_timeout:g} s") from None
            if isinstance(message, Unreadable) or message.get("ActionID") != action_id:
                others.append((datetime.now(UTC), message))
            elif "Response" in message:
                if list_ends is None:
                    return message, others
                if message["Response"] != "Success":
                    return None, others
            elif message.get("Event") == list_ends:
                return listed, others
            else:
                listed.append(message)

    async def _follow(self, stream: AmiStream, waiting: list[tuple[datetime, Headers | Unreadable]]) -> None:
        for received_at, message in waiting:
            await self._take(message, received_at)
        keepalive = urlsplit(self.url).scheme == "tcp"  # a websocket pings by itself
        silent_since = asyncio.get_running_loop().time()
        for count in itertools.count(1):
            try:
                async with asyncio.timeout(self._ping_interval if keepalive else None):
                    message = await stream.receive()
            except TimeoutError:
                if asyncio.get_running_loop().time() - silent_since >= self._ping_timeout:
                    raise AmiConnectionLost(f"no answer to pings for {self._ping_timeout:g} s") from None
                await stream.send({"Action": "Ping", "ActionID": f"callboard-{next(self._action_ids)}"})
                continue
            silent_since = asyncio.get_running_loop().time()
            await self._take(message, datetime.now(UTC))
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _take(self, message: Headers | Unreadable, received_at: datetime) -> None:
        if isinstance(message, Unreadable):
            await self._dead_letter(message.raw, message.reason, received_at)
            return
        try:
            events = self._translator.translate(message, received_at)
        except AmiEventUnusable as exc:
            await self._dead_letter(orjson.dumps(message).decode(), str(exc), received_at)
            return
        except Exception as exc:  # one event Callboard misreads must not stop the floor
            logger.error("an AMI event could not be translated; dead-lettered",
                         extra={"action": "ami_translation_failed", "event": message.get("Event"), **logs.fault(exc)})
            await self._dead_letter(orjson.dumps(message).decode(), f"could not be translated ({exc!r})",
                                    received_at)
            return
        await self._hand_over(events, received_at)

    async def _hand_over(self, events: list[Event], received_at: datetime) -> None:
        if not events:
            return
        text = orjson.dumps(events[0] if len(events) == 1 else events).decode()
        await self._deliver(Received(received_at, *parse_message(text)), text)

    async def _dead_letter(self, raw: str, reason: str, received_at: datetime) -> None:
        reject = Rejected(REJECT_KIND, f"{SYSTEM}: {reason}", raw)
        await self._deliver(Received(received_at, [], [reject]), raw)


def open_ami(url: str, *, deliver: Callable[[Received, Message], Awaitable[None]],
             on_connection: Callable[[bool], Awaitable[None]], last_seq: int | None, settings: Settings,
             stored_floor: StoredFloorReader) -> AmiSource:
    """Asterisk's Manager Interface: ``tcp://host:5038``, or a bridge carrying it as JSON over a websocket."""
    if url.startswith("tcp://") and not (settings.ami_username and settings.ami_secret):
        raise ConfigError("the asterisk-ami source needs CALLBOARD_AMI_USERNAME and CALLBOARD_AMI_SECRET "
                          "(or CALLBOARD_AMI_SECRET_FILE) to log in")
    if any(c in (settings.ami_username or "") + (settings.ami_secret or "") for c in "\r\n"):
        raise ConfigError("CALLBOARD_AMI_USERNAME and CALLBOARD_AMI_SECRET cannot hold a line break")
    return AmiSource(url, deliver=deliver, on_connection=on_connection, stored_floor=stored_floor,
                     username=settings.ami_username,
                     secret=settings.ami_secret, ping_interval=min(10.0, settings.feed_ping_timeout_s / 2),
                     ping_timeout=settings.feed_ping_timeout_s)
