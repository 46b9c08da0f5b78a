"""The generic JSON webhook: a signed POST any system can receive.

The body is :func:`alerts.messages.as_webhook`'s JSON. Each request carries

- ``Idempotency-Key``: the same on every attempt at one notification; a receiver that has seen it
  already should answer 2xx and do nothing more;
- ``Callboard-Timestamp``: Unix seconds when this attempt was made;
- ``Callboard-Signature``: ``sha256=`` and the hex HMAC-SHA256, under the channel's secret, of the
  timestamp, a full stop, and the body's bytes. :func:`verify` is what a receiver does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time

import aiohttp

from ..messages import Message, as_webhook
from . import Options, json_bytes, post

KIND = "webhook"
TOLERANCE_S = 300  # a receiver refuses signatures older than this: a replayed request is refused


@dataclasses.dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    timeout_s: float


def read_config(options: Options) -> WebhookConfig:
    return WebhookConfig(url=options.url("url"), secret=options.secret("secret"),
                         timeout_s=options.number("timeout_s", 10))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature_header: str, now: float) -> bool:
    """True when a request is signed with ``secret`` and no more than :data:`TOLERANCE_S` old."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_S:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), signature_header)


class WebhookChannel:
    def __init__(self, name: str, config: WebhookConfig, session: aiohttp.ClientSession) -> None:
        self.name, self._config, self._session = name, config, session

    async def notify(self, message: Message, address: str | None = None) -> None:
        body = json_bytes(as_webhook(message))
        timestamp = int(time.time())
        await post(self._session, self._config.url, body, timeout_s=self._config.timeout_s, headers={
            "Idempotency-Key": message.key, "Callboard-Timestamp": str(timestamp),
            "Callboard-Signature": signature(self._config.secret, timestamp, body)})
