"""A benchmark feed: serve simulated events, one per websocket frame, as fast as asked.

Run by bench/ingest_throughput.py in its own process, so the feed's work does not count
against the ingest. Prints "ready PORT" when listening.

With --live it behaves like a PBX instead: the events are produced on a clock (--rate a second,
from the first connection on), whether or not anyone is connected, and a client that reconnects
with a resume request gets everything produced after its ``after_seq``, then the rest as it is
produced. The fault suite (tests/faults) and bench/faults.py use it: what was produced is known
exactly, whatever happens to the connection. Prints "produced N" once every event is out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta

from websockets.asyncio.server import serve

from simulator import CallFloor

FRAMES_PER_WRITE = 1000


def frames(count: int, seed: int) -> list[str]:
    """``count`` events of a busy simulated floor, each its own JSON frame, with fresh ids."""
    start = datetime.now(UTC) - timedelta(days=30)
    floor = CallFloor(seed, start, agents=200, run_started=datetime.now(UTC))
    events: list[dict] = []
    moment = start
    while len(events) < count:
        moment += timedelta(hours=6)
        events.extend(floor.events_until(moment))
    return [json.dumps(event, ensure_ascii=False) for event in events[:count]]


async def paced(websocket, prepared: list[str], rate: float) -> None:
    """One frame at a time, on schedule."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    for n, frame in enumerate(prepared):
        delay = began + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await websocket.send(frame)


async def flooded(websocket, prepared: list[str]) -> None:
    """Every frame as fast as the ingest takes them.

    Still one event per websocket frame, framed by the library's protocol layer, but handed to the
    socket a thousand frames per write: a PBX on its own machine does not spend our CPU, so the
    feed here should spend as little of it as it can.
    """
    # send_context and the protocol object are websockets' own layering (documented in its
    # Connection.send_context); checked with websockets 17.
    await _write(websocket, prepared)  # send_context checks the connection is open and waits for the drain


class LiveFeed:
    """``prepared`` frames, produced ``rate`` a second from the first connection on."""

    def __init__(self, prepared: list[str], rate: float) -> None:
        self._prepared = prepared
        self._first_seq = json.loads(prepared[0])["seq"]
        self._rate = rate
        self._began: float | None = None
        self._started = asyncio.Event()

    def produced(self) -> int:
        if self._began is None:
            return 0
        return min(len(self._prepared), int((time.monotonic() - self._began) * self._rate))

    async def stream(self, websocket) -> None:
        after_seq = json.loads(await websocket.recv()).get("after_seq") or 0
        if self._began is None:
            self._began = time.monotonic()
            self._started.set()
            print("started", flush=True)
        sent = max(0, after_seq + 1 - self._first_seq)
        while sent < len(self._prepared):
            due = self.produced()
            if due > sent:
                await _write(websocket, self._prepared[sent:due])
                sent = due
            await asyncio.sleep(0.01)
        await websocket.wait_closed()

    async def report_when_produced(self) -> None:
        """Print "produced N" once the clock has produced every event, connected or not."""
        await self._started.wait()
        await asyncio.sleep(len(self._prepared) / self._rate - (time.monotonic() - self._began))
        print("produced", len(self._prepared), flush=True)


async def _write(websocket, chunk: list[str]) -> None:
    """Frames in writes of up to FRAMES_PER_WRITE, each one event (see ``flooded``)."""
    for start in range(0, len(chunk), FRAMES_PER_WRITE):
        async with websocket.send_context():
            for frame in chunk[start:start + FRAMES_PER_WRITE]:
                websocket.protocol.send_text(frame.encode())
            websocket.transport.write(b"".join(websocket.protocol.data_to_send()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0, help="events per second; 0 = as fast as possible")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--live", action="store_true",
                        help="produce --rate events a second on a clock and honour resume requests")
    args = parser.parse_args()
    if args.live and not args.rate:
        parser.error("--live needs --rate")
    prepared = frames(args.events, args.seed)
    live = LiveFeed(prepared, args.rate) if args.live else None

    async def stream(websocket):
        if live is not None:
            await live.stream(websocket)
            return
        await websocket.recv()  # the ingest's resume request; a fresh database asks for everything
        if args.rate:
            await paced(websocket, prepared, args.rate)
        else:
            await flooded(websocket, prepared)
        await websocket.wait_closed()

    async with serve(stream, "127.0.0.1", 0, max_size=None) as server:
        print("ready", server.sockets[0].getsockname()[1], flush=True)
        reporting = asyncio.create_task(live.report_when_produced()) if live is not None else None
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
        if reporting is not None:
            reporting.cancel()


if __name__ == "__main__":
    asyncio.run(main())
