"""Configuration, read once from ``CALLBOARD_*`` variables, ``DATABASE_URL`` and a TOML file.

Precedence: environment variable, then the TOML file named by ``CALLBOARD_CONFIG``, then the
default. Every setting also accepts ``NAME_FILE`` (a path whose contents are the value), for
secrets kept out of the environment. The README's configuration table is printed by
``callboard config``, from :data:`SETTINGS` below, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from . import metrics
from .exceptions import ConfigError
from .shifts import Shift, shifts_from_tables
from .shifts import parse as parse_shifts

LANGUAGES = ("en", "zh-Hans")
# The ingest's heartbeat comes every 5 s; a feed is not called down before two have been missed.
FEED_DOWN_MIN_S = 10.0


@dataclasses.dataclass(frozen=True)
class Setting:
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str

    @property
    def key(self) -> str:
        """The TOML key: the variable's name without the prefix, in lower case."""
        return self.env.removeprefix("CALLBOARD_").lower()


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port, 0-65535")
    return value


def _zone(text: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {text!r} (use an IANA name such as Asia/Shanghai)") from exc


def _feed_url(text: str) -> str:
    if "://" not in text:
        raise ValueError("must be a URL, such as ws://host:port/ (each source's schemes: callboard ingest --help)")
    return text


def _text(text: str) -> str:
    return text


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of ids, none empty, none twice."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise ValueError("give the ids separated by commas, none empty")
    if len(set(names)) != len(names):
        raise ValueError("an id is given twice")
    return names


def _public_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://, e.g. https://callboard.example.com")
    return text.rstrip("/")


def _login_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://, e.g. https://login.mypurecloud.com")
    return text.rstrip("/")


def _language(text: str) -> str:
    if text not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return text


LIVE_STATE_WAYS = ("incremental", "recompute")


def _live_state(text: str) -> str:
    if text not in LIVE_STATE_WAYS:
        raise ValueError(f"must be one of {', '.join(LIVE_STATE_WAYS)}")
    return text


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError("must be a fraction from 0 to 1, e.g. 0.8")
    return value


def _score_weights(text: str) -> dict[str, float]:
    """``name=weight,...``: every component of the agent score exactly once, none negative, not all 0."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, number = (piece.strip() for piece in part.partition("="))
        if name not in metrics.SCORE_WEIGHTS:
            raise ValueError(f"{name!r} is not a score component; they are {', '.join(metrics.SCORE_WEIGHTS)}")
        if not sep or name in weights:
            raise ValueError(f"give {name} one weight, as {name}=25")
        try:
            weights[name] = float(number)
        except ValueError:
            raise ValueError(f"{name}={number!r}: the weight must be a number") from None
        if not 0 <= weights[name] < float("inf"):
            raise ValueError(f"{name}={number}: the weight must be 0 or more")
    missing = [name for name in metrics.SCORE_WEIGHTS if name not in weights]
    if missing:
        raise ValueError(f"no weight for {', '.join(missing)} (give 0 to leave a component out)")
    if not any(weights.values()):
        raise ValueError("at least one weight must be more than 0")
    return weights


def _switch(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _header_name(text: str) -> str:
    if not text.replace("-", "").isalnum():
        raise ValueError("must be an HTTP header name, e.g. X-Forwarded-User")
    return text.lower()


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks separated by commas, e.g. 127.0.0.1,10.0.0.0/24."""
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in text.split(","))
    except ValueError as exc:
        raise ValueError(f"give addresses or networks separated by commas, e.g. 127.0.0.1,10.0.0.0/24 ({exc})") \
            from None


def _sources(text: str) -> str:
    """CSP sources separated by spaces, e.g. https://kiosk.example.com."""
    if any(c in text for c in ";,\n\r"):
        raise ValueError("give origins separated by spaces, e.g. https://kiosk.example.com")
    return text.strip()


def _weights_text(weights: Mapping[str, float]) -> str:
    return ",".join(f"{name}={weight:g}" for name, weight in weights.items())


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, _text,
            "PostgreSQL to use, e.g. postgresql://user@host/callboard. Unset: an embedded "
            "server keeps its data in CALLBOARD_DATA_DIR."),
    Setting("CALLBOARD_DATA_DIR", None, _text,
            "Where the embedded PostgreSQL and local files live. Default: the per-user data "
            "directory (~/.local/share/callboard on Linux)."),
    Setting("CALLBOARD_TIMEZONE", "UTC", _zone,
            "The site's IANA time zone; 'today' and shift boundaries are counted in it."),
    Setting("CALLBOARD_ANSWER_TARGET_S", 15.0, _positive_float,
            "Answer target T in seconds (\"three rings\"): on-time answer rate and service level."),
    Setting("CALLBOARD_HOLD_LIMIT_S", 60.0, _positive_float,
            "A hold longer than this many seconds is over the limit."),
    Setting("CALLBOARD_SHORT_ABANDON_S", 5.0, _positive_float,
            "Callers who hang up sooner than this are short abandons, left out of service level."),
    Setting("CALLBOARD_SCORE_WEIGHTS", _weights_text(metrics.SCORE_WEIGHTS), _score_weights,
            "Weights of the agent score's components (on-time answer rate, CSAT, resolution rate, hold "
            "discipline, callbacks on time), each named once; 0 leaves a component out. In the TOML "
            "file, also a table."),
    Setting("CALLBOARD_RATE_AMBER_BELOW", 0.8, _fraction,
            "On-time answer rate and service level are shown amber below this fraction."),
    Setting("CALLBOARD_RATE_RED_BELOW", 0.6, _fraction,
            "... and red below this one (less than CALLBOARD_RATE_AMBER_BELOW)."),
    Setting("CALLBOARD_SHIFTS", "07:00,15:00,23:00", parse_shifts,
            "The shifts that trends group by, on the site clock. Simple form: the start times, each shift "
            "ending where the next begins. Named form: Early=07:00-15:00@mon-fri;Night=23:00-07:00 (an end "
            "before the start runs past midnight; @ the weekdays it starts on, default every day). In the "
            "TOML file, also [[shifts]] tables with name, start, end, weekdays."),
    Setting("CALLBOARD_LANGUAGE", "en", _language,
            "Language of the pages: en or zh-Hans (Simplified Chinese). A display can choose its own "
            "with ?lang= in its URL."),
    Setting("CALLBOARD_FEED_URL", None, _feed_url,
            "URL of the telephony event feed that `callboard ingest` subscribes to (ws:// or wss:// for "
            "Callboard's own protocol; other sources: CALLBOARD_FEED_SOURCE)."),
    Setting("CALLBOARD_FEED_SOURCE", "callboard", _text,
            "What speaks at CALLBOARD_FEED_URL: callboard (the protocol of docs/events.md) or a telephony "
            "system's adapter (`callboard ingest --help` lists them)."),
    Setting("CALLBOARD_FEED_NAME", None, _text,
            "Name of the feed; event ids are unique per feed. Default: the feed URL's host:port."),
    Setting("CALLBOARD_FEED_TOKEN", None, _text,
            "Bearer token sent to the feed (use CALLBOARD_FEED_TOKEN_FILE to read it from a file)."),
    Setting("CALLBOARD_AMI_USERNAME", None, _text,
            "The Asterisk Manager Interface user the asterisk-ami source logs in as (manager.conf; "
            "docs/integrations.md says which permissions it needs)."),
    Setting("CALLBOARD_AMI_SECRET", None, _text,
            "That user's secret (use CALLBOARD_AMI_SECRET_FILE to read it from a file)."),
    Setting("CALLBOARD_GENESYS_CLIENT_ID", None, _text,
            "Genesys Cloud source: the OAuth client (client credentials grant) the ingest signs in with."),
    Setting("CALLBOARD_GENESYS_CLIENT_SECRET", None, _text,
            "Genesys Cloud source: that client's secret (use CALLBOARD_GENESYS_CLIENT_SECRET_FILE to read it "
            "from a file)."),
    Setting("CALLBOARD_GENESYS_QUEUES", None, _names,
            "Genesys Cloud source: the ids of the queues whose calls and members Callboard shows, separated "
            "by commas (in the TOML file, also an array)."),
    Setting("CALLBOARD_GENESYS_LOGIN_URL", None, _login_url,
            "Genesys Cloud source: the region's login address. Default: the feed URL with api. changed to "
            "login. (https://api.mypurecloud.com signs in at https://login.mypurecloud.com)."),
    Setting("CALLBOARD_NEVER_QUEUED_AFTER_S", 600.0, _positive_float,
            "Events of a call that was answered or ended but never queued are moved to dead_letters "
            "after this many seconds."),
    Setting("CALLBOARD_INGEST_HOST", "127.0.0.1", _text,
            "Address of the ingest's /metrics, /healthz and /readyz."),
    Setting("CALLBOARD_INGEST_PORT", 8051, _port,
            "Port of the ingest's /metrics, /healthz and /readyz."),
    Setting("CALLBOARD_DASHBOARD_HOST", "127.0.0.1", _text,
            "Address the dashboard listens on."),
    Setting("CALLBOARD_DASHBOARD_PORT", 8050, _port,
            "Port the dashboard listens on."),
    Setting("CALLBOARD_STALE_AFTER_S", 30.0, _positive_float,
            "Every view says its data is stale when the ingest has not checked in for this many seconds "
            "or its feed is down."),
    Setting("CALLBOARD_LIVE_STATE", "incremental", _live_state,
            "How the dashboard keeps the live snapshot up to date: incremental (today's floor in memory, "
            "advanced by the rows each change announces, compared with the database every 5 minutes and repaired) "
            "or recompute (the whole snapshot read again at every change)."),
    Setting("CALLBOARD_BATCH_MAX", 2000, _positive_int,
            "Most events the ingest writes in one transaction."),
    Setting("CALLBOARD_JOURNAL_MAX_MB", 1024, _positive_int,
            "While the database is down the ingest keeps receiving, holding what does not fit in memory "
            "in a journal under CALLBOARD_DATA_DIR/journal, up to this many MiB; past that it stops "
            "reading and the feed resends later."),
    Setting("CALLBOARD_KEEP_EVENTS_DAYS", None, _positive_int,
            "Raw events older than this many days are dropped, a day at a time, by the ingest; every "
            "figure, trend and scorecard stays (they are kept apart from the raw events), but call "
            "timelines of older calls are gone. Unset: raw events are kept for ever."),
    Setting("CALLBOARD_KEEP_PERSONAL_DATA_DAYS", None, _positive_int,
            "Customers' numbers and names older than this many days are erased, every hour, by the "
            "ingest, from calls, complaints, the raw events and the dead letters; every figure stays "
            "(repeat callers included). Unset: they are kept as long as the rows that hold them."),
    Setting("CALLBOARD_DB_TIMEOUT_S", 30.0, _positive_float,
            "The ingest gives up a database statement or connection attempt after this many seconds, "
            "discards the connection (it may be half-open) and retries on a new one."),
    Setting("CALLBOARD_FEED_PING_TIMEOUT_S", 30.0, _positive_float,
            "The ingest pings the feed and, with no answer within this many seconds, drops the "
            "connection as half-open, reconnects and resumes."),
    Setting("CALLBOARD_PUBLIC_URL", None, _public_url,
            "The dashboard's address as the people alerted reach it, e.g. https://callboard.example.com; "
            "links in alert messages start with it. Default: http://CALLBOARD_DASHBOARD_HOST:PORT."),
    Setting("CALLBOARD_ROTA", None, _text,
            "Path of the on-call rota, a TOML file (docs/alerts.md). Unset: nobody is on call and alerts "
            "are only shown on the dashboard."),
    Setting("CALLBOARD_ALERT_DUE_SOON_MIN", 15.0, _positive_float,
            "A complaint callback raises an alert this many minutes before it is due (and again when overdue)."),
    Setting("CALLBOARD_ALERT_HOLD_LIMIT_S", 180.0, _positive_float,
            "A hold longer than this many seconds raises an alert (more than CALLBOARD_HOLD_LIMIT_S)."),
    Setting("CALLBOARD_ALERT_QUEUE_WAIT_S", 300.0, _positive_float,
            "A queue whose longest-waiting caller has waited longer than this many seconds raises an alert."),
    Setting("CALLBOARD_ALERT_SERVICE_LEVEL_BELOW", 0.6, _fraction,
            "A queue whose service level today falls below this fraction raises an alert until it is back "
            "at or above it; 0 turns the rule off."),
    Setting("CALLBOARD_ALERT_FEED_DOWN_S", 60.0, _positive_float,
            "A feed disconnected, or whose ingest has sent no heartbeat, for longer than this many seconds "
            "raises an alert (at least 10)."),
    Setting("CALLBOARD_ALERTS_HOST", "127.0.0.1", _text,
            "Address of the alert service's /metrics, /healthz and /readyz."),
    Setting("CALLBOARD_ALERTS_PORT", 8052, _port,
            "Port of the alert service's /metrics, /healthz and /readyz."),
    Setting("CALLBOARD_ALERT_ESCALATE_AFTER_MIN", 10.0, _positive_float,
            "An alert not acknowledged within this many minutes is sent to the next level of the rota."),
    Setting("CALLBOARD_ALERT_LINK_SECRET", None, _text,
            "Key that signs the acknowledge links in alert messages (use CALLBOARD_ALERT_LINK_SECRET_FILE); "
            "unset: messages carry no acknowledge link."),
    Setting("CALLBOARD_ALERT_LINK_VALID_H", 24.0, _positive_float,
            "An acknowledge link works for this many hours after its message was written."),
    Setting("CALLBOARD_ALERT_SEND_TIMEOUT_S", 30.0, _positive_float,
            "An attempt at delivering a notification that has not finished in this many seconds counts as "
            "failed. A sender that dies mid-send leaves its notification to be sent again by another, or by "
            "itself restarted, three times this long after the attempt began."),
    Setting("CALLBOARD_ALERT_SEND_ATTEMPTS", 10, _positive_int,
            "Attempts at delivering one notification before it is marked dead, its last error kept."),
    Setting("CALLBOARD_SESSION_HOURS", 12.0, _positive_float,
            "A person signed in to the dashboard is signed out this many hours later."),
    Setting("CALLBOARD_DISPLAY_SESSION_DAYS", 365.0, _positive_float,
            "A wall screen signed in by its display URL stays signed in this many days, unless the display "
            "is revoked (`callboard displays revoke`)."),
    Setting("CALLBOARD_SECURE_COOKIES", False, _switch,
            "true: the session cookie is only ever sent over HTTPS (set it behind a TLS-terminating proxy). "
            "Requests that came over TLS get a Secure cookie anyway."),
    Setting("CALLBOARD_SIGN_IN_ATTEMPTS", 5, _positive_int,
            "Failed sign-ins allowed per user name, and per client address, within "
            "CALLBOARD_SIGN_IN_WINDOW_MIN; more are refused until the window has passed."),
    Setting("CALLBOARD_SIGN_IN_WINDOW_MIN", 15.0, _positive_float,
            "The window, in minutes, that failed sign-ins are counted over."),
    Setting("CALLBOARD_KEEP_AUDIT_DAYS", 365, _positive_int,
            "Entries of the audit log (sign-ins, acknowledgements, users, tokens and displays changed) older "
            "than this many days are deleted, every hour, by the dashboard."),
    Setting("CALLBOARD_FRAME_ANCESTORS", None, _sources,
            "Origins allowed to show the dashboard in a frame (a kiosk page), separated by spaces. Unset: "
            "no page may frame it."),
    Setting("CALLBOARD_TRUSTED_USER_HEADER", None, _header_name,
            "Single sign-on through a reverse proxy: the request header naming the signed-in user, e.g. "
            "X-Forwarded-User. The user must exist (`callboard users add`). Unset: the header is ignored."),
    Setting("CALLBOARD_TRUSTED_PROXIES", None, _networks,
            "The proxies' addresses or networks, separated by commas: CALLBOARD_TRUSTED_USER_HEADER is "
            "believed only on requests coming straight from them."),
)

# Tables of the TOML file that a role reads and checks itself (the alert channels: docs/alerts.md).
TABLES = ("alerts",)


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    timezone: zoneinfo.ZoneInfo
    answer_target_s: float
    hold_limit_s: float
    short_abandon_s: float
    score_weights: dict[str, float]
    rate_amber_below: float
    rate_red_below: float
    shifts: tuple[Shift, ...]
    language: str
    feed_url: str | None
    feed_source: str
    feed_name: str | None
    feed_token: str | None
    ami_username: str | None
    ami_secret: str | None
    genesys_client_id: str | None
    genesys_client_secret: str | None
    genesys_queues: tuple[str, ...] | None
    genesys_login_url: str | None
    never_queued_after_s: float
    ingest_host: str
    ingest_port: int
    dashboard_host: str
    dashboard_port: int
    stale_after_s: float
    live_state: str
    batch_max: int
    journal_max_mb: int
    keep_events_days: int | None
    keep_personal_data_days: int | None
    db_timeout_s: float
    feed_ping_timeout_s: float
    public_url: str | None
    rota: str | None
    alert_due_soon_min: float
    alert_hold_limit_s: float
    alert_queue_wait_s: float
    alert_service_level_below: float
    alert_feed_down_s: float
    alerts_host: str
    alerts_port: int
    alert_escalate_after_min: float
    alert_link_secret: str | None
    alert_link_valid_h: float
    alert_send_timeout_s: float
    alert_send_attempts: int
    session_hours: float
    display_session_days: float
    secure_cookies: bool
    sign_in_attempts: int
    sign_in_window_min: float
    keep_audit_days: int
    frame_ancestors: str | None
    trusted_user_header: str | None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None
    alerts: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def dashboard_url(self) -> str:
        """Where people reach the dashboard: CALLBOARD_PUBLIC_URL, else the address it listens on."""
        return self.public_url or f"http://{self.dashboard_host}:{self.dashboard_port}"

    def thresholds(self) -> metrics.Thresholds:
        """The thresholds the figures are computed with, for every process that computes some."""
        return metrics.Thresholds(answer_target_s=self.answer_target_s, hold_limit_s=self.hold_limit_s,
                                  short_abandon_s=self.short_abandon_s, score_weights=dict(self.score_weights),
                                  rate_amber_below=self.rate_amber_below, rate_red_below=self.rate_red_below)


def _field_name(setting: Setting) -> str:
    return "database_url" if setting.env == "DATABASE_URL" else setting.key


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting once; raise :class:`ConfigError` naming the first bad one."""
    environ = os.environ if environ is None else environ
    file_values = _read_toml(environ.get("CALLBOARD_CONFIG"))
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _raw_value(setting, environ, file_values)
        if raw is None:
            raw = setting.default
        try:
            if setting.env == "CALLBOARD_SCORE_WEIGHTS" and isinstance(raw, Mapping):  # a TOML table
                raw = ",".join(f"{name}={weight}" for name, weight in raw.items())
            if setting.env == "CALLBOARD_SHIFTS" and isinstance(raw, list):  # [[shifts]] tables
                raw = shifts_from_tables(raw)
            if setting.env == "CALLBOARD_GENESYS_QUEUES" and isinstance(raw, list):  # a TOML array
                raw = ",".join(map(str, raw))
            value = None if raw is None else setting.parse(str(raw))
        except ValueError as exc:
            raise ConfigError(f"{setting.env}={raw!r} is not valid: {exc}") from None
        values[_field_name(setting)] = value
    if not values["rate_red_below"] < values["rate_amber_below"]:
        raise ConfigError(f"CALLBOARD_RATE_RED_BELOW={values['rate_red_below']} must be less than "
                          f"CALLBOARD_RATE_AMBER_BELOW={values['rate_amber_below']}")
    if not values["alert_hold_limit_s"] > values["hold_limit_s"]:
        raise ConfigError(f"CALLBOARD_ALERT_HOLD_LIMIT_S={values['alert_hold_limit_s']} must be more than "
                          f"CALLBOARD_HOLD_LIMIT_S={values['hold_limit_s']}: it is the second, later limit")
    if values["alert_feed_down_s"] < FEED_DOWN_MIN_S:
        raise ConfigError(f"CALLBOARD_ALERT_FEED_DOWN_S={values['alert_feed_down_s']} is too short: the ingest's "
                          f"heartbeat comes every 5 s, so give at least {FEED_DOWN_MIN_S:g}")
    if values["trusted_user_header"] and not values["trusted_proxies"]:
        raise ConfigError("CALLBOARD_TRUSTED_USER_HEADER needs CALLBOARD_TRUSTED_PROXIES: the addresses of the "
                          "proxies that set it (anyone else could send the header)")
    values["alerts"] = file_values.get("alerts", {})
    if not isinstance(values["alerts"], Mapping):
        raise ConfigError(f"{environ.get('CALLBOARD_CONFIG')}: alerts must be a table, as [alerts.channels.NAME]")
    if values["data_dir"] is None:
        values["data_dir"] = platformdirs.user_data_path("callboard")
    values["data_dir"] = Path(values["data_dir"]).expanduser()
    return Settings(**values)


def _raw_value(setting: Setting, environ: Mapping[str, str], file_values: Mapping[str, Any]) -> Any:
    if setting.env in environ and environ[setting.env] != "":
        return environ[setting.env]
    secret_path = environ.get(f"{setting.env}_FILE")
    if secret_path:
        try:
            return Path(secret_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{setting.env}_FILE={secret_path!r} cannot be read: {exc}") from None
    return file_values.get(setting.key)


def _read_toml(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"CALLBOARD_CONFIG={path!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"CALLBOARD_CONFIG={path!r} is not valid TOML: {exc}") from None
    known = {setting.key for setting in SETTINGS} | set(TABLES)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return data


def markdown_table() -> str:
    """The configuration table for the README."""
    rows = ["| Variable | TOML key | Default | Meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        default = "" if setting.default is None else f"`{setting.default}`"
        key = "" if setting.env == "DATABASE_URL" else f"`{setting.key}`"
        rows.append(f"| `{setting.env}` | {key} | {default} | {setting.help} |")
    return "\n".join(rows)
