"""``callboard alerts serve`` as it runs in production: real processes on a real PostgreSQL,
delivering to a real local HTTP receiver; two at once, and one killed with SIGKILL mid-send.

The rota: li-wei is lead all day, reached through the webhook "hook".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import urllib.request

from callboard.demo import free_port
from db.changes import CHANNEL as CHANGES
from db.queries import QUERIES

from .conftest import timeout, wait_for
from .receivers import http_receiver

UTC = datetime.UTC
ROTA = """
[people.li-wei]
contacts = [{ channel = "hook" }]

[[shifts]]
person = "li-wei"
start = "00:00"
end = "24:00"
"""


def environment(tmp_path, database_url: str, receiver_url: str) -> dict[str, str]:
    (tmp_path / "callboard.toml").write_text(
        f'[alerts.channels.hook]\nkind = "webhook"\nurl = "{receiver_url}/hook"\nsecret = "hook-secret"\n')
    (tmp_path / "rota.toml").write_text(ROTA)
    return {**os.environ, "DATABASE_URL": database_url, "CALLBOARD_CONFIG": str(tmp_path / "callboard.toml"),
            "CALLBOARD_ROTA": str(tmp_path / "rota.toml"), "CALLBOARD_TIMEZONE": "UTC",
            "CALLBOARD_ALERT_SEND_TIMEOUT_S": "1"}  # a claim lasts 3 s: a killed sender's row is sent again soon


class Service:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "callboard", "alerts", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    async def ready(self) -> bool:
        return (await asyncio.to_thread(self.get, "/readyz"))[0] == 200

    def metric(self, name: str) -> float:
        _, text = self.get("/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout(20))


@contextlib.contextmanager
def services(env, count):
    started = [Service(env) for _ in range(count)]
    try:
        yield started
    finally:
        for service in started:
            if service.process.poll() is None:
                service.process.kill()
                service.process.wait()


async def overdue_complaints(pool, count: int) -> None:
    """``count`` complaints already past their callback time, committed at once as the ingest does."""
    due = datetime.datetime.now(UTC) - datetime.timedelta(minutes=1)
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany("INSERT INTO complaints (feed, complaint_id, agent, opened_at, due) "
                               "VALUES ('pbx', $1, 'a017', $2, $3)",
                               [(f"K{n}", due - datetime.timedelta(hours=1), due) for n in range(count)])
        await conn.execute(QUERIES["changes.notify"], CHANGES, [json.dumps({"complaints": count})])


async def sent(pool, count: int) -> bool:
    return await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NOT NULL") == count


async def test_two_services_never_send_the_same_notification_twice(pool, database_url, tmp_path):
    async with http_receiver() as receiver:
        with services(environment(tmp_path, database_url, receiver.url), 2) as (one, two):
            for service in (one, two):
                await wait_for(service.ready, 30, message="a service ready")
            await overdue_complaints(pool, 40)
            await wait_for(lambda: sent(pool, 40), 30, message="40 notifications sent")
            # Both took part, and between them they raised each alert once and sent each notification once.
            raised = [s.metric('callboard_alerts_raised_total{kind="callback_overdue"}') for s in (one, two)]
            delivered = [s.metric("callboard_alerts_notifications_sent_total") for s in (one, two)]
            assert sum(raised) == 40 and sum(delivered) == 40
            assert [one.stop(), two.stop()] == [0, 0]  # SIGTERM: a clean stop
    keys = [r.headers["Idempotency-Key"] for r in receiver.received("/hook")]
    assert len(keys) == len(set(keys)) == 40
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 40
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 40


async def test_a_service_killed_mid_send_and_restarted_neither_loses_nor_duplicates_a_row(pool, database_url, tmp_path):
    async with http_receiver() as receiver:
        env = environment(tmp_path, database_url, receiver.url)
        receiver.hang.set()  # the receiver takes the request and never answers: the kill lands mid-send
        with services(env, 1) as [doomed]:
            await wait_for(doomed.ready, 30, message="the service ready")
            await overdue_complaints(pool, 1)
            await wait_for(lambda: _async(len(receiver.received()) == 1), 20, message="the first attempt")
            doomed.process.send_signal(signal.SIGKILL)
            doomed.process.wait()
        receiver.hang.clear()
        [row] = await pool.fetch("SELECT sent_at, attempts, idempotency_key FROM notifications")
        assert row["sent_at"] is None and row["attempts"] == 1  # claimed, then nothing recorded
        with services(env, 1) as [restarted]:
            # The claim expires (3 s) and the same row is sent again, with the same key.
            await wait_for(lambda: sent(pool, 1), 30, message="sent again after the restart")
            assert restarted.stop() == 0
    assert [r.headers["Idempotency-Key"] for r in receiver.received("/hook")] == [str(row["idempotency_key"])] * 2
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 1  # not raised again by the restarted engine
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 1


async def _async(value):
    return value
