"""Real local receivers for the alert channels: an HTTP server and an SMTP server on loopback.

They record what they are sent and answer as a test tells them to, so that channel and outbox
tests exercise the real client code, the real sockets and real TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import ssl
from collections.abc import AsyncIterator

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from callboard.demo import free_port


@dataclasses.dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    """Answers POSTs with the statuses queued in ``answers`` (then 200), or hangs while ``hang`` is set."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answers: list[int] = []
        self.hang = asyncio.Event()
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(Request(request.path, dict(request.headers), await request.read()))
        if self.hang.is_set():
            await asyncio.sleep(3600)
        status = self.answers.pop(0) if self.answers else 200
        return web.Response(status=status, text="ok" if status < 300 else "no")

    def received(self, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if path is None or r.path == path]


@contextlib.asynccontextmanager
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver._handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


class MailHandler:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_recipients_with: int | None = None  # e.g. 550, or 451

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients_with:
            return f"{self.refuse_recipients_with} mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


USERNAME, PASSWORD = "callboard", "s3cret-smtp"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USERNAME.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def smtp_receiver(certificate, *, implicit_tls: bool = False):
    """An SMTP server on 127.0.0.1 offering STARTTLS (or speaking TLS at once), requiring AUTH over TLS.

    ``certificate`` is a ``trustme`` leaf for 127.0.0.1.
    """
    handler = MailHandler()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_tls)
    # aiosmtpd only knows of TLS it started itself (STARTTLS): on an implicit-TLS port, where every
    # byte is encrypted anyway, it must be told not to hide AUTH.
    options = ({"ssl_context": server_tls, "auth_require_tls": False} if implicit_tls
               else {"tls_context": server_tls, "require_starttls": True, "auth_require_tls": True})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=_authenticate,
                            auth_required=True, **options)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
