"""``callboard import --format queue_log``: Asterisk's queue_log into the figures, once, bad lines dead-lettered.

A scripted day of one queue is written as app_queue writes its log (and as its realtime table is
exported), imported into the real database, and read back as the dashboard reads it
(``LiveData.snapshot``, ``LiveData.agents``); every figure is worked by hand beside its assertion.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callboard.metrics import Thresholds
from dashboard.data import LiveData
from ingest.backfill import Backfill, read_chunks, recognise_format
from ingest.exceptions import ImportUnreadable
from ingest.importers import queue_log
from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

from .conftest import timeout

FEED = "asterisk-history"
THRESHOLDS = Thresholds()  # answer target 15 s, hold limit 60 s, short abandon 5 s
DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
OPEN = DAY + timedelta(hours=9)


def at(seconds: int) -> int:
    """Seconds since 1970 of OPEN + ``seconds``: the queue_log file's time field."""
    return int((OPEN + timedelta(seconds=seconds)).timestamp())


# (seconds after 09:00, callid, queue, agent, verb, data...), the order app_queue writes them in.
SCRIPT = [
    (0, "NONE", "NONE", "NONE", "QUEUESTART", ""),
    (1, "NONE", "NONE", "Agent/1001", "AGENTLOGIN", "SIP/1001"),
    (1, "NONE", "sales", "Agent/1001", "ADDMEMBER", ""),
    (2, "NONE", "NONE", "Agent/1002", "AGENTLOGIN", "SIP/1002"),
    (2, "NONE", "sales", "Agent/1002", "ADDMEMBER", ""),
    # call 1: answered at exactly 15 s, one hold of 70 s, the caller hangs up
    (100, "1700000100.1", "sales", "NONE", "ENTERQUEUE", "", "+8613800000001", "1"),
    (110, "1700000100.1", "sales", "Agent/1002", "RINGNOANSWER", "10000"),
    (115, "1700000100.1", "sales", "Agent/1001", "CONNECT", "15", "1700000110.2", "5"),
    (130, "1700000100.1", "sales", "Agent/1001", "CALLERONHOLD", ""),
    (200, "1700000100.1", "sales", "Agent/1001", "CALLEROFFHOLD", ""),
    (300, "1700000100.1", "sales", "Agent/1001", "COMPLETECALLER", "15", "185", "1"),
    # call 2: answered after 16 s, the agent hangs up
    (400, "1700000400.3", "sales", "NONE", "ENTERQUEUE", "", "+8613800000002", "1"),
    (416, "1700000400.3", "sales", "Agent/1001", "CONNECT", "16", "1700000410.4", "6"),
    (500, "1700000400.3", "sales", "Agent/1001", "COMPLETEAGENT", "16", "84", "1"),
    # call 3: the caller hangs up after 3 s (a short abandon); call 4: after 40 s
    (600, "1700000600.5", "sales", "NONE", "ENTERQUEUE", "", "+8613800000003", "1"),
    (603, "1700000600.5", "sales", "NONE", "ABANDON", "1", "1", "3"),
    (700, "1700000700.6", "sales", "NONE", "ENTERQUEUE", "", "+8613800000004", "1"),
    (740, "1700000700.6", "sales", "NONE", "ABANDON", "1", "1", "40"),
    # calls 5 and 6 leave unanswered without hanging up: the queue's time limit, a key pressed
    (800, "1700000800.7", "sales", "NONE", "ENTERQUEUE", "", "+8613800000005", "1"),
    (1100, "1700000800.7", "sales", "NONE", "EXITWITHTIMEOUT", "1", "1", "300"),
    (1200, "1700001200.8", "sales", "NONE", "ENTERQUEUE", "", "+8613800000006", "1"),
    (1220, "1700001200.8", "sales", "NONE", "EXITWITHKEY", "5", "1", "1", "20"),
    # call 7: answered after 5 s by the other agent, who transfers it
    (1300, "1700001300.9", "sales", "NONE", "ENTERQUEUE", "", "+8613800000007", "1"),
    (1305, "1700001300.9", "sales", "Agent/1002", "CONNECT", "5", "1700001300.10", "2"),
    (1400, "1700001300.9", "sales", "Agent/1002", "BLINDTRANSFER", "2001", "from-internal", "5", "95", "1"),
    (1500, "NONE", "NONE", "Agent/1001", "PAUSEALL", "Lunch"),
    (1600, "NONE", "sales", "Agent/1002", "REMOVEMEMBER", ""),
    (1601, "NONE", "NONE", "Agent/1002", "AGENTLOGOFF", "SIP/1002", "1599"),
]
LINES = 28
SKIPPED = 5  # QUEUESTART, RINGNOANSWER, ADDMEMBER twice, REMOVEMEMBER


def file_lines(script=SCRIPT) -> list[str]:
    return ["|".join([str(at(step[0])), *step[1:]]) for step in script]


def write_lines(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return path


async def load(pool, path: Path, zone=UTC, events_per_chunk: int = 7):
    chunks = queue_log.read_chunks(path, events_per_chunk, zone)
    return await Backfill(pool, FEED, THRESHOLDS).run(path, chunks)


async def figures(pool) -> dict:
    """The day as the wall and the agents' report show it."""
    live = LiveData(pool, THRESHOLDS, UTC, stale_after_s=30)
    end = DAY + timedelta(days=1)
    snapshot = await live.snapshot(since=DAY, now=end)
    return {"queues": snapshot["queues"], "agents": snapshot["agents"],
            "report": (await live.agents(DAY, end))["agents"]}


async def test_a_days_queue_log_gives_the_figures_worked_by_hand(pool, tmp_path):
    summary = await load(pool, write_lines(tmp_path / "queue_log", file_lines()))

    assert (summary.lines, summary.events, summary.stored, summary.skipped, summary.dead_lettered) == (
        LINES, LINES - SKIPPED, LINES - SKIPPED, SKIPPED, 0)
    shown = await figures(pool)
    [sales] = shown["queues"]
    # Offered: 7 callers entered. Answered: calls 1, 2 and 7. Abandoned: calls 3 and 4 (call 3 after
    # 3 s: short); calls 5 and 6 left unanswered without hanging up, so they are offered only.
    assert (sales["offered"], sales["answered"], sales["abandoned"], sales["short_abandoned"]) == (7, 3, 2, 1)
    assert sales["waiting"] == 0 and sales["on_call"] == 0
    # ASA (15 + 16 + 5) / 3 = 12 s; on time: 15 s (exactly T) and 5 s, not 16 s: 2 / 3.
    assert sales["asa_s"] == pytest.approx(12.0)
    assert sales["on_time_rate"] == pytest.approx(2 / 3)
    # Service level 2 / (3 + 2 - 1) = 0.5; abandon rate (2 - 1) / (3 + 2 - 1) = 0.25.
    assert sales["service_level"] == pytest.approx(0.5)
    assert sales["abandon_rate"] == pytest.approx(0.25)

    report = {agent["agent"]: agent for agent in shown["report"]}
    # Agent/1001: answered calls 1 and 2, the caller hung up first on 1, the agent on 2: 1 / 2;
    # one hold of 70 s, over the 60 s limit: discipline 1 - 1/1 = 0.
    first = report["Agent/1001"]
    assert (first["answered"], first["handled"], first["agent_hangup_rate"]) == (2, 2, 0.5)
    assert (first["holds"], first["holds_over_limit"], first["hold_discipline"]) == (1, 1, 0.0)
    # Agent/1002: call 7, transferred: neither party hung up, so no agent hang-up.
    second = report["Agent/1002"]
    assert (second["answered"], second["on_time_rate"], second["agent_hangup_rate"]) == (1, 1.0, 0.0)

    states = {agent["agent"]: (agent["state"], agent["reason"]) for agent in shown["agents"]}
    assert states == {"Agent/1001": ("not_ready", "Lunch")}  # Agent/1002 logged off: off the wall


async def test_importing_history_never_changes_the_queue_members_the_pbx_announced(pool, tmp_path):
    # The live source said at noon today who takes sales' calls; a log written later (imported late,
    # or today's own) names other members: who is a member now is the live source's to say.
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    live = {"id": "live-1", "type": "queue.members", "ts": noon.isoformat(), "queue": "sales",
            "agents": ["PJSIP/1001", "PJSIP/1003"]}
    parsed, rejects = parse_message(json.dumps(live))
    await EventWriter(pool, FEED).write([Received(noon, parsed, rejects)])
    later = int((noon + timedelta(hours=1)).timestamp())
    log = write_lines(tmp_path / "queue_log", [f"{later}|NONE|sales|Agent/1002|ADDMEMBER|",
                                               f"{later + 1}|NONE|sales|Agent/1001|REMOVEMEMBER|"])

    summary = await load(pool, log)

    assert (summary.events, summary.skipped, summary.dead_lettered) == (0, 2, 0)
    async with pool.acquire() as conn:
        assert await conn.fetch("SELECT queue, agents FROM queue_members") == [("sales", ["PJSIP/1001", "PJSIP/1003"])]
        assert await conn.fetchval("SELECT count(*) FROM event_log WHERE type = 'queue.members'") == 1


async def test_every_event_keeps_its_line(pool, tmp_path):
    lines = file_lines()
    await load(pool, write_lines(tmp_path / "queue_log", lines))

    kept = await pool.fetch("SELECT type, body->'source' AS source FROM event_log")
    assert {row["source"]["system"] for row in kept} == {"asterisk-queue_log"}
    assert sorted(row["source"]["event"] for row in kept) == sorted(
        line for line in lines if line.split("|")[4] not in queue_log.SKIPPED_VERBS)
    ended = await pool.fetchrow("SELECT released_by, last_agent, disposition, answered_at FROM calls "
                                "WHERE call_id = '1700000800.7@sales'")
    assert dict(ended) == {"released_by": "system", "last_agent": None, "disposition": "queue_timeout",
                           "answered_at": None}


async def test_importing_a_log_twice_changes_nothing(pool, tmp_path):
    path = write_lines(tmp_path / "queue_log", file_lines())
    await load(pool, path)
    counts = {table: await pool.fetchval(f"SELECT count(*) FROM {table}")
              for table in ("event_log", "calls", "hold_events", "agent_states", "dead_letters")}
    shown = await figures(pool)

    again = await load(pool, path, events_per_chunk=3)

    assert (again.stored, again.duplicates) == (0, LINES - SKIPPED)
    assert {table: await pool.fetchval(f"SELECT count(*) FROM {table}") for table in counts} == counts
    assert await figures(pool) == shown


async def test_the_same_line_twice_in_one_second_is_two_events_stored_once_each(pool, tmp_path):
    # the caller is put on hold twice within second 130: the log has whole seconds, so twice the same lines
    call = "1700000100.1", "sales", "Agent/1001"
    script = [(100, *call[:2], "NONE", "ENTERQUEUE", "", "+8613800000001", "1"),
              (115, *call, "CONNECT", "15", "1700000110.2", "5"),
              (130, *call, "CALLERONHOLD", ""), (130, *call, "CALLEROFFHOLD", ""),
              (130, *call, "CALLERONHOLD", ""), (130, *call, "CALLEROFFHOLD", ""),
              (300, *call, "COMPLETECALLER", "15", "185", "1")]
    path = write_lines(tmp_path / "queue_log", file_lines(script))

    first = await load(pool, path, events_per_chunk=3)  # the repeats fall in two chunks
    again = await load(pool, path, events_per_chunk=2)

    assert (first.stored, first.duplicates) == (7, 0)
    assert (again.stored, again.duplicates) == (0, 7)
    holds = await pool.fetch("SELECT event_id, body->'source'->>'event' AS line FROM event_log "
                             "WHERE type IN ('call.hold_started', 'call.hold_ended') ORDER BY type, event_id")
    assert [row["line"].split("|")[4] for row in holds] == ["CALLEROFFHOLD", "CALLEROFFHOLD",
                                                            "CALLERONHOLD", "CALLERONHOLD"]
    assert [row["event_id"].endswith("~2") for row in holds] == [False, True, False, True]


async def test_a_gzip_log_is_read_like_the_plain_one(pool, tmp_path):
    summary = await load(pool, write_lines(tmp_path / "queue_log.gz", file_lines()))

    assert (summary.stored, summary.skipped) == (LINES - SKIPPED, SKIPPED)
    assert recognise_format(tmp_path / "queue_log.gz") == "queue_log"


async def test_bad_lines_are_dead_letters_naming_their_line_and_verb(pool, tmp_path):
    lines = file_lines()
    lines[5] = lines[5].replace("|ENTERQUEUE|", "|TELEPORT|")  # line 6: a verb nobody translates
    lines[9] = "yesterday|1700000100.1|sales|Agent/1001|CALLEROFFHOLD|"  # line 10
    lines[12] = f"{at(416)}|1700000400.3|sales|NONE|CONNECT|16"  # line 13: answered by nobody
    lines.insert(20, f"{at(900)}|1700000900.1|sales")  # line 21: cut short
    lines.insert(21, "")  # a blank line is skipped, and counts as a line

    summary = await load(pool, write_lines(tmp_path / "queue_log", lines))

    assert (summary.lines, summary.dead_lettered) == (LINES + 2, 4)
    letters = await pool.fetch("SELECT kind, reason FROM dead_letters ORDER BY id")
    reasons = {row["reason"].split(":")[0]: (row["kind"], row["reason"]) for row in letters}
    assert set(reasons) == {"line 6", "line 10", "line 13", "line 21"}
    assert reasons["line 6"][0] == "unknown_type" and "'TELEPORT'" in reasons["line 6"][1]
    assert reasons["line 10"][0] == "bad_timestamp" and "'yesterday'" in reasons["line 10"][1]
    assert reasons["line 13"] == ("schema", "line 13: CONNECT: the line names no agent")
    assert reasons["line 21"][0] == "not_an_event"
    assert summary.stored == LINES - SKIPPED - 3  # three of the script's lines spoiled, one bad line added


async def test_the_realtime_tables_export_is_read_in_the_zone_asterisk_wrote_it(pool, tmp_path):
    """The realtime form: a header naming the columns, local times with microseconds, psql's padding."""
    shanghai = ZoneInfo("Asia/Shanghai")
    rows = [" | ".join([(OPEN + timedelta(seconds=step[0], microseconds=250_000)).astimezone(shanghai)
                        .strftime("%Y-%m-%d %H:%M:%S.%f"), *step[1:5], *(list(step[5:]) + [""] * 5)[:5]])
            for step in SCRIPT]
    path = write_lines(tmp_path / "queue_log.psv",
                       ["time | callid | queuename | agent | event | data1 | data2 | data3 | data4 | data5", *rows])
    tabbed = write_lines(tmp_path / "queue_log.tsv", [row.replace(" | ", "\t") for row in [
        "time | callid | queuename | agent | event | data1 | data2 | data3 | data4 | data5", *rows]])

    summary = await load(pool, path, zone=shanghai)
    again = await load(pool, tabbed, zone=shanghai)  # as mysql -B writes it: other bytes, the same calls

    assert (summary.stored, summary.skipped, summary.dead_lettered) == (LINES - SKIPPED, SKIPPED + 1, 0)
    assert (again.stored, again.dead_lettered) == (LINES - SKIPPED, 0)
    queued = await pool.fetchval("SELECT queued_at FROM calls WHERE call_id = '1700000100.1@sales'")
    assert queued == OPEN + timedelta(seconds=100, microseconds=250_000)
    [sales] = (await figures(pool))["queues"]
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (7, 3, 2)


async def test_a_csv_export_with_other_columns_is_read_by_its_header(pool, tmp_path):
    """QueueMetrics' table: partition and time_id first, verb for the event; a quoted comma in a field."""
    rows = ["partition,time_id,call_id,queue,agent,verb,data1,data2,data3,data4,data5,serverid"]
    for step in SCRIPT:
        data = (list(step[5:]) + [""] * 5)[:5]
        rows.append(",".join(["P001", str(at(step[0])), *step[1:5], *data, "1"]))
    rows[6] = rows[6].replace("+8613800000001", '"Smith, J <+8613800000001>"')  # call 1's ENTERQUEUE

    summary = await load(pool, write_lines(tmp_path / "queue_log.csv", rows))

    assert (summary.stored, summary.dead_lettered) == (LINES - SKIPPED, 0)
    assert await pool.fetchval("SELECT caller FROM calls WHERE call_id = '1700000100.1@sales'") == (
        "Smith, J <+8613800000001>")


def test_a_header_without_the_event_column_is_refused_whole(tmp_path):
    path = write_lines(tmp_path / "queue_log.csv", ["time,callid,queuename,verb", "1,2,3,4"])

    with pytest.raises(ImportUnreadable, match="agent"):
        list(read_chunks(path, "queue_log", UTC))


def test_the_command_recognises_a_queue_log_and_prints_a_summary(database_url, tmp_path):
    path = write_lines(tmp_path / "queue_log.gz", file_lines())

    done = subprocess.run(
        [sys.executable, "-m", "callboard", "import", str(path), "--feed-name", FEED, "--no-progress"],
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True, timeout=timeout(120))

    assert done.returncode == 0, done.stderr
    assert (f"{LINES} lines, {LINES - SKIPPED} events: {LINES - SKIPPED} stored, 0 already stored; "
            f"{SKIPPED} skipped") in done.stdout


async def test_a_table_with_one_data_column_holding_every_field_is_read(pool, tmp_path):
    """Older realtime tables keep the data in one column, "url|callerid|position", however exported."""
    rows = ["time,callid,queuename,agent,event,data"]
    rows += [",".join([str(at(step[0])), *step[1:5], '"' + "|".join(step[5:]) + '"']) for step in SCRIPT]
    piped = ["time|callid|queuename|agent|event|data", *file_lines()]

    summary = await load(pool, write_lines(tmp_path / "queue_log.csv", rows))
    again = await load(pool, write_lines(tmp_path / "queue_log.psv", piped))

    assert (summary.stored, summary.dead_lettered, again.dead_lettered) == (LINES - SKIPPED, 0, 0)
    callers = await pool.fetch("SELECT DISTINCT caller FROM calls ORDER BY caller")
    assert [row["caller"] for row in callers] == [f"+861380000000{n}" for n in range(1, 8)]


def test_the_command_refuses_an_unknown_time_zone(tmp_path):
    path = write_lines(tmp_path / "queue_log", file_lines())

    done = subprocess.run(
        [sys.executable, "-m", "callboard", "import", str(path), "--feed-name", FEED, "--time-zone", "Mars/Olympus"],
        capture_output=True, text=True, timeout=timeout(60))

    assert done.returncode == 2 and "unknown time zone 'Mars/Olympus'" in done.stderr
