"""How long the audit log is kept: entries older than ``CALLBOARD_KEEP_AUDIT_DAYS`` are deleted.

The dashboard writes the audit log (sign-ins, acknowledgements; the command line writes the rest)
and prunes it, every hour, a batch at a time, each batch its own short transaction; several
dashboard processes pruning at once skip each other's rows (docs/security.md, "The audit log").
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg

from db.pool import CONNECTION_ERRORS
from db.queries import QUERIES

logger = logging.getLogger(__name__)

# Entries deleted per transaction.
BATCH = 1000
# How often the audit log is pruned, and how soon again after the database could not be reached.
PRUNE_EVERY_S = 3600.0
RETRY_S = 60.0


async def prune_before(pool: asyncpg.Pool, before: datetime, batch: int = BATCH) -> int:
    """Delete every entry of the audit log made before ``before``; how many."""
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(QUERIES["auth.prune_audit_log"], before, batch)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total


async def prune_forever(pool: asyncpg.Pool, keep_days: int, interval_s: float = PRUNE_EVERY_S) -> None:
    """Delete the audit log's entries older than ``keep_days`` now and every ``interval_s``; until cancelled."""
    while True:
        wait_s = interval_s
        try:
            if deleted := await prune_before(pool, datetime.now(UTC) - timedelta(days=keep_days)):
                logger.info("audit log entries older than the keep period deleted",
                            extra={"action": "audit_log_pruned", "deleted": deleted, "keep_days": keep_days})
        except CONNECTION_ERRORS:
            wait_s = min(interval_s, RETRY_S)  # the dashboard's pages report the database being down
        except asyncpg.PostgresError as exc:
            wait_s = min(interval_s, RETRY_S)
            logger.error("pruning the audit log failed; trying again soon (does the dashboard's role "
                         "lack DELETE on audit_log? run `callboard db grant`)",
                         extra={"action": "audit_prune_failed", "error": str(exc), "retry_in_s": wait_s})
        await asyncio.sleep(wait_s)
