"""Serve a simulated call floor as a live websocket feed (event protocol v1).

The floor runs on a simulated clock: ``start + backfill + wall time since start * speed``.
Everything the floor produced before that (the backfill) is available at once; newer
events are sent as they fall due, checked every tick.

Each message is one event as a JSON object, or several as a JSON array, oldest first.
A client may send ``{"op": "resume", "after_seq": N}`` as its first message, within the
resume window (one second by default): it then receives every kept event with ``seq``
above ``N``, and live events after that. A client that sends nothing in that window
receives live events only, from the moment it connected. Every client keeps its own
position, so a slow one never holds up the others.

Closing the server ends the run: the floor releases every open call and logs every agent
out (:meth:`CallFloor.shutdown`), and connected clients get those final events, for a
short while at most, before their connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta, tzinfo

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from simulator.floor import CallFloor

logger = logging.getLogger(__name__)

#: Simulated time generated per step while building the backfill, so the event loop
#: stays responsive during a long one.
_BACKFILL_STEP = timedelta(minutes=15)


class FeedServer:
    """A websocket server streaming one :class:`CallFloor` to any number of clients.

    ``port=0`` binds a free port; read :attr:`port` after :meth:`start`. ``backfill`` is
    how much of the floor's past is ready at start: the simulated clock starts at
    ``floor.start + backfill``. Only the last ``history_limit`` events are kept for
    clients that resume (a few per cent more between trims). On :meth:`close`, connected
    clients have up to ``shutdown_grace`` seconds to receive the floor's final events.
    """

    def __init__(
        self,
        floor: CallFloor,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        backfill: timedelta = timedelta(0),
        history_limit: int = 2_000_000,
        resume_window: float = 1.0,
        tick: float = 0.1,
        batch_size: int = 500,
        shutdown_grace: float = 2.0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if backfill < timedelta(0):
            raise ValueError("backfill must not be negative")
        if history_limit < 1 or batch_size < 1:
            raise ValueError("history_limit and batch_size must be positive")
        self.floor = floor
        self.host = host
        self.speed = speed
        self._requested_port = port
        self._anchor = floor.start + backfill
        self._history_limit = history_limit
        self._resume_window = resume_window
        self._tick = tick
        self._batch_size = batch_size
        self._shutdown_grace = shutdown_grace

        # Kept events, JSON-encoded; seqs are consecutive, so an event's place in the
        # list is its seq minus that of the first one kept.
        self._history: list[str] = []
        self._first_seq = self._run_first_seq = floor.next_seq
        self._changed = asyncio.Event()
        # The seq each connected client will be sent next, and an event set (then
        # replaced) whenever one of them moves on or leaves.
        self._positions: dict[ServerConnection, int] = {}
        self._moved = asyncio.Event()
        self._started_at: float | None = None
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Generate the backfill, bind the socket and start the clock; return once bound."""
        if self._server is not None:
            raise RuntimeError("the feed server is already started")
        loop = asyncio.get_running_loop()
        self._started_at = loop.time()
        moment = self.floor.now
        while moment < self._anchor:
            moment = min(moment + _BACKFILL_STEP, self._anchor)
            self._append(self.floor.events_until(moment))
            await asyncio.sleep(0)
        logger.info(
            "Backfill ready",
            extra={"action": "backfill_ready", "events": len(self._history)},
        )
        self._server = await serve(self._handle, self.host, self._requested_port)
        self._ticker = asyncio.create_task(self._run_clock())
        logger.info(
            "Feed server listening",
            extra={"action": "feed_listening", "host": self.host, "port": self.port},
        )

    async def close(self) -> None:
        """End the run: stop the clock, shut the floor down, let connected clients
        receive its final events (up to ``shutdown_grace`` seconds), then close every
        connection and release the port. Closing twice does nothing more.
        """
        if self._closed.is_set():
            return
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            self._append(self.floor.events_until(self.sim_now))
            final = self.floor.shutdown()
            self._append(final)
            logger.info(
                "Floor shut down", extra={"action": "floor_shutdown", "events": len(final)}
            )
            await self._let_clients_catch_up()
            self._server.close()
            await self._server.wait_closed()
            logger.info("Feed server closed", extra={"action": "feed_closed"})
        self._closed.set()

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._server is None:
            raise RuntimeError("the feed server is not started")
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """The feed's ``ws://`` address."""
        return f"ws://{self.host}:{self.port}"

    @property
    def sim_now(self) -> datetime:
        """The simulated instant the clock shows now."""
        if self._started_at is None:
            return self._anchor
        elapsed = asyncio.get_running_loop().time() - self._started_at
        return self._anchor + timedelta(seconds=elapsed * self.speed)

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the newest event produced so far (one less than the first if none)."""
        return self._first_seq + len(self._history) - 1

    # -- producing events ------------------------------------------------------------

    async def _run_clock(self) -> None:
        while True:
            self._append(self.floor.events_until(self.sim_now))
            await asyncio.sleep(self._tick)

    def _append(self, events: list[dict]) -> None:
        if not events:
            return
        self._history.extend(
            json.dumps(event, ensure_ascii=False, separators=(",", ":")) for event in events
        )
        excess = len(self._history) - self._history_limit
        if excess > self._history_limit // 20:  # trim in chunks, not on every tick
            del self._history[:excess]
            self._first_seq += excess
        # Wake every client waiting for news, and arm a fresh event for the next round.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _let_clients_catch_up(self) -> None:
        """Wait, ``shutdown_grace`` seconds at most, until every client has been sent
        every event."""
        end = self.last_seq + 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._shutdown_grace):
                while any(seq < end for seq in self._positions.values()):
                    await self._moved.wait()
        behind = sum(1 for seq in self._positions.values() if seq < end)
        if behind:
            logger.warning(
                "Closing feed clients that have not received the final events",
                extra={"action": "clients_behind_at_close", "clients": behind},
            )

    # -- serving clients -------------------------------------------------------------

    def _note_position(self, websocket: ServerConnection, next_seq: int | None) -> None:
        """Record the seq ``websocket`` is sent next (None: it left)."""
        if next_seq is None:
            self._positions.pop(websocket, None)
        else:
            self._positions[websocket] = next_seq
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def _handle(self, websocket: ServerConnection) -> None:
        connected_at = self.last_seq + 1
        self._note_position(websocket, connected_at)
        try:
            await self._serve_client(websocket, connected_at)
        finally:
            self._note_position(websocket, None)

    async def _serve_client(self, websocket: ServerConnection, connected_at: int) -> None:
        try:
            after_seq = await self._read_resume(websocket)
        except ConnectionClosed:
            return
        if after_seq is None:
            next_seq = connected_at
            logger.info("Feed client streaming live", extra={"action": "client_live"})
        else:
            next_seq = self._resume_point(after_seq)
            logger.info(
                "Feed client resuming",
                extra={"action": "client_resume", "after_seq": after_seq},
            )
        self._note_position(websocket, next_seq)
        sender = asyncio.create_task(self._send_from(websocket, next_seq))
        reader = asyncio.create_task(self._ignore_messages(websocket))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
            results = await asyncio.gather(sender, reader, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, ConnectionClosed):
                logger.error(
                    "Feed client failed",
                    exc_info=result,
                    extra={"action": "client_failed"},
                )
        logger.info("Feed client gone", extra={"action": "client_gone"})

    async def _read_resume(self, websocket: ServerConnection) -> int | None:
        """Wait briefly for a resume request; return its ``after_seq``, or None."""
        try:
            async with asyncio.timeout(self._resume_window):
                while True:
                    message = await websocket.recv()
                    after_seq = _parse_resume(message)
                    if after_seq is not None:
                        return after_seq
                    _log_ignored(message)
        except TimeoutError:
            return None

    def _resume_point(self, after_seq: int) -> int:
        next_seq = after_seq + 1
        if self._run_first_seq <= next_seq < self._first_seq:
            # Events from a previous run are expected to be older; this run's are not.
            logger.warning(
                "Resume point no longer kept; replaying from the oldest kept event",
                extra={"action": "resume_too_old", "after_seq": after_seq},
            )
        if next_seq > self.last_seq + 1:
            logger.warning(
                "Resume point ahead of the feed; streaming from now",
                extra={"action": "resume_ahead", "after_seq": after_seq},
            )
            return self.last_seq + 1
        return max(next_seq, self._first_seq)

    async def _send_from(self, websocket: ServerConnection, next_seq: int) -> None:
        while True:
            index = next_seq - self._first_seq
            if index < 0:
                logger.warning(
                    "Feed client fell behind the kept history",
                    extra={"action": "client_lagged", "skipped": -index},
                )
                next_seq, index = self._first_seq, 0
            if index < len(self._history):
                batch = self._history[index : index + self._batch_size]
                message = batch[0] if len(batch) == 1 else "[" + ",".join(batch) + "]"
                await websocket.send(message)
                next_seq += len(batch)
                self._note_position(websocket, next_seq)
            else:
                await self._changed.wait()

    async def _ignore_messages(self, websocket: ServerConnection) -> None:
        """Read until the client leaves, noting anything it says."""
        with contextlib.suppress(ConnectionClosed):
            async for message in websocket:
                _log_ignored(message)


def _parse_resume(message: str | bytes) -> int | None:
    try:
        request = json.loads(message)
    except ValueError:
        return None
    if not isinstance(request, dict) or request.get("op") != "resume":
        return None
    after_seq = request.get("after_seq")
    if isinstance(after_seq, int) and not isinstance(after_seq, bool) and after_seq >= 0:
        return after_seq
    return None


def _log_ignored(message: str | bytes) -> None:
    op = None
    with contextlib.suppress(ValueError, AttributeError):
        op = json.loads(message).get("op")
    logger.info(
        "Ignored a client message",
        extra={"action": "client_message_ignored", "op": str(op)[:40] if op else None},
    )


def demo_server(
    *,
    seed: int,
    agents: int = 60,
    speed: float = 1.0,
    backfill: timedelta = timedelta(0),
    host: str = "127.0.0.1",
    port: int = 8765,
    local_tz: tzinfo | None = None,
    now: datetime | None = None,
) -> FeedServer:
    """Build the demo feed: a floor that opened ``backfill`` ago, live from ``now``.

    ``now`` (timezone-aware) defaults to the wall clock; it also marks the run, so ids
    and seqs of a restarted simulator never clash with the previous run's.
    """
    if now is None:
        now = datetime.now(UTC)
    local_tz = local_tz or now.astimezone().tzinfo
    floor = CallFloor(
        seed,
        (now - backfill).astimezone(local_tz),
        agents=agents,
        run_started=now,
    )
    return FeedServer(floor, host=host, port=port, speed=speed, backfill=backfill)
