"""The alert channels named in the ``[alerts.channels.NAME]`` tables of the configuration file.

Read and checked once at start (:func:`read_channels`); every fault names the channel and the key.
Channels are then built with the process's one HTTP session (:func:`build_channels`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from callboard.settings import Settings

from . import rota
from .channels import REQUIRED, Channel, Options, slack, smtp, teams, webhook
from .exceptions import AlertsConfigError
from .rota import Rota

# kind: (how its table is read, the channel class)
KINDS: dict[str, tuple[Any, Any]] = {
    webhook.KIND: (webhook.read_config, webhook.WebhookChannel),
    slack.KIND: (slack.SlackChannel.read_config, slack.SlackChannel),
    teams.KIND: (teams.TeamsChannel.read_config, teams.TeamsChannel),
    smtp.KIND: (smtp.read_config, smtp.SmtpChannel),
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def read_channels(alerts_table: Mapping[str, Any], where: str = "the configuration file") -> dict[str, tuple[str, Any]]:
    """``{name: (kind, config)}`` from the ``[alerts]`` table; :class:`AlertsConfigError` on the first fault."""
    unknown = sorted(set(alerts_table) - {"channels"})
    if unknown:
        raise AlertsConfigError(f"{where}: [alerts] has unknown key {unknown[0]!r}; it holds [alerts.channels.NAME] "
                                f"tables (docs/alerts.md)")
    channels = alerts_table.get("channels", {})
    if not isinstance(channels, Mapping):
        raise AlertsConfigError(f"{where}: alerts.channels must be tables, as [alerts.channels.NAME]")
    read: dict[str, tuple[str, Any]] = {}
    for name, table in channels.items():
        if not _NAME.match(name):
            raise AlertsConfigError(f"{where}: [alerts.channels.{name}]: a channel's name is lower-case letters, "
                                    f"digits, - and _")
        if not isinstance(table, Mapping):
            raise AlertsConfigError(f"{where}: alerts.channels.{name} must be a table")
        options = Options(name, table, where)
        kind = options.choice("kind", tuple(KINDS), REQUIRED)
        read[name] = (kind, KINDS[kind][0](options))
        options.check_all_read()
    return read


def build_channels(configs: Mapping[str, tuple[str, Any]], session: aiohttp.ClientSession) -> dict[str, Channel]:
    return {name: KINDS[kind][1](name, config, session) for name, (kind, config) in configs.items()}


def load(settings: Settings) -> tuple[dict[str, tuple[str, Any]], Rota | None]:
    """The channels and, if CALLBOARD_ROTA names one, the rota, checked against each other."""
    channels = read_channels(settings.alerts, where="CALLBOARD_CONFIG")
    if settings.rota is None:
        return channels, None
    return channels, rota.load(settings.rota, settings.timezone, {name: kind for name, (kind, _) in channels.items()})
