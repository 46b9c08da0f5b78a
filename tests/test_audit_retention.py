"""The audit log is kept CALLBOARD_KEEP_AUDIT_DAYS (a year unless set): older entries are deleted,
a batch at a time, by the dashboard, which starts doing so as it starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from access.audit import prune_before
from callboard.exceptions import ConfigError
from callboard.settings import load

from .conftest import wait_for
from .live_stack import running_dashboard, settings_for_test


async def add_entries(pool, *days_ago: float) -> None:
    now = datetime.now(UTC)
    for n, days in enumerate(days_ago):
        await pool.execute("INSERT INTO audit_log (at, actor, action, subject, address) "
                           "VALUES ($1, 'li.na', 'sign_in', $2, '127.0.0.1')", now - timedelta(days=days), str(n))


async def kept(pool) -> list[str]:
    return [row["subject"] for row in await pool.fetch("SELECT subject FROM audit_log ORDER BY id")]


def test_the_audit_log_is_kept_a_year_unless_set():
    assert load({}).keep_audit_days == 365
    assert load({"CALLBOARD_KEEP_AUDIT_DAYS": "30"}).keep_audit_days == 30
    with pytest.raises(ConfigError, match="CALLBOARD_KEEP_AUDIT_DAYS"):
        load({"CALLBOARD_KEEP_AUDIT_DAYS": "0"})


async def test_entries_made_before_the_cut_are_deleted_batch_by_batch_and_the_rest_kept(pool):
    await add_entries(pool, 500, 366, 365.9, 364, 0)
    # batches of 1: three entries before the cut (500, 366 and 365.9 days ago), taken one at a time
    assert await prune_before(pool, datetime.now(UTC) - timedelta(days=365), batch=1) == 3
    assert await kept(pool) == ["3", "4"]
    assert await prune_before(pool, datetime.now(UTC) - timedelta(days=365)) == 0  # again: nothing to do


async def test_the_dashboard_prunes_the_audit_log_as_it_starts(database_url, pool):
    await add_entries(pool, 40, 31, 29)

    async def pruned() -> bool:
        return await kept(pool) == ["2"]

    async with running_dashboard(database_url, settings_for_test(CALLBOARD_KEEP_AUDIT_DAYS="30")):
        await wait_for(pruned, 15, "the entries older than 30 days deleted")
