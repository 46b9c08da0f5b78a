"""``callboard import``: history files into the database, once, with bad lines dead-lettered by line.

History is a simulated floor's events over two past days, written as a JSON lines file; figures
are read as the dashboard reads them (``LiveData.agents``, ``History.trends``) and compared with
the same events written through the live ingest's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callboard import shifts
from callboard.metrics import Thresholds
from dashboard.data import LiveData
from dashboard.history import History
from db.changes import CHANNEL
from db.pool import connect, create_pool, recreate_database
from ingest.backfill import Backfill
from ingest.exceptions import ImportUnreadable
from ingest.importers import jsonl
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received
from simulator.floor import CallFloor
from simulator.history import write_history

from .conftest import TEMPLATE, timeout, wait_for

FEED = "pbx-history"
# Two complete UTC days that end at the last midnight: their per-day totals are computed at the end.
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
START = END - timedelta(days=2)
THRESHOLDS = Thresholds()


@pytest.fixture(scope="module")
def history() -> list[dict]:
    return CallFloor(seed=7, start=START, agents=20).events_until(END)


def write_lines(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return path


def as_lines(events: list[dict]) -> list[str]:
    return [json.dumps(event, ensure_ascii=False) for event in events]


async def load(pool, path: Path, events_per_chunk: int = 500):
    return await Backfill(pool, FEED, THRESHOLDS).run(path, jsonl.read_chunks(path, events_per_chunk))


async def figures(pool) -> dict:
    """What a manager sees for the two days: every agent's figures, and the queues by hour."""
    live = LiveData(pool, THRESHOLDS, UTC, stale_after_s=30)
    history = History(pool, THRESHOLDS, UTC, shifts.parse("07:00,15:00,23:00"))
    trends = await history.trends(START, END, "1h", now=END)
    return {"agents": await live.agents(START, END), "trends": trends}


async def table_counts(pool) -> dict[str, int]:
    return {table: await pool.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("event_log", "calls", "hold_events", "complaints", "surveys", "dead_letters",
                          "agent_day_counts")}


async def test_imported_history_gives_the_figures_the_live_ingest_would(pool, postgres_server, tmp_path, history):
    summary = await load(pool, write_lines(tmp_path / "history.jsonl", as_lines(history)))

    assert (summary.events, summary.stored, summary.duplicates, summary.dead_lettered) == (
        len(history), len(history), 0, 0)
    assert summary.days_rolled_up == 2  # both complete days, so reports read their totals
    imported = await figures(pool)
    assert imported["agents"]["agents"] and any(t["offered"] for t in imported["trends"]["buckets"])

    admin_url, _ = postgres_server
    other = await create_pool(await recreate_database(admin_url, f"callboard_live_{os.getpid()}", template=TEMPLATE))
    try:
        await EventWriter(other, FEED).write([Received(datetime.now(UTC), *parse_message(json.dumps(history)))])
        assert await figures(other) == imported
    finally:
        await other.close()


async def test_importing_a_file_twice_changes_nothing(pool, tmp_path, history):
    path = write_lines(tmp_path / "history.jsonl", as_lines(history))
    await load(pool, path)
    counts, shown = await table_counts(pool), await figures(pool)

    again = await load(pool, path, events_per_chunk=333)  # cut into other chunks too

    assert (again.stored, again.duplicates) == (0, len(history))
    assert await table_counts(pool) == counts
    assert await figures(pool) == shown


async def test_a_gzip_file_is_read_like_the_plain_one(pool, tmp_path, history):
    summary = await load(pool, write_lines(tmp_path / "history.jsonl.gz", as_lines(history)))

    assert summary.stored == len(history)


async def test_bad_lines_are_dead_letters_naming_their_line_and_the_rest_is_stored(pool, tmp_path, history):
    lines = as_lines(history[:50])
    lines[9] = '{"id": "x1", "type": "call.queued"'  # line 10: cut short
    lines[19] = json.dumps({**history[19], "type": "call.teleported"})  # line 20
    lines[29] = json.dumps({**history[29], "ts": "yesterday at noon"})  # line 30
    lines.insert(40, "")  # a blank line is skipped, and counts as a line

    summary = await load(pool, write_lines(tmp_path / "history.jsonl", lines))

    assert (summary.lines, summary.stored, summary.dead_lettered) == (51, 47, 3)
    letters = await pool.fetch("SELECT kind, reason FROM dead_letters ORDER BY reason")
    assert [(row["kind"], row["reason"].split(":")[0]) for row in letters] == [
        ("not_json", "line 10"), ("unknown_type", "line 20"), ("bad_timestamp", "line 30")]
    assert "call.teleported" in letters[1]["reason"]


def whole_lines(packed: bytes) -> int:
    """The whole lines of gzip data that can be read before it ends or breaks."""
    unpacking, text = zlib.decompressobj(zlib.MAX_WBITS | 16), b""
    with contextlib.suppress(zlib.error):
        for start in range(0, len(packed), 64):
            text += unpacking.decompress(packed[start:start + 64])
    return text.count(b"\n")


@pytest.mark.parametrize("damage", ["cut short", "damaged"])
async def test_a_compressed_file_cut_short_or_damaged_is_stored_up_to_where_it_can_be_read(
        pool, tmp_path, history, damage):
    whole = write_lines(tmp_path / "history.jsonl.gz", as_lines(history))
    packed = whole.read_bytes()
    half = len(packed) // 2
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(packed[:half] if damage == "cut short" else packed[:half] + bytes(500) + packed[half + 500:])

    with pytest.raises(ImportUnreadable, match=r"cannot be read after line ([\d,]+) .*import a whole copy") as refused:
        await load(pool, broken)

    read_to = int(refused.value.args[0].split("after line ")[1].split(" ")[0].replace(",", ""))
    # a damaged file may be read to its end, the last line but a piece of one
    assert read_to - whole_lines(broken.read_bytes()) in ((0,) if damage == "cut short" else (0, 1)) and read_to > 0
    assert f"imported {broken}: {read_to:,} lines" in refused.value.args[0]  # what it did say at the end
    stored, letters = await pool.fetchval("SELECT count(*) FROM event_log"), await table_counts(pool)
    if damage == "cut short":  # every line read is whole: an event each
        assert (stored, letters["dead_letters"]) == (read_to, 0)
    else:  # what a damaged part decompresses to is not events: dead letters (or blank lines)
        assert 0 < stored < len(history) and stored + letters["dead_letters"] <= read_to
    again = await load(pool, whole)
    assert (again.stored, again.duplicates) == (len(history) - stored, stored)


@contextlib.asynccontextmanager
async def floor_announcements(database_url: str, pool) -> AsyncIterator[list[dict]]:
    """The floor announcements sent within the block, decoded (the list is filled as the block ends)."""
    heard: list[str] = []
    listener = await connect(database_url)
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
    told: list[dict] = []
    try:
        yield told
        await pool.execute("SELECT pg_notify($1, 'the end')", CHANNEL)  # heard after all sent before it
        await wait_for(lambda: asyncio.sleep(0, "the end" in heard), 10, "the announcements")
    finally:
        await listener.close()
    told += [json.loads(payload) for payload in heard[:-1]]


async def test_an_import_interrupted_still_tells_open_dashboards_of_what_it_stored(
        pool, database_url, tmp_path, history):
    read_on = threading.Event()

    def three_chunks_then_a_wait(path: Path):  # the file is read no further until the import is stopped
        for number, chunk in enumerate(jsonl.read_chunks(path, 100)):
            if number == 3:
                read_on.wait(timeout(60))
            yield chunk

    try:
        async with floor_announcements(database_url, pool) as told:
            path = write_lines(tmp_path / "history.jsonl", as_lines(history))
            importing = asyncio.create_task(Backfill(pool, FEED, THRESHOLDS, announce_every_s=3600).run(
                path, three_chunks_then_a_wait(path)))

            async def some_stored() -> bool:
                return await pool.fetchval("SELECT count(*) FROM event_log") > 0

            await wait_for(some_stored, 30, "the first chunks")
            importing.cancel()  # as Ctrl-C does
            with pytest.raises(asyncio.CancelledError):
                await importing
    finally:
        read_on.set()

    assert [payload["everything"] for payload in told] == [True]
    assert 0 < await pool.fetchval("SELECT count(*) FROM event_log") <= 300  # the three chunks read


async def test_an_import_leaves_the_live_feeds_resume_point_and_freshness_alone(pool, tmp_path, history):
    await pool.execute("INSERT INTO feeds (feed, last_seq, last_commit_at) VALUES ($1, 41, $2)", FEED,
                       datetime(2026, 1, 1, tzinfo=UTC))

    await load(pool, write_lines(tmp_path / "history.jsonl", as_lines(history)))

    row = await pool.fetchrow("SELECT last_seq, last_commit_at FROM feeds WHERE feed = $1", FEED)
    assert (row["last_seq"], row["last_commit_at"]) == (41, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("announce_every_s", "announcements"), [(60, 1), (0, 8)])
async def test_open_dashboards_are_told_to_read_the_day_again_once_in_a_while_not_for_every_batch(
        pool, database_url, tmp_path, history, announce_every_s, announcements):
    async with floor_announcements(database_url, pool) as told:
        path = write_lines(tmp_path / "history.jsonl", as_lines(history[:4000]))
        await Backfill(pool, FEED, THRESHOLDS, announce_every_s=announce_every_s).run(
            path, jsonl.read_chunks(path, 500))  # 8 batches

    assert len(told) == announcements
    assert all(payload["everything"] and payload["imported"] for payload in told)


def test_the_command_prints_a_summary(database_url, tmp_path, history):
    path = write_lines(tmp_path / "history.jsonl.gz", as_lines(history[:1000]) + ["not json"])

    done = subprocess.run(
        [sys.executable, "-m", "callboard", "import", str(path), "--feed-name", FEED, "--no-progress"],
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
        timeout=timeout(120))

    assert done.returncode == 0, done.stderr
    assert "1,001 lines, 1,000 events: 1,000 stored, 0 already stored; 1 dead-lettered" in done.stdout


def test_the_command_refuses_what_it_cannot_read_saying_why(database_url, tmp_path):
    (tmp_path / "history.jsonl.gz").write_bytes(b"\x1f\x8b" + bytes(100))  # gzip's mark, then nothing of gzip
    env = {**os.environ, "DATABASE_URL": database_url}

    for path, reason in ((tmp_path / "history.jsonl.gz", "cannot be read (Unknown compression method); is it whole?"),
                         (tmp_path, "not a file"), (tmp_path / "nowhere.jsonl", "no such file")):
        done = subprocess.run([sys.executable, "-m", "callboard", "import", str(path), "--feed-name", FEED],
                              env=env, capture_output=True, text=True, timeout=timeout(60))
        assert done.returncode == 2 and f"{path}: {reason}" in done.stderr, done.stderr


def test_the_command_says_which_feed_to_name(database_url, tmp_path):
    path = write_lines(tmp_path / "history.jsonl", ["{}"])
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOARD_FEED")}

    done = subprocess.run([sys.executable, "-m", "callboard", "import", str(path)],
                          env={**env, "DATABASE_URL": database_url}, capture_output=True, text=True,
                          timeout=timeout(60))

    assert done.returncode == 2
    assert "--feed-name" in done.stderr


async def test_simulated_history_leaves_no_call_open_and_every_agent_logged_out(pool, tmp_path):
    path = tmp_path / "history.jsonl.gz"
    written = write_history(path, seed=3, agents=20, days=0.5, until=END)

    summary = await load(pool, path)

    assert summary.stored == written > 1000
    assert await pool.fetchval("SELECT count(*) FROM calls WHERE abandoned_at IS NULL AND ended_at IS NULL") == 0
    latest = await pool.fetch("SELECT DISTINCT ON (agent) state FROM agent_states ORDER BY agent, started_at DESC")
    assert latest and {row["state"] for row in latest} == {"logged_out"}
