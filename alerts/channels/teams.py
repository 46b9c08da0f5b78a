"""Microsoft Teams, through a Workflows (Power Automate) webhook posting an Adaptive Card.

The URL is the one the workflow "Post to a channel when a webhook request is received" shows once
saved; it is the secret. The workflow answers 202 Accepted and then posts the card to its channel.
"""

from __future__ import annotations

from ..messages import as_teams
from . import JsonPostChannel

KIND = "teams"


class TeamsChannel(JsonPostChannel):
    render = staticmethod(as_teams)
    default_timeout_s = 20.0  # a workflow is slower to accept than a plain webhook
