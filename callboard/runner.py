"""Run one async role until SIGINT or SIGTERM asks it to stop cleanly."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable


def run_until_signal(role: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``role(stop)``; the first SIGINT/SIGTERM sets ``stop`` and the role finishes its work and
    returns; a second one ends the process at once."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def first_signal() -> None:
            stop.set()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, first_signal)
        await role(stop)

    asyncio.run(main())
