"""Each alert channel against a real local receiver: what it sends, and how it reports a failure."""

from __future__ import annotations

import datetime
import json
import time
import zoneinfo

import aiohttp
import pytest
import trustme

from alerts.channels import smtp, webhook
from alerts.config import build_channels, read_channels
from alerts.exceptions import AlertsConfigError, ChannelError
from alerts.messages import compose_test

from .receivers import PASSWORD, USERNAME, http_receiver, smtp_receiver

AT = datetime.datetime(2025, 3, 4, 9, 30, tzinfo=datetime.UTC)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MESSAGE = compose_test("desk", language="en", zone=SHANGHAI, at=AT, key="6f1c1b0e-0000-4000-8000-000000000001")


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture(scope="module")
def certificate(certificate_authority):
    return certificate_authority.issue_cert("127.0.0.1")


@pytest.fixture
def ca_file(certificate_authority, tmp_path):
    path = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as session:
        yield session


def one_channel(table: dict, session: aiohttp.ClientSession):
    return build_channels(read_channels({"channels": {"c": table}}), session)["c"]


# --- The generic webhook ------------------------------------------------------------------------

async def test_webhook_posts_the_message_signed_with_an_idempotency_key(session):
    async with http_receiver() as receiver:
        channel = one_channel({"kind": "webhook", "url": receiver.url + "/hook", "secret": "k3y"}, session)
        await channel.notify(MESSAGE)
        [request] = receiver.received("/hook")
    body = json.loads(request.body)
    assert body["idempotency_key"] == request.headers["Idempotency-Key"] == MESSAGE.key
    assert body["title"] == "Callboard test message" and body["alert"]["channel"] == "desk"
    stamp = request.headers["Callboard-Timestamp"]
    assert webhook.verify("k3y", stamp, request.body, request.headers["Callboard-Signature"], now=time.time())
    assert not webhook.verify("other", stamp, request.body, request.headers["Callboard-Signature"], now=time.time())
    assert not webhook.verify("k3y", stamp, request.body + b" ", request.headers["Callboard-Signature"],
                              now=time.time())
    # A request replayed later than the tolerance is refused even with its good signature.
    assert not webhook.verify("k3y", stamp, request.body, request.headers["Callboard-Signature"],
                              now=int(stamp) + webhook.TOLERANCE_S + 1)


def test_webhook_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Worked with: printf '1700000000.{}' | openssl dgst -sha256 -hmac k3y
    assert webhook.signature("k3y", 1700000000, b"{}") == (
        "sha256=" + __import__("hmac").new(b"k3y", b"1700000000.{}", "sha256").hexdigest())


@pytest.mark.parametrize("status, permanent", [(400, True), (403, True), (404, True), (410, True),
                                               (408, False), (429, False), (500, False), (503, False)])
async def test_a_client_error_is_permanent_except_408_and_429_and_a_server_error_is_not(session, status, permanent):
    async with http_receiver() as receiver:
        receiver.answers.append(status)
        channel = one_channel({"kind": "webhook", "url": receiver.url, "secret": "k"}, session)
        with pytest.raises(ChannelError, match=f"HTTP {status}") as failed:
            await channel.notify(MESSAGE)
    assert failed.value.permanent is permanent


async def test_an_unreachable_receiver_is_a_temporary_failure(session):
    from callboard.demo import free_port

    channel = one_channel({"kind": "slack", "url": f"http://127.0.0.1:{free_port()}/services/T/B/secret"}, session)
    with pytest.raises(ChannelError, match="could not reach") as failed:
        await channel.notify(MESSAGE)
    assert not failed.value.permanent and "secret" not in str(failed.value)


async def test_a_receiver_that_does_not_answer_in_time_is_a_temporary_failure(session):
    async with http_receiver() as receiver:
        receiver.hang.set()
        channel = one_channel({"kind": "teams", "url": receiver.url, "timeout_s": 0.2}, session)
        with pytest.raises(ChannelError, match="no answer within 0.2 s") as failed:
            await channel.notify(MESSAGE)
    assert not failed.value.permanent


# --- Slack and Teams ----------------------------------------------------------------------------

async def test_slack_gets_text_and_blocks(session):
    async with http_receiver() as receiver:
        await one_channel({"kind": "slack", "url": receiver.url + "/services/T0/B0/x"}, session).notify(MESSAGE)
        body = json.loads(receiver.received("/services/T0/B0/x")[0].body)
    assert body["text"] == "Callboard test message"
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Callboard test message",
                                                            "emoji": False}}
    assert {"type": "mrkdwn", "text": "*Channel*\ndesk"} in body["blocks"][2]["fields"]


async def test_teams_gets_an_adaptive_card_as_workflows_expect(session):
    async with http_receiver() as receiver:
        await one_channel({"kind": "teams", "url": receiver.url + "/workflows/x"}, session).notify(MESSAGE)
        body = json.loads(receiver.received("/workflows/x")[0].body)
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"] == "Callboard test message"
    assert {"title": "Channel", "value": "desk"} in card["body"][2]["facts"]


# --- E-mail -------------------------------------------------------------------------------------

def mail_table(port: int, ca_file: str, **changes) -> dict:
    return {"kind": "smtp", "host": "127.0.0.1", "port": port, "security": "starttls", "username": USERNAME,
            "password": PASSWORD, "from": "Callboard <callboard@example.com>", "ca_file": ca_file, **changes}


async def test_email_goes_over_starttls_with_auth_carrying_the_idempotency_key_as_message_id(certificate, ca_file):
    with smtp_receiver(certificate) as (mailbox, port):
        await one_channel(mail_table(port, ca_file), None).notify(MESSAGE, "li.wei@example.com")
    [(sender, recipients)] = mailbox.envelopes
    assert (sender, recipients) == ("callboard@example.com", ["li.wei@example.com"])
    [mail] = mailbox.messages
    assert mail["Subject"] == "Callboard test message"
    assert mail["Message-ID"] == f"<{MESSAGE.key}@example.com>"
    assert "Channel: desk" in mail.get_body(("plain",)).get_content()
    assert "<th align='left'>Channel</th><td>desk</td>" in mail.get_body(("html",)).get_content()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the receiver's TLS is implicit
async def test_email_goes_over_implicit_tls(certificate, ca_file):
    with smtp_receiver(certificate, implicit_tls=True) as (mailbox, port):
        await one_channel(mail_table(port, ca_file, security="tls"), None).notify(MESSAGE, "li.wei@example.com")
    assert len(mailbox.messages) == 1


async def test_a_wrong_password_is_a_permanent_failure(certificate, ca_file):
    with smtp_receiver(certificate) as (mailbox, port):
        with pytest.raises(ChannelError, match="user name or password") as failed:
            await one_channel(mail_table(port, ca_file, password="wrong"), None).notify(MESSAGE, "a@example.com")
    assert failed.value.permanent and mailbox.messages == []


@pytest.mark.parametrize("code, permanent", [(550, True), (451, False)])
async def test_a_refused_recipient_is_permanent_on_5xx_and_temporary_on_4xx(certificate, ca_file, code, permanent):
    with smtp_receiver(certificate) as (mailbox, port):
        mailbox.refuse_recipients_with = code
        with pytest.raises(ChannelError, match=f"refused the recipient \\({code}\\)") as failed:
            await one_channel(mail_table(port, ca_file), None).notify(MESSAGE, "gone@example.com")
    assert failed.value.permanent is permanent


async def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(certificate):
    with smtp_receiver(certificate) as (mailbox, port):
        with pytest.raises(ChannelError, match="could not reach the mail server"):
            await one_channel(mail_table(port, None), None).notify(MESSAGE, "a@example.com")
    assert mailbox.messages == []


# --- Configuration ------------------------------------------------------------------------------

def test_secrets_may_be_read_from_files(tmp_path):
    (tmp_path / "password").write_text("from-a-file\n")
    (tmp_path / "url").write_text("https://hooks.slack.com/services/T/B/x\n")
    channels = read_channels({"channels": {
        "mail": {"kind": "smtp", "host": "smtp.example.com", "from": "cb@example.com", "username": "cb",
                 "password_file": str(tmp_path / "password")},
        "room": {"kind": "slack", "url_file": str(tmp_path / "url")}}})
    assert channels["mail"][1].password == "from-a-file"
    assert channels["mail"][1].port == 587  # STARTTLS by default
    assert channels["room"][1].url == "https://hooks.slack.com/services/T/B/x"


@pytest.mark.parametrize("table, complaint", [
    ({"kind": "fax"}, "[alerts.channels.c] kind: must be one of webhook, slack, teams, smtp"),
    ({}, "[alerts.channels.c] kind: missing"),
    ({"kind": "webhook", "url": "https://x.example"}, "secret: missing (give secret or secret_file)"),
    ({"kind": "slack", "url": "ftp://x"}, "url: must be an https:// URL"),
    ({"kind": "slack", "url": "https://x", "url_file": "/x"}, "give url or url_file, not both"),
    ({"kind": "slack", "url_file": "/no/such/file"}, "url_file: '/no/such/file' cannot be read"),
    ({"kind": "slack", "url": "https://x", "channel": "#leads"}, "channel: unknown key"),
    ({"kind": "teams", "url": "https://x", "timeout_s": 0}, "timeout_s: must be a number greater than 0"),
    ({"kind": "smtp", "host": "h", "from": "nobody"}, "from: must be an e-mail address"),
    ({"kind": "smtp", "host": "h", "from": "a@b.c", "username": "u"}, "give username and password together"),
    ({"kind": "smtp", "host": "h", "from": "a@b.c", "username": "u", "password": "p", "security": "none"},
     "would send the password unencrypted"),
    ({"kind": "smtp", "host": "h", "from": "a@b.c", "security": "ssl"}, "security: must be one of starttls, tls, none"),
    ({"kind": "smtp", "from": "a@b.c"}, "host: missing"),
    ({"kind": "smtp", "host": "h", "from": "a@b.c", "port": 70000}, "port: must be a TCP port"),
])
def test_a_bad_channel_is_refused_at_start_naming_channel_and_key(table, complaint):
    with pytest.raises(AlertsConfigError) as refused:
        read_channels({"channels": {"c": table}}, where="callboard.toml")
    assert str(refused.value).startswith("callboard.toml: ") and complaint in str(refused.value)


def test_unknown_alerts_keys_and_bad_names_are_refused():
    with pytest.raises(AlertsConfigError, match="unknown key 'chanels'"):
        read_channels({"chanels": {}})
    with pytest.raises(AlertsConfigError, match="lower-case letters"):
        read_channels({"channels": {"Leads Mail": {"kind": "slack", "url": "https://x"}}})


def test_an_email_carries_no_out_of_office_replies():
    mail = smtp.build_email(MESSAGE, "Callboard <cb@example.com>", "li.wei@example.com")
    assert mail["Auto-Submitted"] == "auto-generated"
