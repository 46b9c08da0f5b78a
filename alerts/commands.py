"""What ``callboard alerts test`` and ``callboard alerts check`` do; the command line is in callboard/cli.py."""

from __future__ import annotations

import datetime
import uuid

import aiohttp

from callboard.settings import Settings

from . import config
from .exceptions import AlertsConfigError
from .messages import compose_test
from .rota import CHANNELS_WITH_ADDRESSES


async def send_test(settings: Settings, channel_name: str, address: str | None) -> str:
    """Send the test message through one channel, straight away (not through the outbox); say what happened.

    Raises :class:`~alerts.exceptions.ChannelError` when the receiver refuses it,
    :class:`AlertsConfigError` for a bad setup.
    """
    channels, _ = config.load(settings)
    if channel_name not in channels:
        known = ", ".join(sorted(channels)) or "none: add [alerts.channels.NAME] to the configuration file"
        raise AlertsConfigError(f"no channel named {channel_name!r}; the channels are {known}")
    kind = channels[channel_name][0]
    if kind in CHANNELS_WITH_ADDRESSES and not address:
        raise AlertsConfigError(f"{channel_name} sends e-mail: give the address to send the test to, with --to")
    now = datetime.datetime.now(datetime.UTC)
    message = compose_test(channel_name, language=settings.language, zone=settings.timezone, at=now,
                           key=str(uuid.uuid4()))
    async with aiohttp.ClientSession() as session:
        await config.build_channels({channel_name: channels[channel_name]}, session)[channel_name].notify(
            message, address if kind in CHANNELS_WITH_ADDRESSES else None)
    return f"sent a test message through {channel_name} ({kind}){f' to {address}' if address else ''}"


def check(settings: Settings, now: datetime.datetime) -> list[str]:
    """Lines describing the alert set-up as read: the channels, who is on call now, the next hand-over."""
    channels, rota = config.load(settings)
    lines = [f"channel {name}: {kind}" for name, (kind, _) in sorted(channels.items())] or ["no channels"]
    if rota is None:
        return [*lines, "no rota (CALLBOARD_ROTA is not set): nobody is notified"]
    local = now.astimezone(settings.timezone)
    lines.append(f"on call at {local:%Y-%m-%d %H:%M %Z}:")
    lines += [f"  {level}: {person.name}" for level, person in rota.on_call(now)] or ["  nobody"]
    handover = rota.next_handover(now)
    if handover:
        lines.append(f"next hand-over: {handover.astimezone(settings.timezone):%Y-%m-%d %H:%M %Z}")
    return lines

