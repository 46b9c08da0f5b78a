"""`callboard alerts test` and `callboard alerts check`, run as a lead runs them."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from alerts.channels import webhook

from .conftest import timeout
from .receivers import http_receiver


async def callboard(*args: str, config: str, rota: str | None = None) -> tuple[int, str]:
    env = {**os.environ, "CALLBOARD_CONFIG": config, "CALLBOARD_TIMEZONE": "Europe/London",
           "CALLBOARD_LANGUAGE": "zh-Hans"}
    if rota:
        env["CALLBOARD_ROTA"] = rota
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "callboard", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout(30))
    return process.returncode, output.decode()


def write_config(tmp_path, url: str) -> str:
    path = tmp_path / "callboard.toml"
    (tmp_path / "hook-secret").write_text("k3y\n")
    path.write_text(f'[alerts.channels.ops-hook]\nkind = "webhook"\nurl = "{url}"\n'
                    f'secret_file = "{tmp_path / "hook-secret"}"\n'
                    '[alerts.channels.leads-mail]\nkind = "smtp"\nhost = "127.0.0.1"\nfrom = "cb@example.com"\n')
    return str(path)


async def test_a_test_message_reaches_the_receiver_in_the_site_language(tmp_path):
    async with http_receiver() as receiver:
        status, output = await callboard("alerts", "test", "--channel", "ops-hook",
                                         config=write_config(tmp_path, receiver.url + "/in"))
        [request] = receiver.received("/in")
    assert (status, output.strip()) == (0, "sent a test message through ops-hook (webhook)")
    body = json.loads(request.body)
    assert body["title"] == "Callboard 测试消息" and body["alert"] == {**body["alert"], "kind": "test",
                                                                     "channel": "ops-hook"}
    assert webhook.verify("k3y", request.headers["Callboard-Timestamp"], request.body,
                          request.headers["Callboard-Signature"], now=int(request.headers["Callboard-Timestamp"]))


async def test_a_refused_test_message_says_why_and_exits_1(tmp_path):
    async with http_receiver() as receiver:
        receiver.answers.append(404)
        status, output = await callboard("alerts", "test", "--channel", "ops-hook",
                                         config=write_config(tmp_path, receiver.url))
    assert status == 1
    assert "the test message through ops-hook refused for good: the receiver answered HTTP 404 Not Found" in output


async def test_an_unknown_channel_or_a_missing_address_is_a_clear_error(tmp_path):
    config = write_config(tmp_path, "https://hooks.example.com/x")
    status, output = await callboard("alerts", "test", "--channel", "pager", config=config)
    assert status == 2 and "no channel named 'pager'; the channels are leads-mail, ops-hook" in output
    status, output = await callboard("alerts", "test", "--channel", "leads-mail", config=config)
    assert status == 2 and "leads-mail sends e-mail: give the address to send the test to, with --to" in output


async def test_check_shows_the_channels_and_who_is_on_call(tmp_path):
    rota = tmp_path / "rota.toml"
    rota.write_text('[people.mo]\nname = "Mo"\ncontacts = [{ channel = "ops-hook" }]\n'
                    '[[shifts]]\nperson = "mo"\nlevel = "manager"\nstart = "00:00"\nend = "24:00"\n')
    status, output = await callboard("alerts", "check", config=write_config(tmp_path, "https://x.example/h"),
                                     rota=str(rota))
    assert status == 0, output
    lines = output.splitlines()
    assert lines[:3] == ["channel leads-mail: smtp", "channel ops-hook: webhook", lines[2]]
    assert lines[2].startswith("on call at ") and lines[3] == "  manager: Mo" and lines[4].startswith("next hand-over")


async def test_a_bad_rota_stops_check_naming_the_entry(tmp_path):
    rota = tmp_path / "rota.toml"
    rota.write_text('[people.mo]\ncontacts = [{ channel = "leads-mail" }]\n')
    status, output = await callboard("alerts", "check", config=write_config(tmp_path, "https://x.example/h"),
                                     rota=str(rota))
    assert status == 2
    assert "[people.mo] contacts[0]: channel 'leads-mail' sends e-mail: give the person's address" in output
