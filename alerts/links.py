"""Links in alert messages: to the alert on the dashboard, and signed, expiring acknowledge links.

An acknowledge link names one notification (so the dashboard knows who acknowledged: the person
it was sent to) and the instant it expires, signed with HMAC-SHA256 under
``CALLBOARD_ALERT_LINK_SECRET``. The token is ``<notification id>.<expiry, Unix seconds>.<signature>``;
nothing personal is in it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from urllib.parse import quote

from .exceptions import LinkError


def alert_url(dashboard_url: str, alert_id: int) -> str:
    return f"{dashboard_url}/alerts?alert={alert_id}"


def _signature(secret: str, notification_id: int, expires: int) -> str:
    digest = hmac.new(secret.encode(), f"ack.{notification_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def ack_token(secret: str, notification_id: int, expires_at: datetime.datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{notification_id}.{expires}.{_signature(secret, notification_id, expires)}"


def ack_url(dashboard_url: str, secret: str, notification_id: int, expires_at: datetime.datetime) -> str:
    return f"{dashboard_url}/alerts/ack?token={quote(ack_token(secret, notification_id, expires_at))}"


def verify_ack_token(secret: str, token: str, now: datetime.datetime) -> int:
    """The notification an acknowledge token was made for; :class:`LinkError` if forged or expired."""
    try:
        notification, expires, signature = token.split(".")
        notification_id, expires_at = int(notification), int(expires)
    except ValueError:
        raise LinkError("this acknowledge link is incomplete; open the alert on the dashboard instead") from None
    if not hmac.compare_digest(signature, _signature(secret, notification_id, expires_at)):
        raise LinkError("this acknowledge link is not one Callboard signed")
    if now.timestamp() >= expires_at:
        raise LinkError("this acknowledge link has expired; acknowledge the alert on the dashboard")
    return notification_id
