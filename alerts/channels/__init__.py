"""The channels an alert message goes out through, one module each.

Every channel is a class built from its checked configuration (:mod:`alerts.config`) with one
method, ``async notify(message, address=None)``, which returns when the receiver has accepted the
message and otherwise raises :class:`~alerts.exceptions.ChannelError`, ``permanent`` when sending
again cannot help. ``address`` is the recipient's address on channels that have one (e-mail);
webhook, Slack and Teams channels post to one room and ignore it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import orjson

from ..exceptions import AlertsConfigError, ChannelError
from ..messages import Message

USER_AGENT = "Callboard-Alerts/1"


class Channel(Protocol):
    name: str

    async def notify(self, message: Message, address: str | None = None) -> None: ...


def http_error(status: int, reason: str) -> ChannelError:
    """The receiver answered ``status``: a client error is permanent, except 408 and 429 (try later)."""
    permanent = 400 <= status < 500 and status not in (408, 429)
    return ChannelError(f"the receiver answered HTTP {status} {reason}".rstrip(), permanent=permanent)


async def post(session: aiohttp.ClientSession, url: str, body: bytes, *, timeout_s: float,
               headers: dict[str, str] | None = None) -> None:
    """POST ``body`` (JSON); return on a 2xx answer, else raise :class:`ChannelError`.

    Connection errors and timeouts are temporary; so are 5xx answers. Redirects are not followed:
    a webhook URL that moved is a configuration fault, reported as the 3xx it is (permanent).
    """
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with session.post(url, data=body, headers=all_headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            await response.read()
            if 200 <= response.status < 300:
                return
            if 300 <= response.status < 400:
                raise ChannelError(f"the receiver redirected (HTTP {response.status}); configure the new URL",
                                   permanent=True)
            raise http_error(response.status, response.reason or "")
    except TimeoutError:
        raise ChannelError(f"no answer within {timeout_s:g} s", permanent=False) from None
    except aiohttp.ClientError as exc:
        # The URL of a Slack or Teams webhook is its secret: keep it out of the error that is stored.
        detail = str(exc).replace(url, "<the configured url>")
        raise ChannelError(f"could not reach the receiver: {type(exc).__name__}: {detail}", permanent=False) from None


def json_bytes(payload: Any) -> bytes:
    return orjson.dumps(payload)


class Options:
    """One channel's table of the configuration file, read key by key; every fault names the key.

    A secret ``KEY`` may instead be given as ``KEY_file``, the path of a file holding it.
    """

    def __init__(self, name: str, table: Mapping[str, Any], where: str) -> None:
        self.name, self._table, self._where, self._read = name, table, where, {"kind"}

    def fault(self, key: str, problem: str) -> AlertsConfigError:
        return AlertsConfigError(f"{self._where}: [alerts.channels.{self.name}] {key}: {problem}")

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key not in self._table:
            if default is _REQUIRED:
                raise self.fault(key, "missing")
            return default
        return self._table[key]

    def text(self, key: str, default: Any = None) -> Any:
        value = self._get(key, default)
        if value is not default and (not isinstance(value, str) or not value.strip()):
            raise self.fault(key, "must be a non-empty string")
        return value

    def secret(self, key: str, required: bool = True) -> str | None:
        """``KEY`` or the contents of the file named by ``KEY_file`` (one of them, not both)."""
        inline, path = self.text(key), self.text(f"{key}_file")
        if inline is not None and path is not None:
            raise self.fault(key, f"give {key} or {key}_file, not both")
        if path is not None:
            try:
                inline = Path(path).read_text().strip()
            except OSError as exc:
                raise self.fault(f"{key}_file", f"{path!r} cannot be read: {exc.strerror}") from None
            if not inline:
                raise self.fault(f"{key}_file", f"{path!r} is empty")
        if inline is None and required:
            raise self.fault(key, f"missing (give {key} or {key}_file)")
        return inline

    def url(self, key: str = "url") -> str:
        value = self.secret(key)
        if not value.startswith(("https://", "http://")):
            raise self.fault(key, "must be an https:// URL")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise self.fault(key, "must be a number greater than 0")
        return float(value)

    def port(self, key: str, default: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 65535:
            raise self.fault(key, "must be a TCP port, 1-65535")
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self._get(key, default)
        if value not in choices:
            raise self.fault(key, f"must be one of {', '.join(choices)}")
        return value

    def check_all_read(self) -> None:
        unknown = sorted(set(self._table) - self._read)
        if unknown:
            raise self.fault(unknown[0], "unknown key (see docs/alerts.md for this kind of channel)")


_REQUIRED = object()
REQUIRED: Any = _REQUIRED


@dataclasses.dataclass(frozen=True)
class UrlConfig:
    """A channel that is one secret URL (Slack, Teams)."""

    url: str
    timeout_s: float


class JsonPostChannel:
    """A channel that POSTs its rendering of the message as JSON to a URL; subclasses say how it renders."""

    default_timeout_s = 10.0

    def __init__(self, name: str, config: UrlConfig, session: aiohttp.ClientSession) -> None:
        self.name, self._config, self._session = name, config, session

    @classmethod
    def read_config(cls, options: Options) -> UrlConfig:
        return UrlConfig(url=options.url("url"), timeout_s=options.number("timeout_s", cls.default_timeout_s))

    @staticmethod
    def render(message: Message) -> Any:
        raise NotImplementedError

    async def notify(self, message: Message, address: str | None = None) -> None:
        await post(self._session, self._config.url, json_bytes(self.render(message)), timeout_s=self._config.timeout_s)
