"""Slack, through an incoming webhook (a URL Slack gives for one channel; it is the secret).

Slack answers 200 "ok"; 4xx with a reason (invalid_payload, no_service, channel_is_archived) is
permanent, 429 (rate-limited) and 5xx are retried.
"""

from __future__ import annotations

from ..messages import as_slack
from . import JsonPostChannel

KIND = "slack"


class SlackChannel(JsonPostChannel):
    render = staticmethod(as_slack)
