"""E-mail over SMTP: STARTTLS (port 587), implicit TLS (port 465) or, on a trusted network only,
plain SMTP; with a user name and password when the server asks for them.

Each message goes to one recipient, with ``Message-ID: <idempotency key@sender's domain>``: a
message sent twice after a crash carries the same Message-ID, which mail systems use to drop
duplicates.
"""

from __future__ import annotations

import dataclasses
import email.message
import email.utils
import ssl

import aiohttp
import aiosmtplib

from ..exceptions import ChannelError
from ..messages import Message, as_email
from . import REQUIRED, Options

KIND = "smtp"
SECURITY = ("starttls", "tls", "none")
_DEFAULT_PORT = {"starttls": 587, "tls": 465, "none": 25}


@dataclasses.dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    sender: str
    username: str | None
    password: str | None
    ca_file: str | None  # trust this CA instead of the system's (a private mail relay)
    timeout_s: float


def read_config(options: Options) -> SmtpConfig:
    security = options.choice("security", SECURITY, "starttls")
    sender = options.text("from", REQUIRED)
    if not email.utils.parseaddr(sender)[1].count("@") == 1:
        raise options.fault("from", "must be an e-mail address, e.g. \"Callboard <callboard@example.com>\"")
    username, password = options.text("username"), options.secret("password", required=False)
    if (username is None) != (password is None):
        raise options.fault("password" if password is None else "username",
                            "give username and password together, or neither")
    if password is not None and security == "none":
        raise options.fault("security", "\"none\" would send the password unencrypted; use starttls or tls")
    return SmtpConfig(host=options.text("host", REQUIRED), port=options.port("port", _DEFAULT_PORT[security]),
                      security=security, sender=sender, username=username, password=password,
                      ca_file=options.text("ca_file"), timeout_s=options.number("timeout_s", 20))


def build_email(message: Message, sender: str, recipient: str) -> email.message.EmailMessage:
    subject, plain, page = as_email(message)
    mail = email.message.EmailMessage()
    mail["Subject"] = subject
    mail["From"] = sender
    mail["To"] = recipient
    mail["Date"] = email.utils.formatdate(localtime=False)
    mail["Message-ID"] = f"<{message.key}@{email.utils.parseaddr(sender)[1].split('@')[1]}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to the alerts
    mail.set_content(plain)
    mail.add_alternative(page, subtype="html")
    return mail


def _refusal(code: int, what: str) -> ChannelError:
    # 5xx: the server will not take this message, ever; 4xx: not now.
    return ChannelError(f"the mail server {what} ({code})", permanent=code >= 500)


class SmtpChannel:
    def __init__(self, name: str, config: SmtpConfig, session: aiohttp.ClientSession | None = None) -> None:
        self.name, self._config = name, config
        self._tls = ssl.create_default_context(cafile=config.ca_file) if config.security != "none" else None

    async def notify(self, message: Message, address: str | None = None) -> None:
        if not address:
            raise ChannelError("an e-mail channel needs the recipient's address", permanent=True)
        config = self._config
        mail = build_email(message, config.sender, address)
        try:
            await aiosmtplib.send(mail, hostname=config.host, port=config.port, username=config.username,
                                  password=config.password, use_tls=config.security == "tls",
                                  start_tls=config.security == "starttls", tls_context=self._tls,
                                  timeout=config.timeout_s)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise _refusal(min(codes, default=550), "refused the recipient") from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"the mail server refused the user name or password ({exc.code})",
                               permanent=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal(exc.code, f"refused the message: {exc.message}") from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise ChannelError(f"the mail server does not support what the channel asks: {exc}",
                               permanent=True) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # timeouts, lost connections, TLS failures
            raise ChannelError(f"could not reach the mail server: {type(exc).__name__}: {exc}",
                               permanent=False) from None
