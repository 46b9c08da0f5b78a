"""The ``callboard`` command: one sub-command per role, plus ``demo`` that runs them all."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import sys
import zoneinfo
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from db.exceptions import DatabaseError
from ingest.importers import FORMATS
from ingest.sources import SOURCES

from . import logs, metrics
from . import settings as settings_module
from .database import database_url
from .exceptions import CallboardError, ConfigError
from .runner import run_until_signal

logger = logging.getLogger("callboard")

DESCRIPTION = """\
Callboard: a live supervisor dashboard for telephone customer-service centres.

Every command reads its configuration from CALLBOARD_* environment variables, DATABASE_URL
and the TOML file named by CALLBOARD_CONFIG (see `callboard config`). Without DATABASE_URL,
commands share an embedded PostgreSQL kept in CALLBOARD_DATA_DIR.
"""


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:8765")
    return host or "127.0.0.1", int(port)


def _worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 to 64 worker processes")
    return int(text)


def _time_zone(text: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r} (use an IANA name such as Asia/Shanghai)") from None


def _roster_size(text: str) -> int:
    if not text.isdigit() or not 20 <= int(text) <= 200:
        raise argparse.ArgumentTypeError(f"{text!r}: the simulated roster has 20 to 200 agents")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callboard", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run everything: database, simulated call floor, ingest, dashboard and alerts",
        description="Start the whole product on this machine: the database (embedded unless "
                    "DATABASE_URL is set), migrations, a simulated call floor on a loopback websocket, "
                    "the ingest service subscribed to it, the dashboard and the alert service. Ctrl-C stops it all.")
    demo.add_argument("--host", help="dashboard address (default: CALLBOARD_DASHBOARD_HOST)")
    demo.add_argument("--port", type=int, help="dashboard port (default: CALLBOARD_DASHBOARD_PORT)")
    _simulation_options(demo)
    demo.set_defaults(backfill_minutes=60)

    db = commands.add_parser("db", help="database administration",
                             description="Database administration.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser("migrate", help="apply pending schema migrations",
                           description="Apply every pending migration in db/migrations, in order. Safe to run "
                                       "again, and from several processes at once. Where `callboard db grant` "
                                       "has made the roles, then set their owners and privileges again (as a "
                                       "superuser; otherwise a warning says to run `callboard db grant`).")
    grant = db_commands.add_parser(
        "grant", help="set up least-privilege roles (and login users) for each part",
        description="As a superuser: make the group roles callboard_migrator (owns the schema), callboard_ingest, "
                    "callboard_dashboard and callboard_alerts, give each only what its part needs, and make or "
                    "update a login user ROLE_login for each role given a password file. Safe to run again; "
                    "`callboard db migrate` run as a superuser runs it again itself (docs/security.md, "
                    "deploy/README.md).")
    for part in ("migrator", "ingest", "dashboard", "alerts"):
        grant.add_argument(f"--{part}-password-file", type=Path, metavar="PATH",
                           help=f"make or update login user callboard_{part}_login with the password in PATH")

    ingest = commands.add_parser(
        "ingest", help="subscribe to a telephony event feed and write it to the database",
        description="Subscribe to a telephony event feed, write every event to PostgreSQL once, and keep going "
                    "through disconnections and bad input. The feed speaks Callboard's protocol "
                    "(docs/events.md) or, through --source, a telephony system's own (docs/integrations.md).")
    ingest.add_argument("--feed", metavar="URL", help="URL of the feed (default: CALLBOARD_FEED_URL)")
    ingest.add_argument("--source", metavar="NAME",
                        help="what speaks at the feed's URL, with the URL schemes it takes: "
                             + "; ".join(f"{name} ({', '.join(schemes)})" for name, (_, schemes) in SOURCES.items())
                             + " (default: CALLBOARD_FEED_SOURCE, callboard)")
    ingest.add_argument("--feed-name", help="name the feed's events are stored under (default: host:port of the URL)")
    ingest.add_argument("--host", help="address of /metrics, /healthz, /readyz (default: CALLBOARD_INGEST_HOST)")
    ingest.add_argument("--port", type=int, help="port of /metrics, /healthz, /readyz (default: CALLBOARD_INGEST_PORT)")

    history = commands.add_parser(
        "import", help="load history from a file into the database",
        description="Load a history file: the protocol's JSON lines (docs/events.md), one event or array of "
                    "events per line, or Asterisk's queue_log (the file, or its realtime table exported with |, "
                    "tabs or , between fields; docs/integrations.md), gzip-compressed or not. Each event is stored "
                    "once however often it is imported; bad lines are dead letters naming their line. The live "
                    "ingest of the same feed keeps running meanwhile. Ends with a summary.")
    history.add_argument("file", type=Path, metavar="FILE",
                         help="the history file (.jsonl, queue_log, a table export; each maybe .gz)")
    history.add_argument("--format", choices=FORMATS, dest="file_format",
                         help="the file's format (default: jsonl if its first line is a JSON object or array, "
                              "else queue_log)")
    history.add_argument("--time-zone", type=_time_zone, metavar="ZONE",
                         help="for queue_log times without an offset (the realtime table's): the zone Asterisk "
                              "wrote them in (default: CALLBOARD_TIMEZONE; UTC if queue_log_realtime_use_gmt is on)")
    history.add_argument("--feed-name", help="the feed the history belongs to, as the live ingest names it "
                                             "(default: CALLBOARD_FEED_NAME, else host:port of CALLBOARD_FEED_URL)")
    history.add_argument("--no-progress", action="store_true", help="print no progress bar, only the summary")

    dashboard = commands.add_parser("dashboard", help="serve the live dashboard and the JSON API",
                                    description="Serve the wallboard, the floor view and /api/v1 over HTTP.")
    dashboard.add_argument("--host", help="address to listen on (default: CALLBOARD_DASHBOARD_HOST)")
    dashboard.add_argument("--port", type=int, help="port to listen on (default: CALLBOARD_DASHBOARD_PORT)")
    dashboard.add_argument("--workers", type=_worker_count, default=1, metavar="N",
                           help="processes serving on the one port, each with its own database connections and "
                                "change listener (default 1; about one per core for many open pages)")

    simulate = commands.add_parser(
        "simulate", help="serve a simulated call floor as an event feed",
        description="Serve a realistic, deterministic simulated call floor over a websocket, speaking the "
                    "event protocol of docs/events.md. Useful for demos and as a reference feed.")
    simulate.add_argument("--serve", type=_host_port, default=("127.0.0.1", 8765), metavar="HOST:PORT",
                          help="where to listen (default: 127.0.0.1:8765)")
    simulate.add_argument("--write", type=Path, metavar="FILE",
                          help="instead of serving, write the --days before today (on the site's clock) as a "
                               "history file for `callboard import` (JSON lines; gzip-compressed if FILE ends in "
                               ".gz), so that it does not overlap a live demo's today")
    simulate.add_argument("--days", type=float, default=7, help="with --write: how many days (default 7)")
    _simulation_options(simulate)

    alerts = commands.add_parser("alerts", help="the alert service, and checks of its channels and on-call rota",
                                 description="Alerts for on-call leads (docs/alerts.md): channels are the "
                                             "[alerts.channels.NAME] tables of the CALLBOARD_CONFIG file, the rota "
                                             "the file named by CALLBOARD_ROTA.")
    alerts_commands = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ALERTS_COMMAND")
    alerts_test = alerts_commands.add_parser(
        "test", help="send a test message through one channel",
        description="Send a test message through one configured channel now, straight to its receiver (not "
                    "through the outbox), and print whether the receiver took it. Exit status 1 if not.")
    alerts_test.add_argument("--channel", required=True, metavar="NAME", help="the channel, [alerts.channels.NAME]")
    alerts_test.add_argument("--to", metavar="ADDRESS", help="for an e-mail channel: the address to send the test to")
    alerts_serve = alerts_commands.add_parser(
        "serve", help="run the alert rules and send their notifications (always on)",
        description="Raise alerts from the live data as it is committed (callbacks due soon and overdue, long "
                    "holds, queue waits and service level, a feed down), escalate those not acknowledged along "
                    "the rota, hand them over at shift changes, resolve them when their cause ends, and deliver "
                    "every notification through the outbox. Any number may run against one database. Serves "
                    "/metrics, /healthz and /readyz.")
    alerts_serve.add_argument("--host", help="address of /metrics, /healthz, /readyz (default: CALLBOARD_ALERTS_HOST)")
    alerts_serve.add_argument("--port", type=int,
                              help="port of /metrics, /healthz, /readyz (default: CALLBOARD_ALERTS_PORT)")
    alerts_commands.add_parser("check", help="check the channels and the rota; show who is on call now",
                               description="Read and check the alert channels and the rota as the alert service "
                                           "would at start, then print the channels, who is on call now and when "
                                           "the next hand-over is.")

    _account_commands(commands)

    config = commands.add_parser("config", help="print the configuration settings and their current values",
                                 description="Print every setting: variable, TOML key, default, meaning, then "
                                             "the values in force.")
    config.add_argument("--markdown", action="store_true",
                        help="print only the table of settings, as Markdown (the README's reference)")
    return parser


def _account_commands(commands: argparse._SubParsersAction) -> None:
    from access.roles import ROLES

    users = commands.add_parser("users", help="people who may sign in to the dashboard, and their roles",
                                description="Add, list, change and remove the people who sign in to the dashboard "
                                            "(roles: docs/security.md).")
    user_commands = users.add_subparsers(dest="action", required=True, metavar="USERS_COMMAND")
    add = user_commands.add_parser("add", help="add a user (asks for the password twice)",
                                   description="Add a user with a role; the password is asked twice at the "
                                               "terminal, or read from the first line of --password-file.")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-file", type=Path, metavar="FILE", help="read the password from this file")
    remove = user_commands.add_parser("remove", help="remove a user and end their sessions",
                                      description="Remove a user; their open sessions end at once.")
    remove.add_argument("name", metavar="NAME")
    set_role = user_commands.add_parser("set-role", help="change a user's role",
                                        description="Change a user's role; their open sessions end at once, "
                                                    "and they sign in again with the new role.")
    set_role.add_argument("name", metavar="NAME")
    set_role.add_argument("role", choices=ROLES)
    set_password = user_commands.add_parser(
        "set-password", help="give a user a new password (asks for it twice)",
        description="Give a user a new password, asked twice at the terminal or read from the first line of "
                    "--password-file; their open sessions end.")
    set_password.add_argument("name", metavar="NAME")
    set_password.add_argument("--password-file", type=Path, metavar="FILE", help="read the password from this file")
    user_commands.add_parser("list", help="list the users and their roles", description="List the users.")

    displays = commands.add_parser("displays", help="wall screens signed in by a URL",
                                   description="Wall displays: each has a secret URL that signs its screen in "
                                               "with the wall role, until the display is revoked.")
    display_commands = displays.add_subparsers(dest="action", required=True, metavar="DISPLAYS_COMMAND")
    display_add = display_commands.add_parser("add", help="add a display and print its URL",
                                              description="Add a display and print the URL to open on its screen.")
    display_add.add_argument("name", metavar="NAME")
    display_revoke = display_commands.add_parser("revoke", help="revoke a display; its screens are signed out",
                                                 description="Revoke a display: its screens stop receiving the "
                                                             "wall at the next update and show a sign-in notice.")
    display_revoke.add_argument("name", metavar="NAME")
    display_commands.add_parser("list", help="list the displays", description="List the displays.")

    tokens = commands.add_parser("tokens", help="bearer tokens for programs using the JSON API",
                                 description="Bearer tokens for /api/v1, each with a role (docs/security.md).")
    token_commands = tokens.add_subparsers(dest="action", required=True, metavar="TOKENS_COMMAND")
    token_add = token_commands.add_parser("add", help="add a token and print it once",
                                          description="Add an API token with a role and print it (only now).")
    token_add.add_argument("name", metavar="NAME")
    token_add.add_argument("--role", required=True, choices=ROLES)
    token_revoke = token_commands.add_parser("revoke", help="revoke a token", description="Revoke an API token.")
    token_revoke.add_argument("name", metavar="NAME")
    token_commands.add_parser("list", help="list the tokens (never the tokens themselves)",
                              description="List the API tokens, their roles and when each was last used.")


def _accounts(args: argparse.Namespace, settings: settings_module.Settings) -> None:
    from access import commands as access_commands

    password = None
    if args.command == "users" and args.action in ("add", "set-password"):
        password = access_commands.read_password(args.password_file)
    with database_url(settings) as url:
        print("\n".join(asyncio.run(access_commands.run(settings, url, args, password))))


def _simulation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same floor")
    parser.add_argument("--agents", type=_roster_size, default=100,
                        help="agents on the roster, 20-200; about half are on shift at a time (default 100)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1: real time)")
    parser.add_argument("--backfill-minutes", type=float, default=0,
                        help="also simulate this many minutes before now, sent at once on connect")


def _alerts(args: argparse.Namespace, settings: settings_module.Settings) -> None:
    from alerts import commands as alert_commands
    from alerts.exceptions import ChannelError

    if args.alerts_command == "serve":
        from alerts import service

        port = settings.alerts_port if args.port is None else args.port
        with database_url(settings) as url:
            run_until_signal(lambda stop: service.run(settings, url, stop, host=args.host or settings.alerts_host,
                                                      port=port))
        return
    if args.alerts_command == "check":
        print("\n".join(alert_commands.check(settings, datetime.datetime.now(datetime.UTC))))
        return
    try:
        print(asyncio.run(alert_commands.send_test(settings, args.channel, args.to)))
    except ChannelError as exc:
        kind = "refused for good" if exc.permanent else "failed for now (it would be retried)"
        print(f"the test message through {args.channel} {kind}: {exc}")
        sys.exit(1)


def _import(args: argparse.Namespace, settings: settings_module.Settings) -> None:
    from ingest.backfill import import_file
    from ingest.service import default_feed_name

    feed = args.feed_name or settings.feed_name or (settings.feed_url and default_feed_name(settings.feed_url))
    if not feed:
        raise ConfigError("name the feed the history belongs to: --feed-name NAME, as the live ingest stores it "
                          "(CALLBOARD_FEED_NAME, else host:port of CALLBOARD_FEED_URL)")
    if not args.file.is_file():
        raise ConfigError(f"{args.file}: {'not a file' if args.file.exists() else 'no such file'}")
    with database_url(settings) as url:
        summary = asyncio.run(import_file(settings, url, args.file, feed, file_format=args.file_format,
                                          zone=args.time_zone, show_progress=not args.no_progress))
    print(summary.text())


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level)
    try:
        settings = settings_module.load()
        _dispatch(args, settings)
    except (CallboardError, DatabaseError) as exc:
        logger.error(str(exc), extra={"action": "command_failed", "command": args.command})
        sys.exit(2)
    except asyncpg.PostgresError as exc:
        logger.error("the database refused the command", extra={"action": "database_error",
                                                                 "command": args.command, "error": str(exc)})
        sys.exit(2)
    except OSError as exc:
        logger.error("a connection or a port failed; check DATABASE_URL, the feed URL and that the port is free",
                     extra={"action": "network_error", "command": args.command, "error": str(exc)})
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def _dispatch(args: argparse.Namespace, settings: settings_module.Settings) -> None:
    if args.command == "config":
        print(settings_module.markdown_table())
        if args.markdown:
            return
        print()
        for field, value in sorted(vars(settings).items()):
            secret = field in ("feed_token", "ami_secret", "genesys_client_secret", "database_url",
                               "alert_link_secret")
            shown = "(set)" if secret and value else value
            if field == "alerts":  # may hold secrets; `callboard alerts check` shows what it means
                shown = ", ".join(sorted(value.get("channels", {}))) or "(no channels)"
            if field == "shifts":
                shown = ";".join(shift.text() for shift in value)
            if field == "score_weights":
                shown = ",".join(f"{name}={weight:g}" for name, weight in value.items())
            print(f"{field} = {shown}")
        return
    if args.command == "simulate" and args.write:
        from simulator.history import write_history

        today = metrics.start_of_day(datetime.datetime.now(datetime.UTC), settings.timezone)
        events = write_history(args.write, seed=args.seed, agents=args.agents, days=args.days, until=today,
                               local_tz=settings.timezone)
        print(f"wrote {events:,} events of the {args.days:g} days before today to {args.write}")
        return
    if args.command == "simulate":
        from simulator.serve import run_simulator

        host, port = args.serve
        run_until_signal(lambda stop: run_simulator(host, port, args.seed, args.agents, args.speed,
                                                    args.backfill_minutes, stop, local_tz=settings.timezone))
        return
    if args.command == "alerts":
        _alerts(args, settings)
        return
    if args.command in ("users", "displays", "tokens"):
        _accounts(args, settings)
        return
    if args.command == "demo":
        from .demo import run_demo

        sys.exit(run_demo(settings, args))
    if args.command == "import":
        _import(args, settings)
        return
    feed = args.feed or settings.feed_url if args.command == "ingest" else None
    if args.command == "ingest":
        if not feed:
            raise ConfigError("no feed: pass --feed URL or set CALLBOARD_FEED_URL")
        source = args.source or settings.feed_source
        if source not in SOURCES:
            raise ConfigError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
        open_source, schemes = SOURCES[source]
        if not feed.startswith(schemes):
            raise ConfigError(f"the feed {feed!r} of source {source} must start with {' or '.join(schemes)}")
    with database_url(settings) as url:
        if args.command == "db" and args.db_command == "grant":
            from db.grants import grant_url, read_password

            passwords = {f"callboard_{part}": read_password(path)
                         for part in ("migrator", "ingest", "dashboard", "alerts")
                         if (path := getattr(args, f"{part}_password_file"))}
            for user in asyncio.run(grant_url(url, passwords)):
                print(f"login user {user} ready")
        elif args.command == "db":
            from db.grants import migrate_and_grant_url

            if asyncio.run(migrate_and_grant_url(url)):
                print("roles' owners and privileges set again (callboard db grant)")
        elif args.command == "ingest":
            from ingest import service

            port = settings.ingest_port if args.port is None else args.port
            service.tune_garbage_collection()
            run_until_signal(lambda stop: service.run(settings, url, stop, feed_url=feed,
                                                      feed_name=args.feed_name or settings.feed_name,
                                                      host=args.host, port=port, open_source=open_source))
        elif args.command == "dashboard":
            from dashboard.server import serve, serve_workers

            host = args.host or settings.dashboard_host
            port = settings.dashboard_port if args.port is None else args.port
            if args.workers > 1:
                serve_workers(url, host, port, args.workers, args.log_level)
            else:
                run_until_signal(lambda stop: serve(settings, url, host, port, stop))
