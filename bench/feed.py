"""A benchmark feed: serve simulated events, one per websocket frame, as fast as asked.

Run by bench/ingest_throughput.py in its own process, so the feed's work does not count
against the ingest. Prints "ready PORT" when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
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
    for start in range(0, len(prepared), FRAMES_PER_WRITE):
        async with websocket.send_context():  # checks the connection is open; waits for the socket to drain
            for frame in prepared[start:start + FRAMES_PER_WRITE]:
                websocket.protocol.send_text(frame.encode())
            websocket.transport.write(b"".join(websocket.protocol.data_to_send()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0, help="events per second; 0 = as fast as possible")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    prepared = frames(args.events, args.seed)

    async def stream(websocket):
        await websocket.recv()  # the ingest's resume request; a fresh database asks for everything
        if args.rate:
            await paced(websocket, prepared, args.rate)
        else:
            await flooded(websocket, prepared)
        await websocket.wait_closed()

    async with serve(stream, "127.0.0.1", 0, max_size=None) as server:
        print("ready", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


if __name__ == "__main__":
    asyncio.run(main())
